import Foundation

/// Ids as the contract wants them: opaque, sorting by creation time.
///
/// A one-letter kind, the creation time in milliseconds (base 36, 9 digits) and
/// 8 random base-36 digits: `U0mhx1k2a9c4f7q1z`.
public enum IDs {
    /// A new id of `kind` (`U` user, `S` session, …).
    public static func make(_ kind: Character) -> String {
        let millis = UInt64(Date().timeIntervalSince1970 * 1000)
        let random = UInt64.random(in: 0..<(1 << 41))
        return String(kind) + pad(String(millis, radix: 36), 9) + pad(String(random, radix: 36), 8)
    }

    /// Whether `text` could be an id: 1–64 letters, digits, `_` and `-`.
    public static func isPlausible(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { $0 < 0x80 && (isalnum(Int32($0)) != 0 || $0 == 0x5F || $0 == 0x2D) }
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
