import Foundation

/// The base64url of RFC 4648 §5 as Web Push uses it: written without padding,
/// read with or without padding and in either alphabet (subscriptions arrive both ways).
enum Base64URL {
    /// `bytes` as unpadded base64url.
    static func encode(_ bytes: some DataProtocol) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// The bytes `text` encodes, or nil when it is not base64 of either alphabet.
    static func decode(_ text: String) -> Data? {
        var body = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        // Padding is optional, but where present it must be right.
        let padding = body.reversed().prefix { $0 == "=" }.count
        body.removeLast(padding)
        guard padding <= 2, body.count % 4 != 1, !body.contains("=") else { return nil }
        if padding > 0, (body.count + padding) % 4 != 0 { return nil }
        body += String(repeating: "=", count: (4 - body.count % 4) % 4)
        return Data(base64Encoded: body)
    }
}
