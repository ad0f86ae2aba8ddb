import Foundation
import QuikSDK

/// A parsed search query (API.md, Search): terms for the engine, filters for the
/// plugin. Terms are folded (lower case) runs of letters and digits, so nothing a
/// user types reaches the engine's own syntax.
struct SearchQuery: Equatable, Sendable {
    /// Whole words that must all appear.
    var words: [String] = []
    /// Word starts that must all appear (`prefix*`).
    var prefixes: [String] = []
    /// Phrases that must appear, words adjacent and in order.
    var phrases: [[String]] = []
    /// Words and phrases that must not appear.
    var excludedWords: [String] = []
    var excludedPhrases: [[String]] = []
    /// `from:` values: `@<user_id>` or `@<display name>` (without the `@`).
    var from: [String] = []
    /// `in:` values: a channel id or name, without `#`.
    var channels: [String] = []
    var before: Day?
    var after: Day?
    var on: Day?
    var hasFile = false
    var hasLink = false
    /// Words dropped as too short or as stopwords.
    var ignored: [String] = []

    /// A calendar day, `YYYY-MM-DD`.
    struct Day: Equatable, Sendable {
        var year: Int
        var month: Int
        var day: Int
    }

    /// What the engine ignores: words under this many characters…
    static let minimumWordLength = 3
    /// …and InnoDB's default stopwords (`INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD`).
    static let stopwords: Set<String> = [
        "a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from", "how", "i", "in", "is", "it", "la", "of",
        "on", "or", "that", "the", "this", "to", "was", "what", "when", "where", "who", "will", "with", "und", "www",
    ]
    /// The longest query read, in code points.
    static let maximumLength = 1000

    var hasTerms: Bool { !words.isEmpty || !prefixes.isEmpty || !phrases.isEmpty }
    var hasExclusions: Bool { !excludedWords.isEmpty || !excludedPhrases.isEmpty }
    var hasFilters: Bool { !from.isEmpty || !channels.isEmpty || before != nil || after != nil || on != nil || hasFile || hasLink }
    /// Nothing left to search by: every word was ignored and there is no filter.
    var isVacant: Bool { !hasTerms && !hasExclusions && !hasFilters }

