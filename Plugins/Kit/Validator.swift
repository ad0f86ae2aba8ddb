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

    /// Records a problem when `text` is longer than `maximum` Unicode code points (the
    /// contract's unit: a grapheme count lets a letter carry endless combining marks)
    /// or holds NUL. `nil` passes.
    public mutating func check(_ text: String?, _ field: String, atMost maximum: Int) {
        guard let text else { return }
        check(!text.unicodeScalars.contains("\u{0}"), field, "must not contain NUL")
        check(text.unicodeScalars.count <= maximum, field, "must be at most \(maximum) characters")
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
        text.utf8.count <= 254 && text.wholeMatch(of: emailForm) != nil
    }

    /// The addresses QuikApp takes, in ASCII: a local part of 1–64 RFC 5322 atoms and dots,
    /// then two or more DNS labels. Anything else (full-width or other look-alike characters
    /// included) is refused rather than guessed at. ``emailPattern`` is the same rule for OpenAPI.
    public static let emailPattern = #"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"#
    nonisolated(unsafe) private static let emailForm = try! Regex(emailPattern)

    /// JSON Schema for text fields: anything but NUL, which ``Validator/check(_:_:atMost:)`` refuses.
    /// The characters themselves, not `\u` escapes, which not every validator reads.
    public static let textPattern = "^[^\u{0}]*$"
    /// ``textPattern`` with at least one character that ``trimmed(_:)`` keeps: not white space
    /// (`\s`) nor U+0085, which Foundation also trims.
    public static let notBlankPattern = "^[^\u{0}]*[^\\s\u{85}\u{0}][^\u{0}]*$"

    /// Trims surrounding whitespace.
    public static func trimmed(_ text: String?) -> String? {
        text?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
