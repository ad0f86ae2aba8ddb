import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Bookmarks in the plugin's schema; messages come from the message plugin at read time.
struct BookmarkStore: Sendable {
    let context: any PluginContext
    let database: any PluginDatabase

    /// An id as `IDs.isPlausible` accepts it.
    static let id = APISchema.string(pattern: "^[A-Za-z0-9_-]{1,64}$")
    /// `<saved at, Unix milliseconds>.<message id>` of the last item of the page before.
    static let cursorPattern = "^[0-9]{1,15}\\.[A-Za-z0-9_-]{1,64}$"

    /// `{message, created_at}`: the message as the REST API returns it, and when it was saved.
    static let itemSchema = APISchema.object(
        ["message": MessageSchemas.message, "created_at": APISchema.dateTime.described("When the caller saved it")],
        required: ["message", "created_at"])

    /// A saved message: the message plugin's JSON, kept byte for byte.
    struct Item {
        var message: Data
        var createdAt: Date

        /// `{"created_at":"…","message":{…}}`.
        var json: Data {
            Data(#"{"created_at":"\#(QuikTime.format(createdAt))","message":"#.utf8) + message + Data("}".utf8)
        }
    }

    static func response(_ item: Item, status: Int) -> PluginResponse {
        PluginResponse(status: status, headers: ["content-type": "application/json; charset=utf-8"], body: item.json)
    }

    /// The messages of `ids` that `userId` may read now, by id.
    func readable(_ ids: [String], userId: String) async throws -> [String: VisibleMessage] {
        guard !ids.isEmpty else { return [:] }
        let reply = try await context.call("message", "visible", VisibleMessagesQuery(messageIds: ids, userId: userId), as: VisibleMessages.self)
        return Dictionary(reply.messages.map { ($0.messageId, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Saves a message the user may read; returns the bookmark and whether it is new.
    func save(_ messageId: String?, userId: String) async throws -> (Item, created: Bool) {
        guard let messageId, IDs.isPlausible(messageId) else {
            throw PluginError(.validationFailed, "message_id is required", details: ["message_id": "is required"])
        }
        guard let message = try await readable([messageId], userId: userId)[messageId] else {
            throw PluginError(.notFound, "no such message")
        }
        // Whole milliseconds, as DATETIME(3) keeps them, so this answer and a later read agree.
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        let outcome = try await database.execute(
            "INSERT IGNORE INTO bookmarks (user_id, message_id, workspace_id, channel_id, created_at) VALUES (?, ?, ?, ?, ?)",
            [.text(userId), .text(messageId), .text(message.workspaceId), .text(message.channelId), .date(now)])
        if outcome.affectedRows == 1 { return (Item(message: message.message, createdAt: now), true) }
        let savedAt = try await database.query(
            "SELECT created_at FROM bookmarks WHERE user_id = ? AND message_id = ?", [.text(userId), .text(messageId)]
        ).first?["created_at"].date
        return (Item(message: message.message, createdAt: savedAt ?? now), false)
    }

    func remove(_ messageId: String, userId: String) async throws {
        guard IDs.isPlausible(messageId) else { return }
        try await database.execute("DELETE FROM bookmarks WHERE user_id = ? AND message_id = ?", [.text(userId), .text(messageId)])
    }

    func forget(messageId: String) async throws {
        try await database.execute("DELETE FROM bookmarks WHERE message_id = ?", [.text(messageId)])
    }

    /// Rows read per round while filling a page; rounds stop after this many rows in all,
    /// answering a shorter page with a cursor rather than scanning on.
    static let scanLimit = 2000

    /// A page of the user's bookmarks in a workspace, last saved first, unreadable ones skipped.
    func list(workspaceId: String?, page: Page, userId: String) async throws -> PluginResponse {
        guard let workspaceId, IDs.isPlausible(workspaceId) else {
            throw PluginError(.validationFailed, "workspace_id is required", details: ["workspace_id": "is required"])
        }
        let role = try await context.call(
            "workspace", "membership", MembershipQuery(workspaceId: workspaceId, userId: userId), as: MembershipReply.self
        ).role
        guard role != nil else { throw PluginError(.notFound, "no such workspace") }
        var position: (Date, String)? = nil
        if let cursor = page.cursor {
            let parts = cursor.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].count <= 15, let millis = Int64(parts[0]), millis >= 0, IDs.isPlausible(parts[1]) else {
                throw PluginError(.badRequest, "cursor is not one this list gave", details: ["cursor": "malformed"])
            }
            // Past the last time DATETIME holds (9999-12-31) means "from the start".
            position = (Date(timeIntervalSince1970: Double(min(millis, Self.latestMillis)) / 1000), parts[1])
        }

        var items: [Item] = []
        var keys: [(Date, String)] = []
        var scanned = 0
        var exhausted = false
        while items.count <= page.limit, !exhausted, scanned < Self.scanLimit {
            let batch = page.limit + 1
            var sql = "SELECT message_id, created_at FROM bookmarks WHERE user_id = ? AND workspace_id = ?"
            var values: [SQLValue] = [.text(userId), .text(workspaceId)]
            if let (at, id) = position {
                sql += " AND (created_at < ? OR (created_at = ? AND message_id < ?))"
                values += [.date(at), .date(at), .text(id)]
            }
            sql += " ORDER BY created_at DESC, message_id DESC LIMIT \(batch)"
            let rows = try await database.query(sql, values)
            exhausted = rows.count < batch
            scanned += rows.count
            let found = try await readable(rows.compactMap { $0["message_id"].string }, userId: userId)
            for row in rows {
                guard let id = row["message_id"].string, let at = row["created_at"].date else { continue }
                position = (at, id)
                guard items.count <= page.limit, let message = found[id] else { continue }
                items.append(Item(message: message.message, createdAt: at))
                keys.append((at, id))
            }
        }
        var cursor: String? = nil
        if items.count > page.limit {
            items.removeLast(items.count - page.limit)
            let (at, id) = keys[page.limit - 1]
            cursor = Self.cursor(at, id)
        } else if !exhausted, let (at, id) = position {
            // Scanned enough without filling the page: continue from the last row looked at.
            cursor = Self.cursor(at, id)
        }
        var body = Data(#"{"items":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { body.append(Data(",".utf8)) }
            body.append(item.json)
        }
        body.append(Data(#"],"next_cursor":"#.utf8))
        body.append(cursor.map { Data(#""\#($0)""#.utf8) } ?? Data("null".utf8))
        body.append(Data("}".utf8))
        return PluginResponse(status: 200, headers: ["content-type": "application/json; charset=utf-8"], body: body)
    }

    /// 9999-12-31T23:59:59.999Z, the last time a DATETIME holds.
    static let latestMillis: Int64 = 253_402_300_799_999

    static func cursor(_ at: Date, _ id: String) -> String {
        "\(Int64((at.timeIntervalSince1970 * 1000).rounded())).\(id)"
    }
}
