import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Scheduled messages in the plugin's schema, each with a durable job (key
/// `scheduled:<id>`) that posts it through `message.post` at its time, as its author,
/// with `client_msg_id` = its id: a repeated run finds the first message and posts nothing.
struct ScheduledStore: Sendable {
    static let maximumText = 40_000
    /// The furthest ahead a message may be scheduled.
    static let horizon: TimeInterval = 366 * 86_400
    static let sendJob = "send"

    let context: any PluginContext
    let database: any PluginDatabase

    static func jobKey(_ id: String) -> String { "scheduled:\(id)" }

    static func postAt(_ text: String?, now: Date = Date()) throws -> Date {
        guard let text, let time = When.parse(text, now: now) else {
            throw PluginError(.validationFailed, "post_at must be an RFC 3339 time", details: ["post_at": "unreadable"])
        }
        guard time > now else { throw PluginError(.validationFailed, "post_at is in the past", details: ["post_at": "must be in the future"]) }
        guard time.timeIntervalSince(now) <= horizon else {
            throw PluginError(.validationFailed, "post_at is too far ahead", details: ["post_at": "must be within a year"])
        }
        return time
    }

    static func checkText(_ text: String?, into validator: inout Validator) {
        validator.check(!(Checks.trimmed(text) ?? "").isEmpty, "text", "must not be empty")
        validator.check(text, "text", atMost: maximumText)
    }

    /// What `POST /messages` would answer now: 404 unseen channel, 403 non-member, 409 archived.
    private func checkChannel(_ channelId: String, _ userId: String) async throws {
        guard IDs.isPlausible(channelId) else { throw PluginError(.notFound, "no such channel") }
        let access = try await context.call("channel", "access", ChannelAccessQuery(channelId: channelId, userId: userId), as: ChannelAccessReply.self)
        guard access.visible else { throw PluginError(.notFound, "no such channel") }
        guard access.member else { throw PluginError(.forbidden, "only members of the channel may post in it") }
        guard !access.archived else { throw PluginError(.conflict, "the channel is archived") }
    }

    func scheduled(_ id: String, of userId: String, in executor: any SQLExecutor, locked: Bool = false) async throws -> (ScheduledMessage, String) {
        guard IDs.isPlausible(id),
            let row = try await executor.query(
                "SELECT \(ScheduledMessage.columns) FROM scheduled WHERE id = ? AND user_id = ?\(locked ? " FOR UPDATE" : "")", [.text(id), .text(userId)]
            ).first
        else { throw PluginError(.notFound, "no such scheduled message") }
        return (ScheduledMessage(row: row), row["state"].string ?? "pending")
    }

    func create(_ body: NewScheduled, principal: Principal) async throws -> ScheduledMessage {
        var validator = Validator()
        validator.check(body.channelId != nil, "channel_id", "is required")
        Self.checkText(body.text, into: &validator)
        let fileIds = body.fileIds ?? []
        validator.check(fileIds.count <= 10, "file_ids", "at most 10 files")
        validator.check(Set(fileIds).count == fileIds.count, "file_ids", "names a file twice")
        validator.check(fileIds.allSatisfy(IDs.isPlausible), "file_ids", "holds a malformed id")
        try validator.finish()
        let postAt = try Self.postAt(body.postAt)
        let channelId = body.channelId ?? ""
        try await checkChannel(channelId, principal.userId)
        if let root = body.threadRootId {
            let visible = try await context.call(
                "message", "visible", VisibleMessagesQuery(messageIds: [root], userId: principal.userId), as: VisibleMessages.self)
            guard visible.messages.first?.channelId == channelId else { throw PluginError(.notFound, "no such thread root in this channel") }
        }
        let id = IDs.make("Q")
        let files = String(decoding: try JSONEncoder().encode(fileIds), as: UTF8.self)
        return try await database.transaction { transaction in
            try await transaction.execute(
                """
                INSERT INTO scheduled (id, user_id, channel_id, thread_root_id, text, file_ids, post_at, state, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                """,
                [
                    .text(id), .text(principal.userId), .text(channelId), body.threadRootId.map(SQLValue.text) ?? .null, .text(body.text ?? ""),
                    .text(files), .date(postAt), .date(Date()), .date(Date()),
                ])
            try await transaction.requireJobs().schedule(
                JobRequest(kind: Self.sendJob, payload: try JSONEncoder.quik.encode(SendScheduled(id: id)), runAt: postAt, key: Self.jobKey(id)))
            return try await scheduled(id, of: principal.userId, in: transaction).0
        }
    }

