import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

import QuikSupport

/// A realtime client for tests: collects every frame it receives and sends what it is told.
public final class RealtimeTestSocket: Sendable {
    private let inbox = Inbox()
    private let outgoing: AsyncStream<String>.Continuation
    /// The close code, once the socket is closed.
    public let closed: Closed

    /// Connects to the host's realtime socket. With `reading: false` the client never
    /// reads, as a stuck client would, so the server's sends back up.
    public init(port: Int, token: String?, reading: Bool = true) {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        outgoing = continuation
        let query = token.map { "?token=\($0)" } ?? ""
        var logger = Logger(label: "test-socket")
        logger.logLevel = .critical
        let inbox = self.inbox
        closed = Closed(task: Task {
            let close = try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/api/v1/realtime\(query)",
                configuration: .init(maxFrameSize: 1 << 22),
                logger: logger
            ) { inbound, outbound, _ in
                guard reading else {
                    try? await Task.sleep(for: .seconds(60))
                    return
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        if case .text(let text) = message { inbox.lines.withLock { $0.append(text) } }
                    }
                    group.cancelAll()
                }
            }
            return close.map { UInt16(webSocketErrorCode: $0.closeCode) }
        })
    }

    /// How a test waits for the close: bounded, so a close that never completes fails the
    /// test (cancelling the client) instead of hanging the run.
    public struct Closed: Sendable {
        let task: Task<UInt16?, any Error>

        /// The close code the client saw, within 15 s.
        public var value: UInt16? {
            get async throws {
                do {
                    return try await withDeadline(.seconds(15)) { try await task.value }
                } catch is DeadlineExceeded {
                    task.cancel()
                    throw HarnessFailure("the socket did not close within 15 s")
                }
            }
        }

        /// Stops the client.
        public func cancel() { task.cancel() }
    }

    /// Sends a text frame.
    public func send(_ text: String) { outgoing.yield(text) }

    /// Closes the socket normally (1000).
    public func close() { outgoing.finish() }

    /// Every frame so far, parsed.
    public var received: [[String: Any]] {
        inbox.lines.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits until a frame matches, and returns it.
    @discardableResult
    public func waitFor(
        _ description: String, timeout: Duration = .seconds(5), where match: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let frame = received.first(where: match) { return frame }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessFailure("no frame \(description) within \(timeout); got \(inbox.lines.withLock { $0 })")
    }

    /// Waits until `count` frames match, and returns them in arrival order.
    public func waitForCount(
        _ count: Int, timeout: Duration = .seconds(10), where match: ([String: Any]) -> Bool
    ) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let matching = received.filter(match)
            if matching.count >= count { return matching }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessFailure("fewer than \(count) matching frames within \(timeout): \(received.filter(match).count)")
    }
}

/// Frames received so far, shared with the socket's task.
private final class Inbox: Sendable {
    let lines = Mutex<[String]>([])
}
