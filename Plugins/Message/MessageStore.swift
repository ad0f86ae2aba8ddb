import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// Messages, reactions, mentions and pins in the plugin's schema.
struct MessageStore: Sendable {
    static let maximumText = 40_000

    let context: any PluginContext
    let database: any PluginDatabase
    let access: ChannelAccessCache
    /// `nil` when link previews are off or the host has no outbound HTTP.
    var previewer: LinkPreviewer? = nil

    static func group(_ channelId: String) -> String { "channel:\(channelId)" }

    // MARK: Reading

    /// Loads messages with their reactions and mentions, in the order of `rows`.
    func hydrate(_ rows: [SQLRow]) async throws -> [Message] {
        let ids = rows.compactMap { $0["id"].string }
        guard !ids.isEmpty else { return [] }
        let marks = sqlPlaceholders(ids.count)
        var reactions: [String: [String: [String]]] = [:]
        for row in try await database.query(
            "SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN (\(marks)) ORDER BY created_at, user_id", ids.map(SQLValue.text))
        {
            guard let id = row["message_id"].string, let emoji = row["emoji"].string, let user = row["user_id"].string else { continue }
            reactions[id, default: [:]][emoji, default: []].append(user)
        }
        var mentions: [String: [String]] = [:]
        for row in try await database.query(
            "SELECT message_id, user_id FROM mentions WHERE message_id IN (\(marks)) ORDER BY position", ids.map(SQLValue.text))
        {
            if let id = row["message_id"].string, let user = row["user_id"].string { mentions[id, default: []].append(user) }
        }
        var files: [String: [FileSummary]] = [:]
        for row in try await database.query(
            "SELECT message_id, file_json FROM message_files WHERE message_id IN (\(marks)) ORDER BY message_id, position", ids.map(SQLValue.text))
        {
            if let id = row["message_id"].string, let json = row["file_json"].string,
                let file = try? JSONDecoder.quik.decode(FileSummary.self, from: Data(json.utf8))
            {
                files[id, default: []].append(file)
            }
        }
        return rows.map { row in
            let id = row["id"].string ?? ""
            let grouped = (reactions[id] ?? [:]).map { Message.Reaction(emoji: $0.key, count: $0.value.count, userIds: $0.value) }
                .sorted { $0.emoji < $1.emoji }
            return Message(row: row, reactions: grouped, mentions: mentions[id] ?? [], files: files[id] ?? [])
        }
    }

    func message(_ id: String) async throws -> Message? {
        guard IDs.isPlausible(id) else { return nil }
        let rows = try await database.query("SELECT \(Message.columns) FROM messages WHERE id = ? AND deleted_at IS NULL", [.text(id)])
        return try await hydrate(rows).first
    }

    /// A message the caller may see, or 404.
    func visibleMessage(_ id: String, _ principal: Principal) async throws -> (Message, ChannelAccessReply) {
        guard let message = try await message(id) else { throw PluginError(.notFound, "no such message") }
        let reply = try await access.access(message.channelId, principal.userId)
        guard reply.visible else { throw PluginError(.notFound, "no such message") }
        return (message, reply)
    }

    /// The messages of `ids` that `userId` may read now, in the order asked, each once, with its workspace.
    func visible(_ query: VisibleMessagesQuery) async throws -> VisibleMessages {
        guard query.messageIds.count <= 1000 else {
            throw PluginError(.validationFailed, "at most 1000 message ids a call", details: ["message_ids": "too many"])
        }
        var seen = Set<String>()
        let ids = query.messageIds.filter { IDs.isPlausible($0) && seen.insert($0).inserted }
        var found: [String: Message] = [:]
        for start in stride(from: 0, to: ids.count, by: 200) {
            let chunk = Array(ids[start..<min(start + 200, ids.count)])
            let marks = sqlPlaceholders(chunk.count)
            let rows = try await database.query(
                "SELECT \(Message.columns) FROM messages WHERE id IN (\(marks)) AND deleted_at IS NULL", chunk.map(SQLValue.text))
            for message in try await hydrate(rows) { found[message.id] = message }
        }
        var channels: [String: ChannelAccessReply] = [:]
        var visible: [VisibleMessage] = []
        for id in ids {
            guard let message = found[id] else { continue }
            let reply: ChannelAccessReply
            if let known = channels[message.channelId] {
                reply = known
            } else {
                reply = try await access.access(message.channelId, query.userId)
                channels[message.channelId] = reply
            }
            guard reply.visible else { continue }
            visible.append(
                VisibleMessage(
                    messageId: id, channelId: message.channelId, workspaceId: reply.workspaceId ?? "", message: try JSONEncoder.quik.encode(message)))
        }
        return VisibleMessages(messages: visible)
    }

