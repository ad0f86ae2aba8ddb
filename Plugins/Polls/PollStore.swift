import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Polls, their options and votes in the plugin's schema.
///
/// Every change (a vote, a close) commits in one transaction that locks the poll's row
/// (`SELECT … FOR UPDATE`, so concurrent votes never lose a count), records the vote,
/// recomputes the poll's JSON from the votes and marks it `needs_sync`. A second step,
/// ``sync(_:)``, then hands that JSON to the message plugin (`message.set_poll`, which
/// publishes `message.updated`) and clears the mark, under the same row lock, so the
/// message plugin sees the changes in commit order. If the host stops between the two,
/// or the call fails, the mark stays and ``repair()`` hands the poll over again: at start
/// and every few seconds. `message.set_poll` does nothing for a poll equal to the one
/// shown, so handing it over twice is harmless.
struct PollStore: Sendable {
    static let closeAny = "polls.close_any"
    static let maximumQuestion = 300
    static let maximumOption = 100
    static let optionsAllowed = 2...10
    /// Seconds between sweeps for polls whose message is behind; a poll is swept only
    /// once it has been left that long, so the sweep does not race the request's own step.
    static let repairInterval = 5.0

    let context: any PluginContext
    let database: any PluginDatabase

    /// The poll as the message shows it.
    struct PollJSON: Codable, Sendable {
        struct Option: Codable, Sendable {
            var id: String
            var text: String
            var votes: Int
            var userIds: [String]
        }

        var question: String
        var options: [Option]
        var multiple: Bool
        var anonymous: Bool
        var closed: Bool
    }

    /// A poll's row, as the routes need it.
    struct Row {
        var id: String
        var messageId: String?
        var channelId: String
        var authorId: String
        var threadRootId: String?
        var question: String
        var multiple: Bool
        var closed: Bool
        var pollJSON: String

        init(_ row: SQLRow) {
            id = row["id"].string ?? ""
            messageId = row["message_id"].string
            channelId = row["channel_id"].string ?? ""
            authorId = row["author_id"].string ?? ""
            threadRootId = row["thread_root_id"].string
            question = row["question"].string ?? ""
            multiple = row["multiple"].int == 1
            closed = row["closed"].int == 1
            pollJSON = row["poll_json"].string ?? ""
        }

        static let columns = "id, message_id, channel_id, author_id, thread_root_id, question, multiple, closed, poll_json"
    }

    static func messageResponse(_ message: Data, status: Int = 200) -> PluginResponse {
        PluginResponse(status: status, headers: ["content-type": "application/json; charset=utf-8"], body: message)
    }

    /// Whole milliseconds, as DATETIME(3) keeps them.
    static func now() -> Date { Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }

    /// The `client_msg_id` of a poll's message: posting it again returns the first.
    static func clientMessageId(_ pollId: String) -> String { "poll-\(pollId)" }

    func poll(messageId: String) async throws -> Row {
        guard IDs.isPlausible(messageId),
            let row = try await database.query("SELECT \(Row.columns) FROM polls WHERE message_id = ?", [.text(messageId)]).first
        else { throw PluginError(.notFound, "no such poll") }
        return Row(row)
    }

    /// The message, if `userId` may read it now, with its workspace; else 404.
    func readable(_ messageId: String, userId: String) async throws -> VisibleMessage {
        let reply = try await context.call(
            "message", "visible", VisibleMessagesQuery(messageIds: [messageId], userId: userId), as: VisibleMessages.self)
        guard let message = reply.messages.first else { throw PluginError(.notFound, "no such poll") }
        return message
    }

    // MARK: Creating

