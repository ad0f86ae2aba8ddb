import Foundation
import QuikSDK
import Synchronization

/// One open realtime socket: who owns it and its bounded send queue.
final class RealtimeConnection: Sendable {
    enum Outbound: Sendable {
        /// An event; the writer numbers it with the connection's next `seq`.
        case event(topicJSON: String, data: String)
        /// A reply frame, already encoded.
        case frame(String)
        /// A heartbeat (an unsolicited WebSocket pong, which needs no answer): writing
        /// it is how a peer that vanished without closing is found out.
        case heartbeat
    }

    /// Why the server closed the socket.
    enum CloseReason: Sendable {
        case slowConsumer
        case shutdown
        /// The user was deactivated.
        case revoked
    }

    let id: String
    let principal: Principal
    let outbox: AsyncStream<Outbound>
    private let continuation: AsyncStream<Outbound>.Continuation
    private let closeReason = Mutex<CloseReason?>(nil)
    /// Runs once when the server decides to close the socket (set by the gateway).
    private let closer = Mutex<(@Sendable (CloseReason) -> Void)?>(nil)

    init(id: String, principal: Principal, capacity: Int) {
        self.id = id
        self.principal = principal
        (outbox, continuation) = AsyncStream.makeStream(of: Outbound.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// Queues a frame; returns `false` when the queue is full (the client is too slow).
    func enqueue(_ frame: Outbound) -> Bool {
        switch continuation.yield(frame) {
        case .dropped: false
        default: true
        }
    }

    /// What to do when the server closes the socket; set once, before frames flow.
    func onClose(_ action: @escaping @Sendable (CloseReason) -> Void) {
        closer.withLock { $0 = action }
    }

    /// Ends the send queue and runs the ``onClose(_:)`` action once; the gateway closes the socket with the reason's code.
    func close(_ reason: CloseReason) {
        let first = closeReason.withLock { current in
            defer { if current == nil { current = reason } }
            return current == nil
        }
        continuation.finish()
        if first, let action = closer.withLock({ $0 }) { action(reason) }
    }

    /// Ends the send queue because the socket is gone.
    func finish() {
        continuation.finish()
    }

    var reason: CloseReason? { closeReason.withLock { $0 } }
}

/// Close codes the gateway uses.
enum RealtimeCloseCode {
    /// The token was missing or invalid.
    static let unauthorized: UInt16 = 4401
    /// The client read too slowly and its send queue overflowed.
    static let slowConsumer: UInt16 = 4008
    /// The server is shutting down.
    static let goingAway: UInt16 = 1001
}