    func list(channelId: String?, before: String?, after: String?, limit: Int, principal: Principal) async throws -> ListResponse<Message> {
        guard let channelId, IDs.isPlausible(channelId) else {
            throw PluginError(.validationFailed, "channel_id is required", details: ["channel_id": "is required"])
        }
        guard try await access.access(channelId, principal.userId).visible else { throw PluginError(.notFound, "no such channel") }
        var sql = "SELECT \(Message.columns) FROM messages WHERE channel_id = ? AND thread_root_id IS NULL AND deleted_at IS NULL"
        var values: [SQLValue] = [.text(channelId)]
        if let before { sql += " AND id < ?"; values.append(.text(before)) }
        if let after { sql += " AND id > ?"; values.append(.text(after)) }
        sql += " ORDER BY id DESC LIMIT \(limit + 1)"
        let messages = try await hydrate(try await database.query(sql, values))
        var page = ListResponse(fetched: messages, limit: limit) { $0.id }
        // The cursor continues towards older messages.
        if page.nextCursor != nil { page.nextCursor = page.items.last?.id }
        return page
    }

    func pins(channelId: String?, principal: Principal) async throws -> [Message] {
        guard let channelId, IDs.isPlausible(channelId) else {
            throw PluginError(.validationFailed, "channel_id is required", details: ["channel_id": "is required"])
        }
        guard try await access.access(channelId, principal.userId).visible else { throw PluginError(.notFound, "no such channel") }
        return try await hydrate(
            try await database.query(
                "SELECT \(Message.columns) FROM messages WHERE channel_id = ? AND pinned = 1 AND deleted_at IS NULL ORDER BY pinned_at DESC LIMIT 200",
                [.text(channelId)]))
    }

    func thread(_ query: ThreadQuery) async throws -> ThreadReply {
        guard let root = try await message(query.rootId), root.threadRootId == nil else { throw PluginError(.notFound, "no such thread") }
        guard try await access.access(root.channelId, query.userId).visible else { throw PluginError(.notFound, "no such thread") }
        let replies = try await hydrate(
            try await database.query(
                "SELECT \(Message.columns) FROM messages WHERE thread_root_id = ? AND deleted_at IS NULL ORDER BY id LIMIT 1000",
                [.text(root.id)]))
        return ThreadReply(root: root, replies: replies)
    }

    // MARK: Posting