    /// Posts a poll as `userId`; returns the message JSON.
    func create(_ body: CreateBody, userId: String) async throws -> Data {
        var validator = Validator()
        validator.check(IDs.isPlausible(body.channelId ?? ""), "channel_id", "is required")
        let question = Checks.trimmed(body.question) ?? ""
        validator.check(!question.isEmpty, "question", "is required")
        validator.check(body.question, "question", atMost: Self.maximumQuestion)
        let raw = body.options ?? []
        let options = raw.map { Checks.trimmed($0) ?? "" }
        validator.check(body.options != nil, "options", "is required")
        validator.check(Self.optionsAllowed.contains(options.count), "options", "must list 2 to 10 options")
        validator.check(options.allSatisfy { !$0.isEmpty }, "options", "an option is empty")
        for option in raw { validator.check(option, "options", atMost: Self.maximumOption) }
        if let root = body.threadRootId { validator.check(IDs.isPlausible(root), "thread_root_id", "is malformed") }
        try validator.finish()
        // The channel before what its schema cannot say (distinct options): a poll for a channel the
        // caller cannot post in is refused as such (404, 403, 409), as `message.post` would.
        let access = try await context.call(
            "channel", "access", ChannelAccessQuery(channelId: body.channelId!, userId: userId), as: ChannelAccessReply.self)
        guard access.visible else { throw PluginError(.notFound, "no such channel") }
        guard access.member else { throw PluginError(.forbidden, "only members post in this channel") }
        guard !access.archived else { throw PluginError(.conflict, "the channel is archived") }
        var distinct = Validator()
        distinct.check(Set(options.map { $0.lowercased() }).count == options.count, "options", "must be distinct")
        try distinct.finish()

        let pollId = IDs.make("P")
        let multiple = body.multiple ?? false
        let anonymous = body.anonymous ?? false
        let optionIds = options.map { _ in IDs.make("O") }
        let json = PollJSON(
            question: question, options: zip(optionIds, options).map { PollJSON.Option(id: $0, text: $1, votes: 0, userIds: []) },
            multiple: multiple, anonymous: anonymous, closed: false)
        let now = Self.now()
        try await database.transaction { transaction in
            try await transaction.execute(
                """
                INSERT INTO polls (id, message_id, channel_id, author_id, thread_root_id, question, multiple, anonymous, poll_json, \
                version, needs_sync, created_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?, ?)
                """,
                [
                    .text(pollId), .text(body.channelId!), .text(userId), body.threadRootId.map(SQLValue.text) ?? .null, .text(question),
                    .int(multiple ? 1 : 0), .int(anonymous ? 1 : 0), .text(try Self.text(json)), .date(now), .date(now),
                ])
            for (position, (id, text)) in zip(optionIds, options).enumerated() {
                try await transaction.execute(
                    "INSERT INTO poll_options (poll_id, id, position, text) VALUES (?, ?, ?, ?)",
                    [.text(pollId), .text(id), .int(Int64(position)), .text(text)])
            }
        }
        return try await post(pollId)
    }

    /// Posts a pending poll's message (again: the same `client_msg_id` returns the first) and links
    /// the poll to it. A refusal (not a member, archived, …) drops the poll and is rethrown; any
    /// other failure leaves it pending for ``repair()``.
    @discardableResult
    func post(_ pollId: String) async throws -> Data {
        guard let row = try await database.query("SELECT \(Row.columns) FROM polls WHERE id = ?", [.text(pollId)]).first.map(Row.init) else {
            throw PluginError(.notFound, "no such poll")
        }
        let request = PostAsUser(
            userId: row.authorId, channelId: row.channelId, text: row.question, threadRootId: row.threadRootId,
            clientMsgId: Self.clientMessageId(pollId), poll: Data(row.pollJSON.utf8))
        let posted: PostedMessage
        do {
            posted = try await context.call("message", "post", request, as: PostedMessage.self)
        } catch let error as PluginError where error.code.status < 500 {
            try await drop(pollId: pollId)
            throw error
        }
        guard let messageId = (try? JSONSerialization.jsonObject(with: posted.message) as? [String: Any])?["id"] as? String else {
            throw PluginError(.internalError, "the message plugin answered without a message id")
        }
        try await database.execute(
            "UPDATE polls SET message_id = ?, needs_sync = 0 WHERE id = ? AND message_id IS NULL", [.text(messageId), .text(pollId)])
        // A repeat (the sweep finishing a creation) hands over the poll as it is now.
        return posted.created ? posted.message : try await sync(pollId)
    }

    // MARK: Changing

