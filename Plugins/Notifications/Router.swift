import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Turns message, reminder and read events into notifications: who, of which type, and
/// by which means (push now, email later), following preferences, mutes and membership.
struct Router: Sendable {
    let context: any PluginContext
    let database: any PluginDatabase
    let store: NotificationStore
    /// `immediate` email waits this long (`email_delay_s`).
    let immediateEmailDelay: TimeInterval
    /// Pushes wait this long (`push_delay_s`, default 0), so a message read at once on another device is not pushed.
    var pushDelay: TimeInterval = 0

    /// A message event, as far as routing needs it.
    struct MessageEvent: Decodable {
        var id: String
        var channelId: String
        var authorId: String
        var text: String
        var threadRootId: String?
        var mentions: [String]?
        var createdAt: Date
    }

    static let pushJob = "push"
    static let emailJob = "email"

    /// One notification to make.
    private struct Planned {
        var userId: String
        var type: String
        var inFeed: Bool
        var push: Bool
        var emailDue: Date?
    }

    /// `message.created`: at most one notification per message and user, the first type that applies.
    func route(_ message: MessageEvent) async throws {
        let channel = try await context.call("channel", "members", ChannelMembersQuery(channelId: message.channelId), as: ChannelMembers.self)
        guard let workspaceId = channel.workspaceId else { return }
        let recipients = Set(channel.memberIds).subtracting([message.authorId])
        guard !recipients.isEmpty else { return }
        let mentioned = Set(message.mentions ?? [])
        let everyone = message.text.contains("<!channel>")
        var online = Set<String>()
        if message.text.contains("<!here>") {
            let states = try? await context.call("presence", "statuses", PresenceQuery(userIds: Array(recipients)), as: PresenceStates.self)
            online = Set((states?.states ?? []).filter { $0.status == "online" }.map(\.userId))
        }
        var followers = Set<String>()
        if let root = message.threadRootId, let known = try? await context.call("thread", "followers", FollowersQuery(rootId: root), as: Followers.self) {
            followers = Set(known.userIds)
            // The root's author follows from the first reply; the thread plugin may not have recorded that yet.
            let visible = try? await context.call(
                "message", "visible", VisibleMessagesQuery(messageIds: [root], userId: message.authorId), as: VisibleMessages.self)
            struct Author: Decodable { var authorId: String }
            if let data = visible?.messages.first?.message, let author = try? JSONDecoder.quik.decode(Author.self, from: data),
                !known.unfollowedIds.contains(author.authorId)
            {
                followers.insert(author.authorId)
            }
        }
        let ids = Array(recipients)
        let defaults = try await preferences(of: ids)
        let perChannel = try await channelPreferences(of: ids, in: message.channelId)
        let withDevices = try await usersWithDevices(ids)

        var planned: [Planned] = []
        for user in ids {
            let own = perChannel[user] ?? ChannelPreferences()
            if own.muted { continue }
            let mine = defaults[user] ?? Preferences()
            let type: String? =
                mentioned.contains(user) || everyone || online.contains(user) ? "mention"
                : channel.kind == "direct" ? "dm" : followers.contains(user) ? "thread_reply" : nil
            let push = own.level(own.push, default: mine.push)
            let email = own.level(own.email, default: mine.email)
            // `mentions` covers every type above; `all` adds every message others post.
            let pushes = withDevices.contains(user) && (push == "all" || (push == "mentions" && type != nil))
            let emails = email == "all" || (email == "mentions" && type != nil)
            guard type != nil || pushes || emails else { continue }
            planned.append(
                Planned(
                    userId: user, type: type ?? "message", inFeed: type != nil, push: pushes,
                    emailDue: emails ? Date().addingTimeInterval(mine.emailDelay(immediate: immediateEmailDelay)) : nil))
        }
        guard !planned.isEmpty else { return }
        try await deliver(
            planned, workspaceId: workspaceId, channelId: message.channelId, messageId: message.id, actorId: message.authorId, text: message.text,
            at: message.createdAt)
    }

