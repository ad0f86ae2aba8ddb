import Foundation

/// The words of a message's text that a query matched, as written there.
enum Highlighter {
    static func highlights(_ text: String, for query: SearchQuery) -> [String] {
        let words = Set(query.words + query.phrases.flatMap { $0 })
        guard !words.isEmpty || !query.prefixes.isEmpty else { return [] }
        var seen = Set<String>()
        var found: [String] = []
        for written in text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
            guard let folded = SearchQuery.parts(String(written)).first else { continue }
            let matches = words.contains(folded) || query.prefixes.contains { folded.hasPrefix($0) }
            if matches, seen.insert(String(written)).inserted { found.append(String(written)) }
        }
        return found
    }
}
