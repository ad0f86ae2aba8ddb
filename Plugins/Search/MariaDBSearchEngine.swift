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

    /// The newest candidates the recent-first scan reads before the query goes to the index.
    static let recentWindow = 3000

    /// Latin letters and the accented forms the schema's collation (`utf8mb4_unicode_ci`) takes
    /// as equal to them, so the recent-first scan matches what the index would.
    static let accents: [Character: String] = [
        "a": "aàáâãäåāăą", "c": "cçćĉċč", "e": "eèéêëēĕėęě", "i": "iìíîïĩīĭįı", "n": "nñńņňŉ", "o": "oòóôõöøōŏő",
        "u": "uùúûüũūŭůűų", "y": "yýÿŷ", "s": "sśŝşš", "z": "zźżž", "g": "gĝğġģ", "l": "lĺļľŀł", "r": "rŕŗř", "d": "dďđ", "t": "tţťŧ",
    ]

    /// `text` (folded, letters, digits and `_` only) as a pattern that ignores accents.
    static func accentFree(_ text: String) -> String {
        text.folding(options: [.diacriticInsensitive], locale: nil).map { letter in
            accents[letter].map { "[\($0)]" } ?? String(letter)
        }.joined()
    }

    /// A query's terms as regular expressions over the text (whole words, word starts, adjacent
    /// words), for the recent-first scan. Terms are letters, digits and `_` only, so they need no escaping.
    static func patterns(_ query: SearchQuery) -> (required: [String], excluded: [String]) {
        let edge = "[\\p{L}\\p{N}_]"
        func word(_ text: String) -> String { "(?i)(?<!\(edge))\(accentFree(text))(?!\(edge))" }
        func phrase(_ words: [String]) -> String {
            "(?i)(?<!\(edge))" + words.map(accentFree).joined(separator: "[^\\p{L}\\p{N}_]+") + "(?!\(edge))"
        }
        let required = query.words.map(word) + query.prefixes.map { "(?i)(?<!\(edge))\(accentFree($0))" } + query.phrases.map(phrase)
        let excluded = query.excludedWords.map(word) + query.excludedPhrases.map(phrase)
        return (required, excluded)
    }

    func search(_ request: EngineQuery) async throws -> EnginePage {
        let query = request.query
        func marks(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }
        // What every strategy filters on, through indexed columns.
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
        let filters = conditions.joined(separator: " AND ")

        if query.hasTerms || query.hasExclusions {
            // A frequent term matches a large part of the index, and the index hands back every match before
            // any is sorted: hundreds of milliseconds at a million messages. Such a term fills a page from the
            // newest few thousand messages, so those are read first; only a term too rare for that goes to the index.
            let (required, excluded) = Self.patterns(query)
            let textConditions = required.map { _ in "text REGEXP ?" } + excluded.map { _ in "text NOT REGEXP ?" }
            let rows = try await database.query(
                """
                SELECT message_id, (SELECT COUNT(*) FROM (SELECT 1 FROM messages FORCE INDEX (PRIMARY) WHERE \(filters)
                  ORDER BY message_id DESC LIMIT \(Self.recentWindow)) AS w) AS window_rows
                FROM (SELECT message_id, text FROM messages FORCE INDEX (PRIMARY) WHERE \(filters)
                  ORDER BY message_id DESC LIMIT \(Self.recentWindow)) AS recent
                WHERE \(textConditions.joined(separator: " AND "))
                ORDER BY message_id DESC LIMIT \(request.limit + 1)
                """,
                values + values + (required + excluded).map(SQLValue.text))
            let windowFull = (rows.first?["window_rows"].int ?? 0) >= Int64(Self.recentWindow)
            if rows.count > request.limit || (!rows.isEmpty && !windowFull) {
                return page(rows, limit: request.limit)
            }
            if rows.isEmpty {
                // Nothing in the window: was the window everything there is?
                let seen = try await database.query(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM messages FORCE INDEX (PRIMARY) WHERE \(filters) ORDER BY message_id DESC LIMIT \(Self.recentWindow)) AS w",
                    values)
                if (seen.first?["n"].int ?? 0) < Int64(Self.recentWindow) { return EnginePage(ids: [], nextCursor: nil) }
            }
        }
        var matched = filters
        var matchValues = values
        if query.hasTerms {
            matched += " AND MATCH(text) AGAINST(? IN BOOLEAN MODE)"
            matchValues.append(.text(Self.booleanQuery(query)))
        } else if query.hasExclusions {
            // Boolean mode finds nothing from exclusions alone: match what is excluded, and keep the rest.
            matched += " AND NOT MATCH(text) AGAINST(? IN BOOLEAN MODE)"
            matchValues.append(.text(Self.booleanQuery(query, excludedOnly: true)))
        }
        let rows = try await database.query(
            "SELECT message_id FROM messages WHERE \(matched) ORDER BY message_id DESC LIMIT \(request.limit + 1)", matchValues)
        return page(rows, limit: request.limit)
    }

    private func page(_ rows: [SQLRow], limit: Int) -> EnginePage {
        let ids = rows.prefix(limit).compactMap { $0["message_id"].string }
        return EnginePage(ids: ids, nextCursor: rows.count > limit ? ids.last : nil)
    }
}