    /// Stores the notifications with their push and email jobs in one transaction per 500 users, then
    /// tells the sockets. One push job fans out to every device of the batch; one email job per window of due times.
    private func deliver(
        _ planned: [Planned], workspaceId: String?, channelId: String?, messageId: String?, reminderId: String? = nil, callId: String? = nil,
        actorId: String?, text: String, at: Date
    ) async throws {
        var made: [(String, Notification)] = []
        let shortText = String(text.prefix(Notification.textLimit))
        for batch in stride(from: 0, to: planned.count, by: 500).map({ Array(planned[$0..<min(planned.count, $0 + 500)]) }) {
            let created = try await database.transaction(retryOnDeadlock: true) { transaction -> [(String, Notification)] in
                // At most one per message (or reminder) and user: a redelivered event makes nothing new.
                let marks = sqlPlaceholders(batch.count)
                let column = messageId != nil ? "message_id" : reminderId != nil ? "reminder_id" : "call_id"
                let existing = Set(
                    try await transaction.query(
                        "SELECT user_id FROM notifications WHERE \(column) = ? AND user_id IN (\(marks)) FOR UPDATE",
                        [.text(messageId ?? reminderId ?? callId ?? "")] + batch.map { .text($0.userId) }
                    ).compactMap { $0["user_id"].string })
                let fresh = batch.filter { !existing.contains($0.userId) }
                guard !fresh.isEmpty else { return [] }
                var rows: [String] = []
                var values: [SQLValue] = []
                var created: [(Planned, Notification)] = []
                for plan in fresh {
                    let notification = Notification(
                        id: IDs.make("N"), type: plan.type, workspaceId: workspaceId, channelId: channelId, messageId: messageId, reminderId: reminderId,
                        callId: callId, actorId: actorId, text: shortText, createdAt: Date())
                    rows.append("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)")
                    values += [
                        .text(notification.id), .text(plan.userId), .text(plan.type), .int(plan.inFeed ? 1 : 0), workspaceId.map(SQLValue.text) ?? .null,
                        channelId.map(SQLValue.text) ?? .null, messageId.map(SQLValue.text) ?? .null, reminderId.map(SQLValue.text) ?? .null,
                        callId.map(SQLValue.text) ?? .null, actorId.map(SQLValue.text) ?? .null, .text(shortText), .date(notification.createdAt),
                        plan.emailDue.map(SQLValue.date) ?? .null,
                    ]
                    created.append((plan, notification))
                }
                try await transaction.execute(
                    """
                    INSERT INTO notifications (id, user_id, type, in_feed, workspace_id, channel_id, message_id, reminder_id, call_id, actor_id,
                      text, is_read, created_at, email_due_at)
                    VALUES \(rows.joined(separator: ", "))
                    """, values)
                let jobs = try transaction.requireJobs()
                let pushes = created.filter(\.0.push).map(\.1.id)
                if !pushes.isEmpty {
                    try await jobs.schedule(
                        Self.pushJob, PushJob(notificationIds: pushes), at: Date().addingTimeInterval(pushDelay), key: "push:\(pushes[0])")
                }
                for due in Set(created.compactMap { $0.0.emailDue.map(EmailJob.runAt) }) {
                    try await jobs.schedule(Self.emailJob, EmailJob(), at: due, key: EmailJob.key(due.addingTimeInterval(-1)))
                }
                return created.filter(\.0.inFeed).map { ($0.0.userId, $0.1) }
            }
            made += created
        }
        for (user, notification) in made {
            if let event = try? RealtimeEvent(topic: "notification.created", value: notification) { await context.send(event, to: .user(user)) }
        }
    }

    /// `message.updated`: a mention edited away is no mention any more (and is not mailed); the text follows the edit.
    func edited(_ message: MessageEvent) async throws {
        let stillEveryone = message.text.contains("<!channel>") || message.text.contains("<!here>")
        let mentioned = Set(message.mentions ?? [])
        let rows = try await database.query(
            "SELECT id, user_id FROM notifications WHERE message_id = ? AND type = 'mention'", [.text(message.id)])
        for row in rows {
            guard let id = row["id"].string, let user = row["user_id"].string else { continue }
            if !stillEveryone, !mentioned.contains(user) {
                try await database.execute("DELETE FROM notifications WHERE id = ?", [.text(id)])
            }
        }
        try await database.execute(
            "UPDATE notifications SET text = ? WHERE message_id = ?", [.text(String(message.text.prefix(Notification.textLimit))), .text(message.id)])
    }

    /// `message.deleted`: its notifications go with it.
    func deleted(_ messageId: String) async throws {
        try await database.execute("DELETE FROM notifications WHERE message_id = ?", [.text(messageId)])
    }

