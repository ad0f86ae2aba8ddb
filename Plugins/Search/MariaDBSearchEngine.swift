import Foundation
import QuikSDK

/// ``SearchEngine`` on an InnoDB FULLTEXT index in the plugin's own schema.
struct MariaDBSearchEngine: SearchEngine {
    let database: any PluginDatabase

    static let migrations = [
        Migration(version: 1, name: "message_index", statements: [
            """
            CREATE TABLE messages (
              message_id VARCHAR(32) NOT NULL PRIMARY KEY,
              channel_id VARCHAR(32) NOT NULL,
              author_id VARCHAR(32) NOT NULL,
              text MEDIUMTEXT NOT NULL,
              has_file TINYINT(1) NOT NULL DEFAULT 0,
              has_link TINYINT(1) NOT NULL DEFAULT 0,
              deleted TINYINT(1) NOT NULL DEFAULT 0,
              created_at DATETIME(3) NOT NULL,
              version DATETIME(3) NOT NULL,
              KEY by_channel (channel_id, message_id),
              FULLTEXT KEY words (text)
            ) ENGINE=InnoDB
            """
        ])
    ]

    func upsert(_ message: IndexedMessage) async throws {
        // A copy older than the one stored, or one of a deleted message, changes nothing.
        try await database.execute(
            """
            INSERT INTO messages (message_id, channel_id, author_id, text, has_file, has_link, created_at, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE
              text = IF(deleted = 0 AND VALUES(version) >= version, VALUES(text), text),
              has_file = IF(deleted = 0 AND VALUES(version) >= version, VALUES(has_file), has_file),
              has_link = IF(deleted = 0 AND VALUES(version) >= version, VALUES(has_link), has_link),
              version = IF(deleted = 0 AND VALUES(version) >= version, VALUES(version), version)
            """,
            [
                .text(message.id), .text(message.channelId), .text(message.authorId), .text(message.text), .int(message.hasFile ? 1 : 0),
                .int(message.hasLink ? 1 : 0), .date(message.createdAt), .date(message.version),
            ])
    }

    func remove(_ messageId: String) async throws {
        // Kept as a tombstone without its text, so a late copy of the message cannot bring it back.
        try await database.execute(
            """
            INSERT INTO messages (message_id, channel_id, author_id, text, deleted, created_at, version) VALUES (?, '', '', '', 1, ?, ?)
            ON DUPLICATE KEY UPDATE deleted = 1, text = ''
            """, [.text(messageId), .date(Date()), .date(Date())])
    }

    /// `+word +pre* +"a phrase"` for the terms, and the same with `-` for exclusions:
    /// made only of folded letters and digits, so a query cannot speak the parser's syntax.
    static func booleanQuery(_ query: SearchQuery, excludedOnly: Bool = false) -> String {
        var parts: [String] = []
        if !excludedOnly {
            parts += query.words.map { "+" + $0 }
            parts += query.prefixes.map { "+" + $0 + "*" }
            parts += query.phrases.map { "+\"" + $0.joined(separator: " ") + "\"" }
        }
        let sign = excludedOnly ? "" : "-"
        parts += query.excludedWords.map { sign + $0 }
        parts += query.excludedPhrases.map { sign + "\"" + $0.joined(separator: " ") + "\"" }
        return parts.joined(separator: " ")
    }

    func search(_ request: EngineQuery) async throws -> EnginePage {
        let query = request.query
        func marks(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }
        var conditions = ["deleted = 0", "channel_id IN (\(marks(request.channelIds.count)))"]
        var values: [SQLValue] = request.channelIds.map(SQLValue.text)
        if let authors = request.authorIds {
            conditions.append("author_id IN (\(marks(authors.count)))")
            values += authors.map(SQLValue.text)
        }
        if let from = request.from {
            conditions.append("created_at >= ?")
            values.append(.date(from))
        }
        if let before = request.before {
            conditions.append("created_at < ?")
            values.append(.date(before))
        }
        if query.hasFile { conditions.append("has_file = 1") }
        if query.hasLink { conditions.append("has_link = 1") }
        if let cursor = request.cursor {
            conditions.append("message_id < ?")
            values.append(.text(cursor))
        }
        if query.hasTerms {
            conditions.append("MATCH(text) AGAINST(? IN BOOLEAN MODE)")
            values.append(.text(Self.booleanQuery(query)))
        } else if query.hasExclusions {
            // Boolean mode finds nothing from exclusions alone: match what is excluded, and keep the rest.
            conditions.append("NOT MATCH(text) AGAINST(? IN BOOLEAN MODE)")
            values.append(.text(Self.booleanQuery(query, excludedOnly: true)))
        }
        let rows = try await database.query(
            "SELECT message_id FROM messages WHERE \(conditions.joined(separator: " AND ")) ORDER BY message_id DESC LIMIT \(request.limit + 1)",
            values)
        let ids = rows.prefix(request.limit).compactMap { $0["message_id"].string }
        return EnginePage(ids: ids, nextCursor: rows.count > request.limit ? ids.last : nil)
    }
}