    /// Folded runs of letters, digits and `_` (what the engine indexes as words).
    static func parts(_ text: String) -> [String] {
        text.folding(options: [.caseInsensitive, .widthInsensitive], locale: nil).lowercased()
            .split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init)
    }

    static func isIgnored(_ word: String) -> Bool {
        word.count < minimumWordLength || stopwords.contains(word)
    }

    /// Parses `text`; a blank query, one too long or a malformed date is `validation_failed` naming `q`.
    static func parse(_ text: String) throws -> SearchQuery {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw PluginError(.validationFailed, "the query is empty", details: ["q": "is required"])
        }
        guard text.unicodeScalars.count <= maximumLength, !text.unicodeScalars.contains("\0") else {
            throw PluginError(.validationFailed, "the query is too long", details: ["q": "at most \(maximumLength) characters, no NUL"])
        }
        var query = SearchQuery()
        var scanner = Scanner(Array(text))
        while let token = scanner.next() {
            try query.add(token)
        }
        return query
    }

    private mutating func add(_ token: Scanner.Token) throws {
        if let (key, value) = token.operatorPair {
            switch key {
            case "from":
                let name = value.hasPrefix("@") ? String(value.dropFirst()) : value
                if !name.isEmpty { from.append(name) }
                return
            case "in":
                let name = value.hasPrefix("#") ? String(value.dropFirst()) : value
                if !name.isEmpty { channels.append(name) }
                return
            case "before", "after", "on":
                guard let day = Self.day(value) else {
                    throw PluginError(.validationFailed, "'\(key):' needs a date as YYYY-MM-DD", details: ["q": "bad date '\(value)'"])
                }
                switch key {
                case "before": before = day
                case "after": after = day
                default: on = day
                }
                return
            case "has" where ["file", "link"].contains(value.lowercased()):
                if value.lowercased() == "file" { hasFile = true } else { hasLink = true }
                return
            default:
                break  // An unknown `word:` is a plain word.
            }
        }
        let parts = Self.parts(token.text)
        if token.quoted {
            addPhrase(parts, excluded: token.negated)
            return
        }
        let prefix = token.text.hasSuffix("*") && parts.count >= 1
        if prefix {
            // The last run is a word start; one under the minimum length would match nearly everything.
            let start = parts[parts.count - 1]
            let rest = Array(parts.dropLast())
            if !rest.isEmpty { addPhrase(rest, excluded: token.negated) }
            if start.count < Self.minimumWordLength || token.negated {
                ignored.append(start)
            } else {
                prefixes.append(start)
            }
            return
        }
        if parts.count > 1 {
            addPhrase(parts, excluded: token.negated)
        } else if let word = parts.first {
            if Self.isIgnored(word) {
                ignored.append(word)
            } else if token.negated {
                excludedWords.append(word)
            } else {
                words.append(word)
            }
        }
    }

    /// A phrase of two words or more goes whole to the engine, short words and stopwords
    /// included: InnoDB keeps their positions, so `"to be or not"` finds that text alone.
    private mutating func addPhrase(_ parts: [String], excluded: Bool) {
        switch parts.count {
        case 0: return
        case 1:
            if Self.isIgnored(parts[0]) {
                ignored.append(parts[0])
            } else if excluded {
                excludedWords.append(parts[0])
            } else {
                words.append(parts[0])
            }
        default: if excluded { excludedPhrases.append(parts) } else { phrases.append(parts) }
        }
    }

    static func day(_ text: String) -> Day? {
        let pieces = text.split(separator: "-", omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].count == 4, pieces[1].count == 2, pieces[2].count == 2,
            let year = Int(pieces[0]), let month = Int(pieces[1]), let day = Int(pieces[2]),
            (1...12).contains(month), (1...31).contains(day), year >= 1970
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar) else { return nil }
        return Day(year: year, month: month, day: day)
    }

    /// The first instant of `day` in `zone`.
    static func start(of day: Day, in zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day)) ?? Date.distantPast
    }

    /// The date filters as an interval `[from, before)` in `zone`: `after:` and `before:` exclude their day.
    func interval(in zone: TimeZone) -> (from: Date?, before: Date?) {
        var from: Date?
        var until: Date?
        func nextDay(_ day: Day) -> Date { Self.start(of: day, in: zone).addingTimeInterval(36 * 3600).startOfDay(in: zone) }
        if let after { from = nextDay(after) }
        if let before { until = Self.start(of: before, in: zone) }
        if let on {
            let start = Self.start(of: on, in: zone)
            from = max(from ?? start, start)
            until = min(until ?? nextDay(on), nextDay(on))
        }
        return (from, until)
    }
}

extension Date {
    /// Midnight of this instant's day in `zone`.
    func startOfDay(in zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.startOfDay(for: self)
    }
}

/// Splits a query into tokens: words (with `*`), `"quoted phrases"` (an unclosed
/// quote runs to the end), `-` before either to exclude, and `key:value` operators
/// whose value may be quoted (`from:@"Ann Lee"`).
struct Scanner {
    struct Token {
        var text: String
        var quoted = false
        var negated = false

        /// `key:value` for an operator token (key lower-cased), else `nil`.
        var operatorPair: (String, String)? {
            guard !quoted, !negated, let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
            let key = text[..<colon].lowercased()
            guard ["from", "in", "before", "after", "on", "has"].contains(key) else { return nil }
            return (key, String(text[text.index(after: colon)...]))
        }
    }

    private let characters: [Character]
    private var index = 0

    init(_ characters: [Character]) {
        self.characters = characters
    }

    private func isSpace(_ character: Character) -> Bool { character.isWhitespace }

    private mutating func quoted() -> String {
        index += 1
        var text = ""
        while index < characters.count, characters[index] != "\"" {
            text.append(characters[index])
            index += 1
        }
        index += 1
        return text
    }

    mutating func next() -> Token? {
        while index < characters.count, isSpace(characters[index]) { index += 1 }
        guard index < characters.count else { return nil }
        var negated = false
        if characters[index] == "-", index + 1 < characters.count, !isSpace(characters[index + 1]) {
            negated = true
            index += 1
        }
        if characters[index] == "\"" {
            return Token(text: quoted(), quoted: true, negated: negated)
        }
        var text = ""
        while index < characters.count, !isSpace(characters[index]) {
            // An operator's value may be quoted: from:@"Ann Lee", in:"general".
            if characters[index] == "\"", text.hasSuffix(":") || text.hasSuffix(":@") || text.hasSuffix(":#") {
                text += quoted()
                break
            }
            text.append(characters[index])
            index += 1
        }
        return Token(text: text, negated: negated)
    }
}
