import Crypto
import Foundation

/// A VAPID signing key (P-256, RFC 8292), kept by the server and reused across restarts:
/// browsers tie each subscription to the public key it was made with.
public struct VAPIDKey: Sendable {
    /// The ES256 signing key.
    let signingKey: P256.Signing.PrivateKey

    /// A new random key.
    public init() {
        signingKey = P256.Signing.PrivateKey()
    }

    /// The key stored as `privateKey` (its 32-byte raw scalar). Throws `WebPushError`
    /// when `raw` is not 32 bytes or not a valid P-256 scalar.
    public init(privateKey raw: Data) throws {
        guard raw.count == 32 else {
            throw WebPushError(field: "privateKey", message: "must be 32 bytes, got \(raw.count)")
        }
        guard let key = try? P256.Signing.PrivateKey(rawRepresentation: raw) else {
            throw WebPushError(field: "privateKey", message: "is not a valid P-256 private key")
        }
        signingKey = key
    }

    /// The raw 32-byte private scalar, to store.
    public var privateKey: Data { signingKey.rawRepresentation }

    /// The unpadded base64url of the 65-byte uncompressed public point: what a browser's
    /// `PushManager.subscribe` takes as `applicationServerKey`, and the `k` of the header.
    public var publicKey: String { Base64URL.encode(signingKey.publicKey.x963Representation) }
}