    func list(channelId: String?, state: String?, page: Page, principal: Principal) async throws -> ListResponse<ScheduledMessage> {
        var conditions = ["user_id = ?"]
        var values: [SQLValue] = [.text(principal.userId)]
        if let channelId {
            conditions.append("channel_id = ?")
            values.append(.text(channelId))
        }
        if let state {
            guard ["pending", "sent", "failed"].contains(state) else {
                throw PluginError(.validationFailed, "state must be pending, sent or failed", details: ["state": "unknown"])
            }
            conditions.append(state == "pending" ? "state IN ('pending', 'sending')" : "state = ?")
            if state != "pending" { values.append(.text(state)) }
        }
        if let cursor = page.cursor {
            let parts = cursor.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let millis = Int64(parts[0]) else { throw PluginError(.badRequest, "cursor is malformed") }
            let at = Date(timeIntervalSince1970: Double(millis) / 1000)
            conditions.append("(post_at > ? OR (post_at = ? AND id > ?))")
            values += [.date(at), .date(at), .text(String(parts[1]))]
        }
        let rows = try await database.query(
            "SELECT \(ScheduledMessage.columns) FROM scheduled WHERE \(conditions.joined(separator: " AND ")) ORDER BY post_at, id LIMIT \(page.limit + 1)",
            values)
        return ListResponse(fetched: rows.map(ScheduledMessage.init(row:)), limit: page.limit) {
            "\(Int64(($0.postAt.timeIntervalSince1970 * 1000).rounded())).\($0.id)"
        }
    }

    func get(_ id: String, principal: Principal) async throws -> ScheduledMessage {
        try await scheduled(id, of: principal.userId, in: database).0
    }

    func edit(_ id: String, _ patch: ScheduledPatch, principal: Principal) async throws -> ScheduledMessage {
        var validator = Validator()
        if patch.text != nil { Self.checkText(patch.text, into: &validator) }
        try validator.finish()
        let postAt = try patch.postAt.map { try Self.postAt($0) }
        return try await database.transaction { transaction in
            let (_, state) = try await scheduled(id, of: principal.userId, in: transaction, locked: true)
            guard state == "pending" else { throw PluginError(.conflict, "this message is no longer pending") }
            if let text = patch.text {
                try await transaction.execute("UPDATE scheduled SET text = ?, updated_at = ? WHERE id = ?", [.text(text), .date(Date()), .text(id)])
            }
            if let postAt {
                try await transaction.execute("UPDATE scheduled SET post_at = ?, updated_at = ? WHERE id = ?", [.date(postAt), .date(Date()), .text(id)])
                try await transaction.requireJobs().reschedule(key: Self.jobKey(id), to: postAt)
            }
            return try await scheduled(id, of: principal.userId, in: transaction).0
        }
    }

    func delete(_ id: String, principal: Principal) async throws {
        try await database.transaction { transaction in
            let (_, state) = try await scheduled(id, of: principal.userId, in: transaction, locked: true)
            guard state == "pending" else { throw PluginError(.conflict, "this message is no longer pending") }
            try await transaction.execute("DELETE FROM scheduled WHERE id = ?", [.text(id)])
            try await transaction.requireJobs().cancel(key: Self.jobKey(id))
        }
    }

    /// The job. `pending` → `sending` first (so an edit or delete from now on is 409), then
    /// `message.post`; a refusal the author should see ends it `failed` with the reason, anything
    /// else is thrown so the job retries, and the retry posts at most once thanks to `client_msg_id`.
    func send(_ job: Job) async throws {
        let id = try job.decode(SendScheduled.self).id
        let claimed: (ScheduledMessage, String)? = try await database.transaction(retryOnDeadlock: true) { transaction in
            guard let row = try await transaction.query(
                "SELECT \(ScheduledMessage.columns) FROM scheduled WHERE id = ? AND state IN ('pending', 'sending') FOR UPDATE", [.text(id)]
            ).first else { return nil }
            let message = ScheduledMessage(row: row)
            // Moved later since this run was claimed: the moved job posts it.
            guard message.postAt <= Date().addingTimeInterval(1) else { return nil }
            try await transaction.execute("UPDATE scheduled SET state = 'sending', updated_at = ? WHERE id = ?", [.date(Date()), .text(id)])
            return (message, row["user_id"].string ?? "")
        }
        guard let (message, userId) = claimed else { return }
        do {
            let posted = try await context.call(
                "message", "post",
                PostAsUser(
                    userId: userId, channelId: message.channelId, text: message.text, threadRootId: message.threadRootId, clientMsgId: message.id,
                    fileIds: message.fileIds.isEmpty ? nil : message.fileIds),
                as: PostedMessage.self)
            struct Posted: Decodable { var id: String }
            let messageId = try JSONDecoder().decode(Posted.self, from: posted.message).id
            try await database.execute(
                "UPDATE scheduled SET state = 'sent', message_id = ?, updated_at = ? WHERE id = ?", [.text(messageId), .date(Date()), .text(id)])
        } catch let error as PluginError where [.forbidden, .notFound, .conflict, .validationFailed, .badRequest].contains(error.code) {
            try await database.execute(
                "UPDATE scheduled SET state = 'failed', error_code = ?, error_message = ?, updated_at = ? WHERE id = ?",
                [.text(error.code.rawValue), .text(String(error.message.prefix(500))), .date(Date()), .text(id)])
        }
    }
}
