/// Web Push for application servers: the encrypted body (RFC 8291) and the VAPID
/// `Authorization` header (RFC 8292) of a push message sent to a subscription's
/// endpoint (RFC 8030) with `Content-Encoding: aes128gcm` and a `TTL` header.
public enum WebPush {
    /// The most payload bytes one push carries: a 4096-byte record less the 86-byte
    /// header, the 16-byte tag and the padding delimiter (RFC 8291 §4).
    public static let maximumPayloadSize = 3993

    /// The record size written in the body's header (RFC 8188 `rs`).
    static let recordSize: UInt32 = 4096
}
