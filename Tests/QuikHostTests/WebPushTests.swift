import Crypto
import Foundation
import Testing
@testable import QuikWebPush

/// Web Push (RFC 8291 encryption, RFC 8292 VAPID): the RFC's own worked example byte for
/// byte, refused inputs, the VAPID token's contents and signature, and delivery to a push
/// service stand-in built on independent implementations (Python's http-ece and py-vapid).
@Suite("Web Push")
struct WebPushTests {
    /// RFC 8291 Appendix A.
    enum Appendix {
        static let plaintext = "When I grow up, I want to be a watermelon"
        static let serverPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
        static let serverPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
        static let receiverPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
        static let auth = "BTBZMqHH6r4Tts7J_aSIgg"
        static let salt = "DGv6ra1nlYgDCS1FRnbzlw"
        static let body =
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
    }

    static func bytes(_ base64url: String) throws -> Data {
        try #require(Base64URL.decode(base64url))
    }

    /// A valid subscription's keys (a fresh receiver key and auth secret).
    static func freshKeys() -> (p256dh: String, auth: String) {
        let receiver = P256.KeyAgreement.PrivateKey()
        return (Base64URL.encode(receiver.publicKey.x963Representation), Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }))
    }

    /// Asserts `body` throws a `WebPushError` about `field`, and returns it.
    @discardableResult
    static func refused(_ field: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> WebPushError? {
        do {
            try body()
            Issue.record("accepted; expected a WebPushError about \(field)", sourceLocation: sourceLocation)
        } catch let error as WebPushError {
            #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(field), sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("threw \(error), not a WebPushError", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// The three parts of a `vapid t=<JWT>, k=<key>` header, decoded.
    static func parse(_ authorization: String) throws -> (header: [String: Any], claims: [String: Any], signingInput: String, signature: Data, key: String) {
        let pattern = /^vapid t=([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/
        let match = try #require(authorization.wholeMatch(of: pattern), "header shape: \(authorization)")
        let header = try #require(try JSONSerialization.jsonObject(with: bytes(String(match.1))) as? [String: Any])
        let claims = try #require(try JSONSerialization.jsonObject(with: bytes(String(match.2))) as? [String: Any])
        return (header, claims, "\(match.1).\(match.2)", try bytes(String(match.3)), String(match.4))
    }

    @Test("RFC 8291 Appendix A: its server key, salt, receiver keys and auth secret encrypt its plaintext to exactly its body")
    func appendixA() throws {
        let serverKey = try P256.KeyAgreement.PrivateKey(rawRepresentation: Self.bytes(Appendix.serverPrivate))
        #expect(Base64URL.encode(serverKey.publicKey.x963Representation) == Appendix.serverPublic)
        let keys = try PushSubscriptionKeys(p256dh: Appendix.receiverPublic, auth: Appendix.auth)
        let body = try WebPush.encrypt(Data(Appendix.plaintext.utf8), to: keys, salt: Self.bytes(Appendix.salt), serverKey: serverKey)
        #expect(body == (try Self.bytes(Appendix.body)))
        #expect(Base64URL.encode(body) == Appendix.body)
        // Padded and standard-alphabet spellings of the same keys are the same keys.
        let padded = try PushSubscriptionKeys(p256dh: Appendix.receiverPublic + "=", auth: Appendix.auth + "==")
        let standard = try PushSubscriptionKeys(
            p256dh: Appendix.receiverPublic.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/"),
            auth: Appendix.auth.replacingOccurrences(of: "_", with: "/") + "==")
        for same in [padded, standard] {
            #expect(try WebPush.encrypt(Data(Appendix.plaintext.utf8), to: same, salt: Self.bytes(Appendix.salt), serverKey: serverKey) == body)
        }
    }

    @Test("every message gets a fresh salt and server key unless given; the body is salt, rs 4096, a 65-byte key id, then one record")
    func freshRandomness() throws {
        let fresh = Self.freshKeys()
        let keys = try PushSubscriptionKeys(p256dh: fresh.p256dh, auth: fresh.auth)
        let payload = Data("hello".utf8)
        let first = try WebPush.encrypt(payload, to: keys)
        let second = try WebPush.encrypt(payload, to: keys)
        #expect(first.count == 86 + payload.count + 1 + 16)
        #expect(first.prefix(16) != second.prefix(16), "salt")
        #expect(first[16..<21] == Data([0, 0, 0x10, 0, 65]), "rs = 4096, idlen = 65")
        #expect(first[21] == 0x04 && first[21..<86] != second[21..<86], "a fresh uncompressed server key")
        #expect(try WebPush.encrypt(Data(repeating: 7, count: WebPush.maximumPayloadSize), to: keys).count == 86 + 3993 + 1 + 16)
    }

    @Test("bad subscription keys and oversized payloads are refused, naming the field and never echoing key material")
    func refusals() throws {
        let good = try Self.bytes(Appendix.receiverPublic)
        // p256dh: too short, compressed, off the curve, not base64.
        let short = Self.refused("p256dh") { _ = try PushSubscriptionKeys(p256dh: Base64URL.encode(good.prefix(64)), auth: Appendix.auth) }
        #expect(short?.description.contains(Base64URL.encode(good.prefix(64))) == false)
        Self.refused("p256dh") { _ = try PushSubscriptionKeys(p256dh: Base64URL.encode(good.dropFirst()), auth: Appendix.auth) }
        Self.refused("p256dh") { _ = try PushSubscriptionKeys(p256dh: Base64URL.encode(good + [0]), auth: Appendix.auth) }
        var offCurve = good
        offCurve[64] ^= 0x01
        let off = Self.refused("p256dh") { _ = try PushSubscriptionKeys(p256dh: Base64URL.encode(offCurve), auth: Appendix.auth) }
        #expect(off?.message.contains("curve") == true)
        var compressed = good.prefix(33)
        compressed[compressed.startIndex] = 0x02
        Self.refused("p256dh") { _ = try PushSubscriptionKeys(p256dh: Base64URL.encode(compressed), auth: Appendix.auth) }
        Self.refused("p256dh") { _ = try PushSubscriptionKeys(p256dh: "not*base64!", auth: Appendix.auth) }
        Self.refused("p256dh") { _ = try PushSubscriptionKeys(p256dh: "", auth: Appendix.auth) }
        // auth: 15 and 17 bytes, junk, bad padding.
        Self.refused("auth") { _ = try PushSubscriptionKeys(p256dh: Appendix.receiverPublic, auth: Base64URL.encode(Data(count: 15))) }
        let long = Self.refused("auth") { _ = try PushSubscriptionKeys(p256dh: Appendix.receiverPublic, auth: Base64URL.encode(Data(count: 17))) }
        #expect(long?.message.contains("17") == true)
        Self.refused("auth") { _ = try PushSubscriptionKeys(p256dh: Appendix.receiverPublic, auth: "BTBZMqHH6r4Tts7J_aSIg$") }
        Self.refused("auth") { _ = try PushSubscriptionKeys(p256dh: Appendix.receiverPublic, auth: "BTBZMqHH6r4Tts7J_aSIgg=") }
        // The payload limit (RFC 8291 §4: 3993 bytes in one 4096-byte record), and the salt's size.
        let keys = try PushSubscriptionKeys(p256dh: Appendix.receiverPublic, auth: Appendix.auth)
        #expect(throws: Never.self) { _ = try WebPush.encrypt(Data(count: 3993), to: keys) }
        Self.refused("payload") { _ = try WebPush.encrypt(Data(count: 3994), to: keys) }
        Self.refused("salt") { _ = try WebPush.encrypt(Data("x".utf8), to: keys, salt: Data(count: 15)) }
        // A VAPID key of the wrong size, or zero (not a valid scalar).
        Self.refused("privateKey") { _ = try VAPIDKey(privateKey: Data(count: 31)) }
        Self.refused("privateKey") { _ = try VAPIDKey(privateKey: Data(count: 32)) }
    }

    @Test("a VAPID key survives a restart through its raw private key; its public key is the 65-byte point a browser takes")
    func vapidKeyRoundTrip() throws {
        let key = VAPIDKey()
        #expect(key.privateKey.count == 32)
        let point = try Self.bytes(key.publicKey)
        #expect(point.count == 65 && point.first == 0x04 && !key.publicKey.contains("="))
        let restored = try VAPIDKey(privateKey: key.privateKey)
        #expect(restored.publicKey == key.publicKey)
        #expect(VAPIDKey().publicKey != key.publicKey)
    }

    @Test("the VAPID header is vapid t=<ES256 JWT>, k=<key>: aud is the endpoint's origin, exp now + lifetime, sub the subject, and the raw r||s signature verifies with k")
    func vapidToken() throws {
        let key = VAPIDKey()
        let now = Date(timeIntervalSince1970: 1_700_000_000.75)
        let header = try WebPush.authorization(
            endpoint: "https://Push.Example.net/wpush/v2/abc?x=1#f", subject: "mailto:ops@quikapp.example", key: key, now: now)
        let parsed = try Self.parse(header)
        #expect(parsed.header["alg"] as? String == "ES256")
        #expect(parsed.header["typ"] as? String == "JWT")
        #expect(parsed.claims["aud"] as? String == "https://push.example.net")
        #expect(parsed.claims["exp"] as? Int == 1_700_000_000 + 12 * 3600)
        #expect(parsed.claims["sub"] as? String == "mailto:ops@quikapp.example")
        #expect(parsed.claims.count == 3)
        #expect(parsed.key == key.publicKey)
        #expect(parsed.signature.count == 64)
        let verifier = try P256.Signing.PublicKey(x963Representation: Self.bytes(parsed.key))
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: parsed.signature)
        #expect(verifier.isValidSignature(signature, for: Data(parsed.signingInput.utf8)))
        #expect(!verifier.isValidSignature(signature, for: Data((parsed.signingInput + "x").utf8)))
        #expect(!VAPIDKey().signingKey.publicKey.isValidSignature(signature, for: Data(parsed.signingInput.utf8)))

        // The origin keeps a non-default port and drops a default one; a lifetime up to 24 h is taken.
        let ported = try Self.parse(
            WebPush.authorization(endpoint: "http://127.0.0.1:8443/push/1", subject: "https://quikapp.example", key: key, lifetime: 24 * 3600, now: now))
        #expect(ported.claims["aud"] as? String == "http://127.0.0.1:8443")
        #expect(ported.claims["exp"] as? Int == 1_700_000_000 + 24 * 3600)
        #expect(try Self.parse(WebPush.authorization(endpoint: "https://fcm.example:443/x", subject: "mailto:a@b.example", key: key)).claims["aud"] as? String
            == "https://fcm.example")
        #expect(try Self.parse(WebPush.authorization(endpoint: "http://[::1]:9000/x", subject: "mailto:a@b.example", key: key)).claims["aud"] as? String
            == "http://[::1]:9000")

        // Refused: no origin, another scheme, a subject that is not mailto:/https:, a lifetime past 24 h or not positive.
        for endpoint in ["", "push/abc", "ftp://push.example/x", "https:///x"] {
            Self.refused("endpoint") { _ = try WebPush.authorization(endpoint: endpoint, subject: "mailto:a@b.example", key: key) }
        }
        for subject in ["", "ops@quikapp.example", "http://quikapp.example", "mailto:"] {
            Self.refused("subject") { _ = try WebPush.authorization(endpoint: "https://push.example/x", subject: subject, key: key) }
        }
        for lifetime in [24 * 3600 + 1, 0, -60] as [TimeInterval] {
            Self.refused("lifetime") {
                _ = try WebPush.authorization(endpoint: "https://push.example/x", subject: "mailto:a@b.example", key: key, lifetime: lifetime)
            }
        }
    }

    @Test("interop: an independent push service (http-ece, py-vapid) decrypts what encrypt sent, byte for byte, and accepts the VAPID header; a tampered body is refused with 400")
    func interop() async throws {
        let receiver = try WebPushReceiver.start()
        defer { receiver.stop() }
        let key = VAPIDKey()
        let subscription = try await receiver.subscribe(applicationServerKey: key.publicKey)
        #expect(subscription.endpoint.hasPrefix(receiver.origin + "/push/"))
        let keys = try PushSubscriptionKeys(p256dh: subscription.p256dh, auth: subscription.auth)
        let authorization = try WebPush.authorization(endpoint: subscription.endpoint, subject: "mailto:ops@quikapp.example", key: key)

        let text = #"{"title":"Ada in #general","body":"Grüße — 🍉 \"quoted\""}"#
        let delivered = try await receiver.push(to: subscription.endpoint, body: WebPush.encrypt(Data(text.utf8), to: keys), authorization: authorization)
        #expect(delivered.status == 201, "\(delivered.reason)")
        // The largest payload, every byte value, arrives whole.
        let largest = Data((0..<WebPush.maximumPayloadSize).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let big = try await receiver.push(to: subscription.endpoint, body: WebPush.encrypt(largest, to: keys), authorization: authorization)
        #expect(big.status == 201, "\(big.reason)")

        var tampered = try WebPush.encrypt(Data("tampered".utf8), to: keys)
        tampered[tampered.count - 20] ^= 0x01
        let refused = try await receiver.push(to: subscription.endpoint, body: tampered, authorization: authorization)
        #expect(refused.status == 400)
        #expect(refused.reason.contains("decryption failed"))
        // Encrypted to another subscription's keys: the same refusal.
        let other = Self.freshKeys()
        let misaddressed = try WebPush.encrypt(Data("x".utf8), to: PushSubscriptionKeys(p256dh: other.p256dh, auth: other.auth))
        #expect(try await receiver.push(to: subscription.endpoint, body: misaddressed, authorization: authorization).status == 400)

        let received = try await receiver.received(subscription.endpoint)
        #expect(received.payloads.first == text)
        #expect(received.bytes == [Data(text.utf8), largest])
        #expect(received.rejected == 2)

        // stop() ends the server at once, not only when the test process exits.
        receiver.stop()
        let deadline = ContinuousClock.now + .seconds(5)
        var answering = true
        while answering, ContinuousClock.now < deadline {
            answering = (try? await receiver.received(subscription.endpoint)) != nil
            if answering { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!answering, "the receiver still answers after stop()")
    }

    @Test("interop: the push service refuses VAPID for another origin (401), an expired token (401) and another key than the subscription's (403); a gone subscription answers 410")
    func interopRefusals() async throws {
        let receiver = try WebPushReceiver.start()
        defer { receiver.stop() }
        let key = VAPIDKey()
        let subscription = try await receiver.subscribe(applicationServerKey: key.publicKey)
        let body = try WebPush.encrypt(Data("hi".utf8), to: PushSubscriptionKeys(p256dh: subscription.p256dh, auth: subscription.auth))
        let subject = "https://quikapp.example"

        let otherOrigin = try WebPush.authorization(endpoint: "http://127.0.0.1:\(receiver.port + 1)/push/x", subject: subject, key: key)
        let wrongAudience = try await receiver.push(to: subscription.endpoint, body: body, authorization: otherOrigin)
        #expect(wrongAudience.status == 401 && wrongAudience.reason.contains("aud"), "\(wrongAudience)")
        let expired = try WebPush.authorization(endpoint: subscription.endpoint, subject: subject, key: key, lifetime: 60, now: Date().addingTimeInterval(-120))
        let late = try await receiver.push(to: subscription.endpoint, body: body, authorization: expired)
        #expect(late.status == 401 && late.reason.contains("exp"), "\(late)")
        let stranger = try WebPush.authorization(endpoint: subscription.endpoint, subject: subject, key: VAPIDKey())
        #expect(try await receiver.push(to: subscription.endpoint, body: body, authorization: stranger).status == 403)
        // A signature made by one key presented with another's k does not verify.
        let good = try WebPush.authorization(endpoint: subscription.endpoint, subject: subject, key: key)
        let swapped = good.replacingOccurrences(of: key.publicKey, with: VAPIDKey().publicKey)
        #expect(try await receiver.push(to: subscription.endpoint, body: body, authorization: swapped).status == 401)
        #expect(try await receiver.push(to: subscription.endpoint, body: body, authorization: good).status == 201)

        try await receiver.gone(subscription.endpoint)
        #expect(try await receiver.push(to: subscription.endpoint, body: body, authorization: good).status == 410)
        let received = try await receiver.received(subscription.endpoint)
        #expect(received.payloads == ["hi"])
        #expect(received.rejected == 4)
    }
}
