import Foundation

/// What user search compares: text folded for case, accents and width, so that
/// "lovelace" finds "Ada Lovelace" and "zoe" finds "Zoë".
enum SearchKey {
    /// Folded text: lowercased, without diacritics, full-width forms narrowed.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil).lowercased()
    }

    /// The folded words of `text`, split at anything that is not a letter or a digit.
    static func words(_ text: String) -> [String] {
        fold(text).split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    /// The stored form of a display name: each folded word after a space (" ada lovelace"),
    /// so that `LIKE '% love%'` finds a word starting with "love".
    static func nameWords(_ displayName: String) -> String {
        String(words(displayName).map { " " + $0 }.joined().prefix(400))
    }

    /// The folded local part of an email address (before the last `@`).
    static func emailLocal(_ email: String) -> String {
        let local = email.lastIndex(of: "@").map { String(email[..<$0]) } ?? email
        return String(fold(local).prefix(254))
    }
}
