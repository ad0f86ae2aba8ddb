import Foundation

/// An ECDSA P-256 signature verifies as (r, s) and as (r, n − s), so one token
/// would have two spellings (and two entries in any cache keyed by it). Tokens are
/// issued with the low `s` only, and a token with the high one is refused.
package enum ES256Signature {
    /// Half the order n of P-256, big-endian.
    private static let halfOrder: [UInt8] = hex("7FFFFFFF800000007FFFFFFFFFFFFFFFDE737D56D38BCF4279DCE5617E3192A8")
    /// The order n of P-256, big-endian.
    private static let order: [UInt8] = hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")

    /// Whether the compact JWS's signature is 64 bytes with `s` ≤ n/2.
    package static func isCanonical(_ token: String) -> Bool {
        guard let signature = signature(of: token), signature.count == 64 else { return false }
        return !isGreater(Array(signature[32...]), than: halfOrder)
    }

    /// The same token with `s` replaced by n − `s` when `s` is high; both verify.
    package static func canonical(_ token: String) -> String {
        guard var signature = signature(of: token), signature.count == 64,
            isGreater(Array(signature[32...]), than: halfOrder), let dot = token.lastIndex(of: ".")
        else { return token }
        signature.replaceSubrange(32..., with: subtract(Array(signature[32...]), from: order))
        return String(token[...dot]) + base64URL(signature)
    }

    private static func signature(of token: String) -> [UInt8]? {
        guard let dot = token.lastIndex(of: ".") else { return nil }
        var text = token[token.index(after: dot)...].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text).map(Array.init)
    }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func isGreater(_ a: [UInt8], than b: [UInt8]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x > y }
        return false
    }

    /// `a` − `b` for 32-byte big-endian numbers with `a` ≥ `b`.
    private static func subtract(_ b: [UInt8], from a: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: a.count)
        var borrow = 0
        for index in stride(from: a.count - 1, through: 0, by: -1) {
            var difference = Int(a[index]) - Int(b[index]) - borrow
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 256 }
            result[index] = UInt8(difference)
        }
        return result
    }

    private static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}
