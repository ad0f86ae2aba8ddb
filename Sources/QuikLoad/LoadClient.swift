import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// HTTP calls against the server under load.
struct LoadHTTP: Sendable {
    let base: String
    let client: HTTPClient

    struct Reply: Sendable {
        let status: Int
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    func send(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, token: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 22)
        return Reply(status: Int(response.status.code), body: Data(buffer: body))
    }

    func expect(_ status: Int, _ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, token: String? = nil) async throws -> [String: Any] {
        let reply = try await send(method, path, json: json, token: token)
        guard reply.status == status else { throw LoadError("\(method) \(path): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))") }
        return reply.json
    }
}

/// One realtime socket held open by the load generator: it hands every text
/// frame to `onText` and sends what it is given.
final class LoadSocket: Sendable {
    let ready: Task<Void, any Error>
    /// The `connection_id` of its hello, once ready.
    var connectionId: String {
        let text = helloText.value.withLock { $0 }
        return text.range(of: "\"connection_id\":\"").map { String(text[$0.upperBound...].prefix { $0 != "\"" }) } ?? ""
    }
    private let helloText: HelloText

    private final class HelloText: Sendable {
        let value = Mutex("")
    }
    private let outgoing: AsyncStream<String>.Continuation
    private let done: Task<Void, Never>

    init(url: String, token: String, onText: @escaping @Sendable (String) -> Void) {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        outgoing = continuation
        let (helloStream, hello) = AsyncStream.makeStream(of: Void.self)
        let helloText = HelloText()
        self.helloText = helloText
        var logger = Logger(label: "load-socket")
        logger.logLevel = .critical
        done = Task {
            _ = try? await WebSocketClient.connect(url: "\(url)?token=\(token)", configuration: .init(maxFrameSize: 1 << 20), logger: logger) {
                inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    var greeted = false
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        if !greeted {
                            greeted = true
                            helloText.value.withLock { $0 = text }
                            hello.yield()
                            hello.finish()
                            continue
                        }
                        onText(text)
                    }
                    group.cancelAll()
                }
            }
            hello.finish()
        }
        ready = Task {
            var iterator = helloStream.makeAsyncIterator()
            guard await iterator.next() != nil else { throw LoadError("a socket closed before its hello") }
        }
    }

    func send(_ text: String) { outgoing.yield(text) }

    func close() async {
        outgoing.finish()
        await done.value
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Percentiles of a sample, in milliseconds.
enum Percentile {
    static func of(_ samples: [Double], _ fraction: Double) -> Double {
        guard !samples.isEmpty else { return .nan }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.down)))]
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
