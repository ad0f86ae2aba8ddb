import Crypto
import Foundation

/// A browser subscription's keys (`PushSubscription.toJSON().keys`), checked.
public struct PushSubscriptionKeys: Sendable {
    /// The browser's ECDH public key (`p256dh`).
    let publicKey: P256.KeyAgreement.PublicKey
    /// The 16-byte authentication secret (`auth`).
    let authSecret: Data

    /// `p256dh`: base64url of a 65-byte uncompressed P-256 point that is on the curve;
    /// `auth`: base64url of exactly 16 bytes. Padded or unpadded base64url is taken, and so
    /// is the standard base64 alphabet. Throws `WebPushError` otherwise.
    public init(p256dh: String, auth: String) throws {
        guard let point = Base64URL.decode(p256dh) else {
            throw WebPushError(field: "p256dh", message: "is not base64url")
        }
        guard point.count == 65, point.first == 0x04 else {
            throw WebPushError(field: "p256dh", message: "must be a 65-byte uncompressed P-256 point (0x04, x, y), got \(point.count) bytes")
        }
        guard let key = try? P256.KeyAgreement.PublicKey(x963Representation: point) else {
            throw WebPushError(field: "p256dh", message: "is not a point on the P-256 curve")
        }
        guard let secret = Base64URL.decode(auth) else {
            throw WebPushError(field: "auth", message: "is not base64url")
        }
        guard secret.count == 16 else {
            throw WebPushError(field: "auth", message: "must be 16 bytes, got \(secret.count)")
        }
        publicKey = key
        authSecret = secret
    }
}
