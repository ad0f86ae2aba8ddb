import Crypto
import Foundation
import QuikPluginKit
import QuikSDK
import QuikWebPush

/// The plugin's own secrets, made on first start and kept in its schema, so every
/// host of a cluster uses the same: the VAPID key, the unsubscribe-link key, the server id.
struct ServerKeys: Sendable {
    let vapid: VAPIDKey
    let unsubscribe: SymmetricKey
    let serverId: String

    static func load(_ database: any PluginDatabase) async throws -> ServerKeys {
        // Whoever inserts first wins; everyone then reads the same values.
        let fresh: [(String, String)] = [
            ("vapid_private_key", VAPIDKey().privateKey.base64EncodedString()),
            ("unsubscribe_key", Data(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }).base64EncodedString()),
            ("server_id", IDs.make("H")),
        ]
        for (name, value) in fresh {
            try await database.execute("INSERT IGNORE INTO server_keys (name, value) VALUES (?, ?)", [.text(name), .text(value)])
        }
        var stored: [String: String] = [:]
        for row in try await database.query("SELECT name, value FROM server_keys") {
            if let name = row["name"].string { stored[name] = row["value"].string }
        }
        guard let vapidRaw = stored["vapid_private_key"].flatMap({ Data(base64Encoded: $0) }),
            let unsubscribeRaw = stored["unsubscribe_key"].flatMap({ Data(base64Encoded: $0) }), let serverId = stored["server_id"]
        else { throw PluginError(.internalError, "the notifications plugin's keys are unreadable") }
        return ServerKeys(vapid: try VAPIDKey(privateKey: vapidRaw), unsubscribe: SymmetricKey(data: unsubscribeRaw), serverId: serverId)
    }

    /// The signature of an unsubscribe link for `userId` (base64url).
    func unsubscribeSignature(_ userId: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("unsubscribe:\(userId)".utf8), using: unsubscribe)
        return Data(code).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `signature` is this user's, compared in constant time.
    func checkUnsubscribe(_ userId: String, _ signature: String) -> Bool {
        let expected = Array(unsubscribeSignature(userId).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