    /// `channel.read`: the channel's notifications up to that message are read.
    func read(_ mark: ChannelRead) async throws {
        try await database.execute(
            "UPDATE notifications SET is_read = 1 WHERE user_id = ? AND channel_id = ? AND message_id <= ? AND is_read = 0",
            [.text(mark.userId), .text(mark.channelId), .text(mark.messageId)])
    }

    /// A reminder fired (`reminder.fired`, from the reminders plugin).
    struct FiredReminder: Decodable {
        struct Reminder: Decodable {
            var id: String
            var text: String?
            var messageId: String?
            var channelId: String?
        }

        var userId: String
        var reminder: Reminder
    }

    func reminded(_ fired: FiredReminder) async throws {
        let user = fired.userId
        let mine = try await store.preferences(user)
        let hasDevices = !(try await usersWithDevices([user])).isEmpty
        let pushes = mine.push != "none" && hasDevices
        var workspaceId: String?
        if let channelId = fired.reminder.channelId {
            workspaceId = try? await context.call("channel", "members", ChannelMembersQuery(channelId: channelId), as: ChannelMembers.self).workspaceId
        }
        try await deliver(
            [Planned(userId: user, type: "reminder", inFeed: true, push: pushes, emailDue: nil)], workspaceId: workspaceId,
            channelId: fired.reminder.channelId, messageId: nil, reminderId: fired.reminder.id, actorId: nil,
            text: fired.reminder.text ?? "Reminder", at: Date())
    }

    /// A call its callee never joined (`call.missed`, from the calls plugin).
    struct MissedCall: Decodable {
        var callId: String
        var channelId: String
        var workspaceId: String?
        var callerId: String
        var calleeId: String
    }

    func missed(_ call: MissedCall) async throws {
        let mine = try await store.preferences(call.calleeId)
        let hasDevices = !(try await usersWithDevices([call.calleeId])).isEmpty
        try await deliver(
            [Planned(userId: call.calleeId, type: "call_missed", inFeed: true, push: mine.push != "none" && hasDevices, emailDue: nil)],
            workspaceId: call.workspaceId, channelId: call.channelId, messageId: nil, callId: call.callId, actorId: call.callerId,
            text: "Missed call", at: Date())
    }

    // MARK: Reading preferences in bulk


    private func preferences(of users: [String]) async throws -> [String: Preferences] {
        var found: [String: Preferences] = [:]
        for chunk in stride(from: 0, to: users.count, by: 1000).map({ Array(users[$0..<min(users.count, $0 + 1000)]) }) {
            for row in try await database.query("SELECT * FROM preferences WHERE user_id IN (\(sqlPlaceholders(chunk.count)))", chunk.map(SQLValue.text)) {
                if let user = row["user_id"].string { found[user] = Preferences(row: row) }
            }
        }
        return found
    }

    private func channelPreferences(of users: [String], in channelId: String) async throws -> [String: ChannelPreferences] {
        var found: [String: ChannelPreferences] = [:]
        for row in try await database.query("SELECT * FROM channel_preferences WHERE channel_id = ?", [.text(channelId)]) {
            if let user = row["user_id"].string { found[user] = ChannelPreferences(row: row) }
        }
        return found
    }

    func usersWithDevices(_ users: [String]) async throws -> Set<String> {
        var found = Set<String>()
        for chunk in stride(from: 0, to: users.count, by: 1000).map({ Array(users[$0..<min(users.count, $0 + 1000)]) }) {
            for row in try await database.query("SELECT DISTINCT user_id FROM devices WHERE user_id IN (\(sqlPlaceholders(chunk.count)))", chunk.map(SQLValue.text)) {
                if let user = row["user_id"].string { found.insert(user) }
            }
        }
        return found
    }
}

/// The job that pushes notifications (those of one message, or one reminder) to their users' devices.
struct PushJob: Codable {
    var notificationIds: [String]
}

/// The job that mails everyone what is due and still unread.
struct EmailJob: Codable {
    /// Due times are gathered in windows of this many seconds: one job each, however many users.
    static let window: TimeInterval = 10

    static func key(_ due: Date) -> String { "email:\(Int(due.timeIntervalSince1970 / window))" }

    /// The end of `due`'s window, when its job runs.
    static func runAt(_ due: Date) -> Date {
        Date(timeIntervalSince1970: (due.timeIntervalSince1970 / window).rounded(.down) * window + window)
    }
}
