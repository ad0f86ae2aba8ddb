import Foundation
import QuikPluginKit

/// Recovery codes: 16 base32 characters in four groups, single use, stored hashed.
enum RecoveryCode {
    static func make() -> String {
        let text = Base32.encode(Secrets.bytes(10))
        return stride(from: 0, to: 16, by: 4).map { offset in
            String(text.dropFirst(offset).prefix(4))
        }.joined(separator: "-")
    }

    /// Upper-case, without dashes or spaces, as users type them back.
    static func normalize(_ code: String) -> String {
        code.uppercased().filter { $0 != "-" && !$0.isWhitespace }
    }
}
