import Foundation
import QuikPluginKit
import QuikSDK

/// ``SearchEngine`` on an InnoDB FULLTEXT index in the plugin's own schema.
struct MariaDBSearchEngine: SearchEngine {
    let database: any PluginDatabase
    /// The newest candidates the recent-first scan reads before the query goes to the index (`scan_window`).
    var recentWindow = Self.defaultWindow

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

    static let defaultWindow = 3000

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

    /// The smallest message id made at or after `date`: ids start with a kind letter and the
    /// creation time in base-36 milliseconds, so a time range is an id range on the primary key.
    static func idBound(_ date: Date) -> String {
        let millis = String(UInt64(max(0, date.timeIntervalSince1970 * 1000)), radix: 36)
        return "M" + String(repeating: "0", count: max(0, 9 - millis.count)) + millis
    }

    func search(_ request: EngineQuery) async throws -> EnginePage {
        let query = request.query
        // Which messages may appear at all, on indexed columns: readable channels, the page and the date range.
        var scope = ["deleted = 0", "channel_id IN (\(sqlPlaceholders(request.channelIds.count)))"]
        var scopeValues: [SQLValue] = request.channelIds.map(SQLValue.text)
        if let cursor = request.cursor {
            scope.append("message_id < ?")
            scopeValues.append(.text(cursor))
        }
        if let from = request.from {
            scope.append("message_id >= ?")
            scopeValues.append(.text(Self.idBound(from)))
        }
        if let before = request.before {
            scope.append("message_id < ?")
            scopeValues.append(.text(Self.idBound(before)))
        }
        // The rest, checked row by row.
        var filters: [String] = []
        var filterValues: [SQLValue] = []
        if let authors = request.authorIds {
            filters.append("author_id IN (\(sqlPlaceholders(authors.count)))")
            filterValues += authors.map(SQLValue.text)
        }
        if let from = request.from {
            filters.append("created_at >= ?")
            filterValues.append(.date(from))
        }
        if let before = request.before {
            filters.append("created_at < ?")
            filterValues.append(.date(before))
        }
        if query.hasFile { filters.append("has_file = 1") }
        if query.hasLink { filters.append("has_link = 1") }

        if query.hasTerms || query.hasExclusions {
            // A frequent term matches a large part of the index, and the index hands back every match before any
            // is sorted: hundreds of milliseconds at a million messages. Such a term fills a page from the newest
            // few thousand messages in scope, so those are read first (one bounded scan); a term too rare for that
            // goes to the index.
            let (required, excluded) = Self.patterns(query)
            let conditions = filters + required.map { _ in "text REGEXP ?" } + excluded.map { _ in "text NOT REGEXP ?" }
            let index = request.channelIds.count == 1 ? "by_channel" : "PRIMARY"
            var window = recentWindow
            // At most twice: a term that matched some of the window but not a page gets a window its
            // frequency says is enough (up to five times the first), before it goes to the index.
            for _ in 0..<2 {
                let rows = try await database.query(
                    """
                    SELECT COUNT(*) AS window_rows,
                      SUBSTRING_INDEX(GROUP_CONCAT(IF(\(conditions.joined(separator: " AND ")), message_id, NULL) ORDER BY message_id DESC SEPARATOR ','),
                        ',', \(request.limit + 1)) AS hits
                    FROM (SELECT message_id, author_id, text, has_file, has_link, created_at FROM messages FORCE INDEX (\(index))
                      WHERE \(scope.joined(separator: " AND ")) ORDER BY message_id DESC LIMIT \(window)) AS recent
                    """,
                    filterValues + (required + excluded).map(SQLValue.text) + scopeValues)
                let windowRows = rows.first?["window_rows"].int ?? 0
                let hits = (rows.first?["hits"].string ?? "").split(separator: ",").map(String.init)
                // A full page, or everything in scope read: the answer.
                if hits.count > request.limit || windowRows < Int64(window) {
                    let ids = Array(hits.prefix(request.limit))
                    return EnginePage(ids: ids, nextCursor: hits.count > request.limit ? ids.last : nil)
                }
                let needed = hits.isEmpty ? Int.max : window * (request.limit + 1) / hits.count * 3 / 2
                guard needed <= recentWindow * 5, needed > window else { break }
                window = needed
            }
        }
        var conditions = scope + filters
        var values = scopeValues + filterValues
        if query.hasTerms {
            conditions.append("MATCH(text) AGAINST(? IN BOOLEAN MODE)")
            values.append(.text(Self.booleanQuery(query)))
        } else if query.hasExclusions {
            // Boolean mode finds nothing from exclusions alone: match what is excluded, and keep the rest.
            conditions.append("NOT MATCH(text) AGAINST(? IN BOOLEAN MODE)")
            values.append(.text(Self.booleanQuery(query, excludedOnly: true)))
        }
        let rows = try await database.query(
            "SELECT message_id FROM messages WHERE \(conditions.joined(separator: " AND ")) ORDER BY message_id DESC LIMIT \(request.limit + 1)", values)
        return page(rows, limit: request.limit)
    }

    private func page(_ rows: [SQLRow], limit: Int) -> EnginePage {
        let ids = rows.prefix(limit).compactMap { $0["message_id"].string }
        return EnginePage(ids: ids, nextCursor: rows.count > limit ? ids.last : nil)
    }
}