    /// `<@USER_ID>` mentions, in order, once each.
    static func mentions(in text: String) -> [String] {
        var found: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "<@") {
            let after = rest[open.upperBound...]
            guard let close = after.firstIndex(of: ">") else { break }
            let id = String(after[..<close])
            if IDs.isPlausible(id), !found.contains(id) { found.append(id) }
            rest = after[after.index(after: close)...]
        }
        return found
    }

    /// Distinct reactions one message may hold.
    static let maximumReactions = 50

    static func checkText(_ text: String?, field: String = "text") throws -> String {
        let text = text ?? ""
        var validator = Validator()
        validator.check(!text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, field, "must not be empty")
        validator.check(text, field, atMost: maximumText)
        try validator.finish()
        return text
    }

    /// Posts a message; returns it and whether it is new (a repeated `client_msg_id` returns the first).
    /// `poll` (from the polls plugin, through `message.post`) is stored with it.
    func post(_ body: PostBody, principal: Principal, poll: Poll? = nil) async throws -> (Message, created: Bool) {
        let fileIds = body.fileIds ?? []
        var validator = Validator()
        validator.check(IDs.isPlausible(body.channelId ?? ""), "channel_id", "is required")
        validator.check(body.clientMsgId, "client_msg_id", atMost: 64)
        validator.check(fileIds.count <= 10, "file_ids", "at most 10 files")
        validator.check(Set(fileIds).count == fileIds.count, "file_ids", "names a file twice")
        validator.check(fileIds.allSatisfy(IDs.isPlausible), "file_ids", "holds a malformed id")
        try validator.finish()
        // With files, a message may have no text.
        let checked = { (text: String?) throws -> String in
            fileIds.isEmpty || !(text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? try Self.checkText(text) : ""
        }
        var text = try checked(body.text)
        let channelId = body.channelId!
        let reply = try await access.access(channelId, principal.userId)
        guard reply.visible else { throw PluginError(.notFound, "no such channel") }
        guard reply.member else { throw PluginError(.forbidden, "only members post in this channel") }
        guard !reply.archived else { throw PluginError(.conflict, "the channel is archived") }
        if let clientId = body.clientMsgId, let first = try await byClientId(clientId, author: principal.userId) { return (first, false) }
        if let root = body.threadRootId {
            guard let parent = try await message(root), parent.channelId == channelId, parent.threadRootId == nil else {
                throw PluginError(.notFound, "thread_root_id is not a message of this channel", details: ["thread_root_id": "unknown"])
            }
        }

        let outcome = try await context.runHook(
            "message.will_post",
            payload: JSONEncoder.quik.encode(WillPost(channelId: channelId, authorId: principal.userId, text: text, threadRootId: body.threadRootId)))
        if let reason = outcome.rejection {
            throw PluginError(.validationFailed, reason, details: ["text": "rejected", "rejected_by": outcome.rejectedBy ?? ""])
        }
        if let payload = outcome.payload, let rewritten = try? JSONDecoder.quik.decode(WillPost.self, from: payload) {
            text = try checked(rewritten.text)
        }
        let files = try await attachable(fileIds, workspaceId: reply.workspaceId ?? "", userId: principal.userId)

        let id = IDs.make("M")
        // Whole milliseconds, as DATETIME(3) keeps them, so the reply and a later read agree.
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        let mentions = Self.mentions(in: text)
        do {
            let message = try await database.transaction(retryOnDeadlock: true) { transaction -> Message in
                try await transaction.execute(
                    """
                    INSERT INTO messages (id, channel_id, author_id, text, thread_root_id, client_msg_id, created_at, poll_json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(id), .text(channelId), .text(principal.userId), .text(text), body.threadRootId.map(SQLValue.text) ?? .null,
                        body.clientMsgId.map(SQLValue.text) ?? .null, .date(now), try poll.map { .text(try $0.stored()) } ?? .null,
                    ])
                for (position, user) in mentions.enumerated() {
                    try await transaction.execute(
                        "INSERT INTO mentions (message_id, user_id, position) VALUES (?, ?, ?)", [.text(id), .text(user), .int(Int64(position))])
                }
                for (position, file) in files.enumerated() {
                    try await transaction.execute(
                        "INSERT INTO message_files (message_id, position, file_id, file_json) VALUES (?, ?, ?, ?)",
                        [.text(id), .int(Int64(position)), .text(file.id), .text(String(decoding: try JSONEncoder.quik.encode(file), as: UTF8.self))])
                }
                if let root = body.threadRootId {
                    try await transaction.execute(
                        "UPDATE messages SET reply_count = reply_count + 1, last_reply_at = ? WHERE id = ?", [.date(now), .text(root)])
                }
                let message = Message(
                    id: id, channelId: channelId, authorId: principal.userId, text: text, threadRootId: body.threadRootId, createdAt: now,
                    mentions: mentions, files: files, poll: poll)
                try await transaction.publish("message.created", message)
                try await schedulePreviews(id, text: text, in: transaction)
                return message
            }
            // The channel's members may fetch the files as soon as they hear of the message.
            if !files.isEmpty {
                do {
                    _ = try await context.call(
                        "files", "attached", AttachedFiles(messageId: id, channelId: channelId, fileIds: files.map(\.id)), as: AttachableReply.self)
                } catch {
                    context.logger.warning("files not yet readable in the channel; the files plugin catches up from message.created", metadata: ["error": "\(error)"])
                }
            }
            await context.send(try RealtimeEvent(topic: "message.created", value: message), to: .group(Self.group(channelId)))
            return (message, true)
        } catch let error as DatabaseError where error.kind == .duplicateKey {
            if let clientId = body.clientMsgId, let first = try await byClientId(clientId, author: principal.userId) { return (first, false) }
            throw error
        }
    }

    /// The files, as the files plugin vouches for them; 422 when files are not enabled.
    private func attachable(_ fileIds: [String], workspaceId: String, userId: String) async throws -> [FileSummary] {
        guard !fileIds.isEmpty else { return [] }
        do {
            return try await context.call(
                "files", "attachable", AttachableQuery(userId: userId, workspaceId: workspaceId, fileIds: fileIds), as: AttachableReply.self
            ).files
        } catch let error as PluginError where error.code == .unavailable && error.message.contains("not running") {
            throw PluginError(.validationFailed, "files are not enabled in this deployment", details: ["file_ids": "files are not enabled"])
        }
    }

    /// Takes a deleted file out of every message carrying it, each told as `message.updated`.
    func dropFile(_ fileId: String) async throws {
        let carrying = try await database.query("SELECT DISTINCT message_id FROM message_files WHERE file_id = ?", [.text(fileId)])
            .compactMap { $0["message_id"].string }
        for id in carrying {
            try await database.execute("DELETE FROM message_files WHERE message_id = ? AND file_id = ?", [.text(id), .text(fileId)])
            if let fresh = try await message(id) {
                _ = try await context.publish("message.updated", fresh)
                try await announce("message.updated", fresh)
            }
        }
    }

    private func byClientId(_ clientId: String, author: String) async throws -> Message? {
        try await hydrate(
            try await database.query(
                "SELECT \(Message.columns) FROM messages WHERE author_id = ? AND client_msg_id = ?", [.text(author), .text(clientId)])
        ).first
    }

    // MARK: Changing

    func announce(_ topic: String, _ message: Message) async throws {
        await context.send(try RealtimeEvent(topic: topic, value: message), to: .group(Self.group(message.channelId)))
    }

    func edit(_ id: String, _ body: EditBody, principal: Principal) async throws -> Message {
        let (message, _) = try await visibleMessage(id, principal)
        guard message.authorId == principal.userId else { throw PluginError(.forbidden, "only the author edits a message") }
        let text = try Self.checkText(body.text)
        let mentions = Self.mentions(in: text)
        let urlsChanged = LinkPreview.urls(in: text) != LinkPreview.urls(in: message.text)
        let fresh = try await database.transaction { transaction -> Message in
            try await transaction.execute("UPDATE messages SET text = ?, edited_at = ? WHERE id = ?", [.text(text), .date(Date()), .text(id)])
            try await transaction.execute("DELETE FROM mentions WHERE message_id = ?", [.text(id)])
            for (position, user) in mentions.enumerated() {
                try await transaction.execute(
                    "INSERT INTO mentions (message_id, user_id, position) VALUES (?, ?, ?)", [.text(id), .text(user), .int(Int64(position))])
            }
            // New links, new previews: the old ones go until those are read.
            if urlsChanged {
                try await transaction.execute("UPDATE messages SET previews_json = NULL WHERE id = ?", [.text(id)])
                try await schedulePreviews(id, text: text, in: transaction)
            }
            let rows = try await transaction.query("SELECT \(Message.columns) FROM messages WHERE id = ?", [.text(id)])
            let fresh = Message(row: rows[0], reactions: message.reactions, mentions: mentions, files: message.files)
            try await transaction.publish("message.updated", fresh)
            return fresh
        }
        try await announce("message.updated", fresh)
        return fresh
    }

    static let previewJob = "link_previews"

    /// The job that reads a message's links, scheduled with the post or edit that put them there.
    struct PreviewJob: Codable {
        var messageId: String
    }

    /// Schedules reading the links of `text`, in the transaction that stores it: a crash
    /// after the commit still gets the previews made, on whichever host claims the job.
    func schedulePreviews(_ id: String, text: String, in transaction: any SQLTransaction) async throws {
        guard previewer != nil, !LinkPreview.urls(in: text).isEmpty, let jobs = transaction.jobs else { return }
        try await jobs.schedule(Self.previewJob, PreviewJob(messageId: id))
    }

    /// The job: reads the pages the message links to now and, when any preview results,
    /// stores them and tells the channel (`message.updated`, durably). A repeat reads the
    /// pages from the cache; an edit meanwhile makes the links differ and this run a no-op.
    func makePreviews(_ job: Job) async throws {
        guard let previewer else { return }
        let id = try job.decode(PreviewJob.self).messageId
        guard let before = try await message(id) else { return }
        let urls = LinkPreview.urls(in: before.text)
        var previews: [LinkPreview] = []
        for url in urls {
            if let preview = await previewer.preview(url) { previews.append(preview) }
        }
        guard !previews.isEmpty else { return }
        let json = String(decoding: try JSONEncoder.quik.encode(previews), as: UTF8.self)
        let fresh = try await database.transaction { transaction -> Message? in
            // Only if the text still links to these pages (an edit may have come meanwhile).
            guard let row = try await transaction.query(
                "SELECT text FROM messages WHERE id = ? AND deleted_at IS NULL FOR UPDATE", [.text(id)]
            ).first, LinkPreview.urls(in: row["text"].string ?? "") == urls else { return nil }
            try await transaction.execute("UPDATE messages SET previews_json = ? WHERE id = ?", [.text(json), .text(id)])
            guard let fresh = try await hydrate(
                try await transaction.query("SELECT \(Message.columns) FROM messages WHERE id = ?", [.text(id)])
            ).first else { return nil }
            try await transaction.publish("message.updated", fresh)
            return fresh
        }
        if let fresh { try await announce("message.updated", fresh) }
    }

    func delete(_ id: String, principal: Principal) async throws {
        let (message, reply) = try await visibleMessage(id, principal)
        if message.authorId != principal.userId {
            try await context.require("messages.delete_any", in: .workspace(reply.workspaceId ?? ""), for: principal)
        }
        let deleted = try await database.transaction { transaction -> Bool in
            let outcome = try await transaction.execute(
                "UPDATE messages SET deleted_at = ?, text = '' WHERE id = ? AND deleted_at IS NULL", [.date(Date()), .text(id)])
            guard outcome.affectedRows == 1 else { return false }
            if let root = message.threadRootId {
                try await transaction.execute(
                    "UPDATE messages SET reply_count = GREATEST(reply_count - 1, 0) WHERE id = ?", [.text(root)])
            }
            try await transaction.publish("message.deleted", message)
            return true
        }
        if deleted { try await announce("message.deleted", message) }
    }

    func react(_ id: String, emoji rawEmoji: String?, add: Bool, principal: Principal) async throws -> Message {
        let (message, reply) = try await visibleMessage(id, principal)
        guard reply.member else { throw PluginError(.forbidden, "only members react in this channel") }
        let emoji = rawEmoji ?? ""
        guard ReactionName.isValid(emoji) else {
            throw PluginError(.validationFailed, "emoji is a name of [a-z0-9_+-], 1–64 long, or an emoji", details: ["emoji": "malformed"])
        }
        let changed = try await database.transaction(retryOnDeadlock: true) { transaction -> Bool in
            if add {
                // The message row's lock orders concurrent first reactions, so the cap holds under a race.
                _ = try await transaction.query("SELECT id FROM messages WHERE id = ? FOR UPDATE", [.text(id)])
                let present = try await transaction.query(
                    "SELECT DISTINCT emoji FROM reactions WHERE message_id = ?", [.text(id)]
                ).compactMap { $0["emoji"].string }
                if !present.contains(emoji), present.count >= Self.maximumReactions {
                    throw PluginError(
                        .conflict, "a message holds at most \(Self.maximumReactions) different reactions", details: ["emoji": "too many reactions"])
                }
            }
            let outcome =
                add
                ? try await transaction.execute(
                    "INSERT IGNORE INTO reactions (message_id, emoji, user_id, created_at) VALUES (?, ?, ?, ?)",
                    [.text(id), .text(emoji), .text(principal.userId), .date(Date())])
                : try await transaction.execute(
                    "DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?", [.text(id), .text(emoji), .text(principal.userId)])
            guard outcome.affectedRows == 1 else { return false }
            let event = ReactionEvent(messageId: id, channelId: message.channelId, emoji: emoji, userId: principal.userId)
            try await transaction.publish(add ? "message.reaction_added" : "message.reaction_removed", event)
            return true
        }
        guard let fresh = try await self.message(id) else { throw PluginError(.notFound, "no such message") }
        if changed {
            let event = ReactionEvent(messageId: id, channelId: message.channelId, emoji: emoji, userId: principal.userId)
            await context.send(
                try RealtimeEvent(topic: add ? "reaction.added" : "reaction.removed", value: event), to: .group(Self.group(message.channelId)))
        }
        return fresh
    }

    /// Replaces a message's poll and tells the channel (`message.updated`, durably with the change).
    /// The same poll again changes nothing and tells no one, so a caller may repeat it safely.
    func setPoll(_ request: SetPoll) async throws -> Message {
        let poll = try Poll.decoded(request.poll)
        guard let message = try await message(request.messageId) else { throw PluginError(.notFound, "no such message") }
        let stored = try poll.stored()
        let (fresh, changed) = try await database.transaction(retryOnDeadlock: true) { transaction -> (Message, Bool) in
            // The row lock orders concurrent replacements: each is told in the order it committed.
            let rows = try await transaction.query(
                "SELECT \(Message.columns) FROM messages WHERE id = ? AND deleted_at IS NULL FOR UPDATE", [.text(request.messageId)])
            guard let row = rows.first else { throw PluginError(.notFound, "no such message") }
            var fresh = Message(row: row, reactions: message.reactions, mentions: message.mentions, files: message.files)
            guard fresh.poll != poll else { return (fresh, false) }
            try await transaction.execute("UPDATE messages SET poll_json = ? WHERE id = ?", [.text(stored), .text(request.messageId)])
            fresh.poll = poll
            try await transaction.publish("message.updated", fresh)
            return (fresh, true)
        }
        if changed { try await announce("message.updated", fresh) }
        return fresh
    }

    func pin(_ id: String, pinned: Bool, principal: Principal) async throws -> Message {
        var (message, reply) = try await visibleMessage(id, principal)
        guard reply.member else { throw PluginError(.forbidden, "only members pin in this channel") }
        message.pinned = pinned
        let fresh = message
        // The change and its event commit together, as for edits.
        let changed = try await database.transaction { transaction -> Bool in
            let outcome = try await transaction.execute(
                "UPDATE messages SET pinned = ?, pinned_at = ? WHERE id = ? AND pinned <> ?",
                [.int(pinned ? 1 : 0), pinned ? .date(Date()) : .null, .text(id), .int(pinned ? 1 : 0)])
            guard outcome.affectedRows == 1 else { return false }
            try await transaction.publish("message.updated", fresh)
            return true
        }
        if changed { try await announce("message.updated", fresh) }
        return fresh
    }
}
