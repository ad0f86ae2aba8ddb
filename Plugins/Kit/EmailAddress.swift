import Foundation

/// The one form an email address takes everywhere: registration, sign-in, the
/// sign-in throttle, password resets and lookups all go through ``folded(_:)``,
/// so no two spellings of one address reach different counters or accounts.
public enum EmailAddress {
    /// Trimmed, compatibility-normalised (NFKC: full-width and other look-alike
    /// forms become their plain letters) and lower-cased. Total: any text folds,
    /// so an invalid address still has one key for throttling.
    public static func folded(_ raw: String?) -> String {
        (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCompatibilityMapping.lowercased()
    }

    /// The folded address when it is one QuikApp takes (``Checks/isEmail(_:)``: ASCII only), else `nil`.
    public static func normalized(_ raw: String?) -> String? {
        let email = folded(raw)
        return Checks.isEmail(email) ? email : nil
    }
}
