import QuikSDK

/// Collects field problems and throws one `validation_failed` naming them all.
public struct Validator {
    private var problems: [String: String] = [:]

    /// Starts with no problems.
    public init() {}

    /// Records `problem` for `field` unless `condition` holds.
    public mutating func check(_ condition: Bool, _ field: String, _ problem: String) {
        if !condition, problems[field] == nil { problems[field] = problem }
    }

    /// Throws `validation_failed` with every recorded problem in `details`.
    public func finish() throws {
        guard !problems.isEmpty else { return }
        let summary = problems.keys.sorted().map { "\($0): \(problems[$0]!)" }.joined(separator: "; ")
        throw PluginError(.validationFailed, summary, details: problems)
    }
}

/// Checks shared by several plugins.
public enum Checks {
    /// A plausible email: one `@`, a dotted domain, no spaces, at most 254 characters.
    public static func isEmail(_ text: String) -> Bool {
        guard text.count <= 254, !text.contains(where: { $0.isWhitespace || $0.isNewline }) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
    }

    /// Trims surrounding whitespace.
    public static func trimmed(_ text: String?) -> String? {
        text?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