    /// Replaces `principal`'s vote; returns the message JSON.
    func vote(_ messageId: String, optionIds: [String]?, principal: Principal) async throws -> Data {
        guard let optionIds else { throw PluginError(.validationFailed, "option_ids is required", details: ["option_ids": "is required"]) }
        let poll = try await poll(messageId: messageId)
        _ = try await readable(messageId, userId: principal.userId)
        let access = try await context.call(
            "channel", "access", ChannelAccessQuery(channelId: poll.channelId, userId: principal.userId), as: ChannelAccessReply.self)
        guard access.visible else { throw PluginError(.notFound, "no such poll") }
        guard access.member else { throw PluginError(.forbidden, "only members vote in this channel") }
        guard !access.archived else { throw PluginError(.conflict, "the channel is archived") }

        let known = Set(
            try await database.query("SELECT id FROM poll_options WHERE poll_id = ?", [.text(poll.id)]).compactMap { $0["id"].string })
        var validator = Validator()
        validator.check(Set(optionIds).count == optionIds.count, "option_ids", "names an option twice")
        validator.check(optionIds.allSatisfy(known.contains), "option_ids", "names an option this poll does not have")
        validator.check(poll.multiple || optionIds.count <= 1, "option_ids", "this poll takes one option")
        try validator.finish()

        try await database.transaction(retryOnDeadlock: true) { transaction in
            let locked = try await transaction.query("SELECT closed FROM polls WHERE id = ? FOR UPDATE", [.text(poll.id)])
            guard let row = locked.first else { throw PluginError(.notFound, "no such poll") }
            guard row["closed"].int != 1 else { throw PluginError(.conflict, "the poll is closed") }
            let current = try await transaction.query(
                "SELECT option_id FROM poll_votes WHERE poll_id = ? AND user_id = ?", [.text(poll.id), .text(principal.userId)]
            ).compactMap { $0["option_id"].string }
            // The same vote again changes nothing (and keeps its place in the order of voters).
            guard Set(current) != Set(optionIds) else { return }
            try await transaction.execute(
                "DELETE FROM poll_votes WHERE poll_id = ? AND user_id = ?", [.text(poll.id), .text(principal.userId)])
            let now = Self.now()
            for option in optionIds {
                try await transaction.execute(
                    "INSERT INTO poll_votes (poll_id, user_id, option_id, voted_at) VALUES (?, ?, ?, ?)",
                    [.text(poll.id), .text(principal.userId), .text(option), .date(now)])
            }
            try await recompute(poll.id, in: transaction)
        }
        return try await sync(poll.id)
    }

    /// Closes a poll (its author, or who holds `polls.close_any` in the workspace); returns the message JSON.
    func close(_ messageId: String, principal: Principal) async throws -> Data {
        let poll = try await poll(messageId: messageId)
        let message = try await readable(messageId, userId: principal.userId)
        if poll.authorId != principal.userId {
            guard await context.isAllowed(Self.closeAny, in: .workspace(message.workspaceId), for: principal) else {
                throw PluginError(.forbidden, "only its author or the workspace's admins close a poll")
            }
        }
        try await database.transaction(retryOnDeadlock: true) { transaction in
            let locked = try await transaction.query("SELECT closed FROM polls WHERE id = ? FOR UPDATE", [.text(poll.id)])
            guard let row = locked.first else { throw PluginError(.notFound, "no such poll") }
            // Closing a closed poll is answered as the first time.
            guard row["closed"].int != 1 else { return }
            try await transaction.execute("UPDATE polls SET closed = 1 WHERE id = ?", [.text(poll.id)])
            try await recompute(poll.id, in: transaction)
        }
        return try await sync(poll.id)
    }

