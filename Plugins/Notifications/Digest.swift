import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Email for what stays unread: one mail per user for what falls due together, after
/// their `email_interval`, held through DND, with a link that unsubscribes without signing in.
struct Digest: Sendable {
    let context: any PluginContext
    let database: any PluginDatabase
    let store: NotificationStore
    let keys: ServerKeys
    let publicURL: String

    /// The most notifications one mail lists.
    static let batch = 100

    func unsubscribeLink(_ userId: String) -> String {
        "\(publicURL)/api/v1/notifications/unsubscribe?user_id=\(userId)&sig=\(keys.unsubscribeSignature(userId))"
    }

    /// The `email` job: every user with mail due by now gets theirs (one job per ten seconds of due
    /// times, however many users; a user in DND gets a job at DND's end instead).
    func send(_ job: Job) async throws {
        let now = Date()
        let users = try await database.query(
            """
            SELECT DISTINCT user_id FROM notifications
            WHERE emailed_at IS NULL AND email_due_at IS NOT NULL AND email_due_at <= ? AND is_read = 0 LIMIT 1000
            """, [.date(now.addingTimeInterval(1))]
        ).compactMap { $0["user_id"].string }
        for user in users {
            do {
                try await send(to: user, now: now)
            } catch {
                context.logger.warning("a notification email was not sent; it goes with the next", metadata: ["user_id": "\(user)", "error": "\(error)"])
            }
        }
        // More than one job's worth: the rest in a moment.
        if users.count == 1000 { try await context.requireJobs().schedule(Router.emailJob, EmailJob(), key: EmailJob.key(now.addingTimeInterval(10))) }
    }

    private func send(to user: String, now: Date) async throws {
        let dnd = try await store.dnd(user)
        if dnd.isActive(at: now) {
            let end = dnd.end(after: now)
            try await context.requireJobs().schedule(Router.emailJob, EmailJob(), at: EmailJob.runAt(end), key: EmailJob.key(end))
            return
        }
        let rows = try await database.query(
            """
            SELECT \(Notification.columns) FROM notifications
            WHERE user_id = ? AND emailed_at IS NULL AND email_due_at IS NOT NULL AND email_due_at <= ? AND is_read = 0
            ORDER BY id LIMIT \(Self.batch)
            """, [.text(user), .date(now.addingTimeInterval(1))])
        guard !rows.isEmpty else { return }
        let notifications = rows.map(Notification.init(row:))
        let ids = notifications.map(\.id)
        let marks = sqlPlaceholders(ids.count)
        // Unsubscribed meanwhile: nothing goes, and nothing waits.
        guard try await store.preferences(user).email != "none" else {
            try await database.execute("UPDATE notifications SET emailed_at = ? WHERE id IN (\(marks))", [.date(now)] + ids.map(SQLValue.text))
            return
        }
        let people = Set(notifications.compactMap(\.actorId) + [user])
        let contacts = try await context.call("user", "contacts", ContactsQuery(userIds: Array(people)), as: Contacts.self).contacts
        guard let address = contacts.first(where: { $0.id == user })?.email, !address.isEmpty else { return }
        let names = Dictionary(contacts.map { ($0.id, $0.displayName) }, uniquingKeysWith: { first, _ in first })
        var channels: [String: String] = [:]
        for channel in Set(notifications.compactMap(\.channelId)) {
            channels[channel] = (try? await context.call("channel", "members", ChannelMembersQuery(channelId: channel), as: ChannelMembers.self))?.name
        }
        var lines: [String] = []
        for notification in notifications {
            let author = notification.actorId.flatMap { names[$0] } ?? "Someone"
            let place = notification.channelId.flatMap { channels[$0] }.map { $0.isEmpty ? "a direct message" : "#\($0)" } ?? "QuikApp"
            let link = notification.channelId.map { "\(publicURL)/channels/\($0)" + (notification.messageId.map { "?message=\($0)" } ?? "") } ?? publicURL
            lines.append("\(author) in \(place):\n  \(notification.text)\n  \(link)")
        }
        let subject =
            notifications.count == 1
            ? "\(notifications[0].actorId.flatMap { names[$0] } ?? "Someone") wrote to you on QuikApp"
            : "\(notifications.count) unread messages on QuikApp"
        let text = """
            You have \(notifications.count) unread \(notifications.count == 1 ? "message" : "messages") waiting for you:

            \(lines.joined(separator: "\n\n"))

            You get these emails because of your notification preferences.
            Stop them: \(unsubscribeLink(user))
            """
        try await context.sendMail(MailMessage(to: address, subject: subject, text: text))
        try await database.execute("UPDATE notifications SET emailed_at = ? WHERE id IN (\(marks))", [.date(Date())] + ids.map(SQLValue.text))
    }

    /// `GET|POST /unsubscribe?user_id=&sig=`: turns email off for the link's user.
    func unsubscribe(userId: String?, signature: String?) async throws -> PluginResponse {
        guard let userId, IDs.isPlausible(userId), let signature, keys.checkUnsubscribe(userId, signature) else {
            throw PluginError(.forbidden, "this unsubscribe link is not valid")
        }
        var preferences = try await store.preferences(userId)
        preferences.email = "none"
        try await store.setPreferences(preferences, for: userId)
        return .text("You will get no more notification emails. Turn them back on in your notification preferences.")
    }
}
