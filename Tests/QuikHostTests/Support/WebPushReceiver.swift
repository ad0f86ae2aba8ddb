import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// A push service stand-in for tests: `Tests/Clients/webpush_receiver.py` in the venv
/// (http-ece decrypts, py-vapid verifies VAPID), one process per receiver, run through
/// `with_parent.py` so it ends with the test run. Subscriptions come back in a browser's
/// `PushSubscription.toJSON()` shape; pushes to an endpoint are checked and decrypted there.
final class WebPushReceiver: Sendable {
    /// Its port on 127.0.0.1; endpoints are `http://127.0.0.1:<port>/push/<id>`.
    let port: Int
    /// Its log: `listening <port>`, then `<method> <path> <status> <reason>` per request.
    let log: String
    /// The server process (not its watchdog).
    private let pid: Int32
    private let stopped = Mutex(false)

    /// What one subscription has received.
    struct Received: Sendable {
        /// Each delivered plaintext as UTF-8 text (invalid bytes replaced).
        var payloads: [String]
        /// Each delivered plaintext, byte for byte.
        var bytes: [Data]
        /// Pushes refused with 400, 401 or 403.
        var rejected: Int
    }

    private init(port: Int, log: String, pid: Int32) {
        self.port = port
        self.log = log
        self.pid = pid
    }

    /// Starts a receiver and waits for its port.
    static func start() throws -> WebPushReceiver {
        let log = try Fixtures.temporaryDirectory() + "/webpush.log"
        // "<port> <pid>": the server's own pid, since a SIGTERM to the watchdog may wait
        // (a test process can hand its children SIGTERM blocked); the server unblocks it.
        let (_, text) = try PythonServer.start("webpush_receiver.py", [log], what: "the Web Push receiver (are http-ece and py-vapid in the venv?)")
        let fields = text.compactMap { Int32($0) }
        guard fields.count == 2, fields[0] > 0, fields[1] > 0 else { throw TestFailure("the Web Push receiver did not say its port and pid") }
        return WebPushReceiver(port: Int(fields[0]), log: log, pid: fields[1])
    }

    /// Stops the receiver at once; its watchdog (`with_parent.py`) then ends too.
    func stop() {
        guard !stopped.withLock({ was in defer { was = true }; return was }) else { return }
        kill(pid, SIGTERM)
    }

    /// The receiver's own origin, the `aud` a VAPID token for its endpoints must carry.
    var origin: String { "http://127.0.0.1:\(port)" }

    /// A new subscription, as a browser's `PushSubscription.toJSON()` gives it. With
    /// `applicationServerKey` (a VAPID public key), pushes signed by another key answer 403.
    func subscribe(applicationServerKey: String? = nil) async throws -> (endpoint: String, p256dh: String, auth: String) {
        let body = applicationServerKey.map { try? JSONSerialization.data(withJSONObject: ["applicationServerKey": $0]) } ?? nil
        let (status, data) = try await request("POST", "/subscriptions", body: body ?? Data())
        guard status == 201, let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let endpoint = json["endpoint"] as? String, let keys = json["keys"] as? [String: Any],
            let p256dh = keys["p256dh"] as? String, let auth = keys["auth"] as? String
        else { throw TestFailure("subscribe answered \(status): \(String(decoding: data, as: UTF8.self))") }
        return (endpoint, p256dh, auth)
    }

    /// What the subscription `id` (its id, or its whole endpoint) has received so far.
    func received(_ id: String) async throws -> Received {
        let (status, data) = try await request("GET", "/received/\(Self.id(id))")
        guard status == 200, let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let payloads = json["payloads"] as? [String], let encoded = json["payloads_base64"] as? [String],
            let rejected = json["rejected"] as? Int
        else { throw TestFailure("received answered \(status): \(String(decoding: data, as: UTF8.self))") }
        let bytes = try encoded.map { text in
            var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            guard let data = Data(base64Encoded: base64) else { throw TestFailure("bad base64 from the receiver") }
            return data
        }
        return Received(payloads: payloads, bytes: bytes, rejected: rejected)
    }

    /// Marks the subscription `id` (its id, or its whole endpoint) gone: later pushes to it answer 410.
    func gone(_ id: String) async throws {
        let (status, data) = try await request("POST", "/subscriptions/\(Self.id(id))/gone")
        guard status == 204 else { throw TestFailure("gone answered \(status): \(String(decoding: data, as: UTF8.self))") }
    }

    /// Sends a push as a push service's client would (RFC 8030 §5): the body with `TTL`,
    /// `Content-Encoding: aes128gcm` and `Authorization`; the status and the reason in the answer.
    func push(to endpoint: String, body: Data, authorization: String, ttl: Int = 60) async throws -> (status: Int, reason: String) {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "TTL", value: "\(ttl)")
        request.headers.add(name: "Content-Encoding", value: "aes128gcm")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "Authorization", value: authorization)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: answer))
    }

    /// The id at the end of an endpoint, or `text` itself when it is an id.
    static func id(_ text: String) -> String {
        text.split(separator: "/").last.map(String.init) ?? text
    }

    private func request(_ method: String, _ path: String, body: Data = Data()) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: origin + path)
        request.method = .init(rawValue: method)
        if !body.isEmpty {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(answer.readableBytesView))
    }
}