    /// Recomputes the poll's JSON from its options and votes (the poll's row locked by the caller)
    /// and marks it for the message.
    private func recompute(_ pollId: String, in transaction: any SQLTransaction) async throws {
        guard let poll = try await transaction.query("SELECT question, multiple, anonymous, closed FROM polls WHERE id = ?", [.text(pollId)]).first
        else { throw PluginError(.notFound, "no such poll") }
        let anonymous = poll["anonymous"].int == 1
        var voters: [String: [String]] = [:]
        for vote in try await transaction.query(
            "SELECT option_id, user_id FROM poll_votes WHERE poll_id = ? ORDER BY voted_at, user_id", [.text(pollId)])
        {
            if let option = vote["option_id"].string, let user = vote["user_id"].string { voters[option, default: []].append(user) }
        }
        let options = try await transaction.query("SELECT id, text FROM poll_options WHERE poll_id = ? ORDER BY position", [.text(pollId)])
            .map { row -> PollJSON.Option in
                let id = row["id"].string ?? ""
                let users = voters[id] ?? []
                return PollJSON.Option(id: id, text: row["text"].string ?? "", votes: users.count, userIds: anonymous ? [] : users)
            }
        let json = PollJSON(
            question: poll["question"].string ?? "", options: options, multiple: poll["multiple"].int == 1, anonymous: anonymous,
            closed: poll["closed"].int == 1)
        try await transaction.execute(
            "UPDATE polls SET poll_json = ?, version = version + 1, needs_sync = 1, updated_at = ? WHERE id = ?",
            [.text(try Self.text(json)), .date(Self.now()), .text(pollId)])
    }

    static func text(_ poll: PollJSON) throws -> String { String(decoding: try JSONEncoder.quik.encode(poll), as: UTF8.self) }

    private enum Synced: Sendable {
        case message(Data)
        case gone
    }

    /// Hands the poll's current JSON to its message (`message.set_poll`) and clears `needs_sync`,
    /// holding the poll's row so no change slips between; returns the message JSON. A message
    /// deleted meanwhile takes the poll with it (404).
    @discardableResult
    func sync(_ pollId: String) async throws -> Data {
        let outcome = try await database.transaction(retryOnDeadlock: true) { transaction -> Synced in
            let rows = try await transaction.query(
                "SELECT message_id, poll_json, needs_sync FROM polls WHERE id = ? FOR UPDATE", [.text(pollId)])
            guard let row = rows.first, let messageId = row["message_id"].string, let json = row["poll_json"].string else { return .gone }
            let reply: PostedMessage
            do {
                reply = try await context.call("message", "set_poll", SetPoll(messageId: messageId, poll: Data(json.utf8)), as: PostedMessage.self)
            } catch let error as PluginError where error.code == .notFound {
                return .gone
            }
            if row["needs_sync"].int != 0 { try await transaction.execute("UPDATE polls SET needs_sync = 0 WHERE id = ?", [.text(pollId)]) }
            return .message(reply.message)
        }
        switch outcome {
        case .message(let message):
            return message
        case .gone:
            try await drop(pollId: pollId)
            throw PluginError(.notFound, "no such poll")
        }
    }

    // MARK: Housekeeping

    func drop(pollId: String) async throws {
        try await database.transaction { transaction in
            try await transaction.execute("DELETE FROM poll_votes WHERE poll_id = ?", [.text(pollId)])
            try await transaction.execute("DELETE FROM poll_options WHERE poll_id = ?", [.text(pollId)])
            try await transaction.execute("DELETE FROM polls WHERE id = ?", [.text(pollId)])
        }
    }

    func forget(messageId: String) async throws {
        guard let pollId = try await database.query("SELECT id FROM polls WHERE message_id = ?", [.text(messageId)]).first?["id"].string else {
            return
        }
        try await drop(pollId: pollId)
    }

    /// Finishes what was left half done: polls whose message was never posted, and changes
    /// the message does not show yet.
    func repair() async {
        do {
            let stale = Date().addingTimeInterval(-Self.repairInterval)
            let rows = try await database.query(
                "SELECT id, message_id FROM polls WHERE needs_sync = 1 AND updated_at < ? ORDER BY updated_at LIMIT 100", [.date(stale)])
            for row in rows {
                guard let id = row["id"].string else { continue }
                do {
                    if row["message_id"].isNull { try await post(id) } else { try await sync(id) }
                } catch {
                    context.logger.warning("a poll's message is still behind", metadata: ["poll_id": "\(id)", "error": "\(error)"])
                }
            }
        } catch {
            context.logger.warning("polls not checked for changes their messages lack", metadata: ["error": "\(error)"])
        }
    }
}
