import Crypto
import Foundation
import QuikPluginKit

/// Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits.
enum TOTP {
    static let period: TimeInterval = 30
    static let digits = 6

    /// The step a time falls in.
    static func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / period).rounded(.down))
    }

    /// The code for one step (RFC 4226 dynamic truncation).
    static func code(secret: [UInt8], step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let value =
            (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        let code = String(value % 1_000_000)
        return String(repeating: "0", count: digits - code.count) + code
    }

    /// The step `code` matches within one step either side of `date`, compared in constant time.
    static func matchingStep(_ code: String, secret: [UInt8], at date: Date) -> Int64? {
        let current = step(at: date)
        var found: Int64?
        for candidate in (current - 1)...(current + 1) {
            let expected = Array(self.code(secret: secret, step: candidate).utf8)
            if Secrets.constantTimeEquals(expected, Array(code.utf8)), found == nil { found = candidate }
        }
        return found
    }
}

/// RFC 4648 base32 without padding, as authenticator apps read TOTP secrets.
enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output = ""
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(Character(UnicodeScalar(alphabet[(buffer >> (bits - 5)) & 31])))
                bits -= 5
            }
        }
        if bits > 0 { output.append(Character(UnicodeScalar(alphabet[(buffer << (5 - bits)) & 31]))) }
        return output
    }

    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return output
    }
}
