/// The placeholders of an `IN` list of `count` values, such as `?, ?, ?` (values never enter SQL text).
public func sqlPlaceholders(_ count: Int) -> String {
    Array(repeating: "?", count: count).joined(separator: ", ")
}

/// `text` with LIKE's wildcards (and its escape character) escaped, for a pattern bound as a value.
public func sqlLikeEscaped(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
}
