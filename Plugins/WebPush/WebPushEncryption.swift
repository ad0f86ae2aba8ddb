import Crypto
import Foundation

extension WebPush {
    /// The `aes128gcm` body (RFC 8291 §4, one record, RFC 8188 content coding) for `payload`
    /// (at most `maximumPayloadSize` bytes, else `WebPushError`) to that subscription.
    /// `salt` (16 bytes) and `serverKey` (the ephemeral ECDH key) default to fresh random
    /// ones, as every real message needs; tests pass fixed ones.
    public static func encrypt(
        _ payload: Data, to keys: PushSubscriptionKeys, salt: Data? = nil, serverKey: P256.KeyAgreement.PrivateKey? = nil
    ) throws -> Data {
        guard payload.count <= maximumPayloadSize else {
            throw WebPushError(field: "payload", message: "is \(payload.count) bytes, at most \(maximumPayloadSize) fit in one push")
        }
        let salt = salt ?? randomSalt()
        guard salt.count == 16 else {
            throw WebPushError(field: "salt", message: "must be 16 bytes, got \(salt.count)")
        }
        let serverKey = serverKey ?? P256.KeyAgreement.PrivateKey()
        let receiverPoint = keys.publicKey.x963Representation
        let senderPoint = serverKey.publicKey.x963Representation

        // RFC 8291 §3.4: the ECDH secret, keyed by the auth secret, gives the input keying material.
        let shared = try serverKey.sharedSecretFromKeyAgreement(with: keys.publicKey)
        let keyInfo = Data("WebPush: info".utf8) + [0] + receiverPoint + senderPoint
        let inputKey = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: keys.authSecret, sharedInfo: keyInfo, outputByteCount: 32)

        // RFC 8188 §2.2, 2.3: content-encryption key and nonce from the salt.
        let contentKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: inputKey, salt: salt, info: Data("Content-Encoding: aes128gcm".utf8) + [0], outputByteCount: 16)
        let nonceKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: inputKey, salt: salt, info: Data("Content-Encoding: nonce".utf8) + [0], outputByteCount: 12)
        // One record, sequence number 0: the nonce is used as derived.
        let nonce = try AES.GCM.Nonce(data: nonceKey.withUnsafeBytes { Data($0) })
        // The last (only) record ends with the delimiter 0x02 and no padding.
        let sealed = try AES.GCM.seal(payload + [2], using: contentKey, nonce: nonce)

        var body = Data(capacity: 86 + payload.count + 17)
        body.append(salt)
        withUnsafeBytes(of: recordSize.bigEndian) { body.append(contentsOf: $0) }
        body.append(UInt8(senderPoint.count))
        body.append(senderPoint)
        body.append(sealed.ciphertext)
        body.append(sealed.tag)
        return body
    }

    /// 16 random bytes.
    private static func randomSalt() -> Data {
        SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
    }
}
