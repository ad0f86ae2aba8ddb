import Foundation
import NIOCore
import NIOWebSocket
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport
import Synchronization

/// One open realtime socket: who owns it, and its outgoing frames.
///
/// Frames are written straight to the socket's channel, numbered and ordered
/// under one lock, without a writer task per socket (an idle socket then costs
/// one task, its reader). The bound is on frames written but not yet flushed to
/// the kernel: a client that stops reading fills it, and is closed as too slow.
package final class RealtimeConnection: Sendable {
    package enum Outbound: Sendable {
        /// An event, numbered with the connection's next `seq` as it is written.
        case event(topicJSON: String, data: String)
        /// A reply frame, already encoded.
        case frame(String)
        /// A heartbeat (an unsolicited WebSocket pong, which needs no answer): writing
        /// it is how a peer that vanished without closing is found out.
        case heartbeat
    }

    /// Why the server closed the socket.
    package enum CloseReason: Sendable {
        case slowConsumer
        case shutdown
        /// The user was deactivated.
        case revoked
        /// The client sent frames far past its rate.
        case flooding
    }

    private struct State {
        var seq = 0
        var reason: CloseReason?
        var finished = false
        var onClose: (@Sendable (CloseReason) -> Void)?
    }

    package let id: String
    package let principal: Principal
    private let channel: any Channel
    private let capacity: Int
    private let state = Mutex(State())
    private let unflushed = Atomic<Int>(0)

    package init(id: String, principal: Principal, capacity: Int, channel: any Channel) {
        self.id = id
        self.principal = principal
        self.capacity = capacity
        self.channel = channel
    }

    /// Writes a frame; returns `false` when `capacity` frames are still unflushed
    /// (the client is too slow). Frames after the socket started closing are dropped.
    package func enqueue(_ frame: Outbound) -> Bool {
        state.withLock { state in
            guard !state.finished, state.reason == nil else { return true }
            guard unflushed.load(ordering: .relaxed) < capacity else { return false }
            let webSocketFrame: WebSocketFrame
            switch frame {
            case .event(let topicJSON, let data):
                state.seq += 1
                let text = "{\"type\":\"event\",\"topic\":\(topicJSON),\"data\":\(data),\"seq\":\(state.seq)}"
                webSocketFrame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text))
            case .frame(let text):
                webSocketFrame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text))
            case .heartbeat:
                webSocketFrame = WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer())
            }
            unflushed.add(1, ordering: .relaxed)
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in self.unflushed.subtract(1, ordering: .relaxed) }
            // Written under the lock, so frames reach the channel in `seq` order.
            channel.writeAndFlush(webSocketFrame, promise: promise)
            return true
        }
    }

    /// What to do when the server closes the socket; set once, before frames flow.
    package func onClose(_ action: @escaping @Sendable (CloseReason) -> Void) {
        state.withLock { $0.onClose = action }
    }

    /// Stops sending and runs the ``onClose(_:)`` action once, which closes the socket with the reason's code.
    package func close(_ reason: CloseReason) {
        let action = state.withLock { state -> (@Sendable (CloseReason) -> Void)? in
            guard state.reason == nil, !state.finished else { return nil }
            state.reason = reason
            return state.onClose
        }
        action?(reason)
    }

    /// Stops sending because the socket is gone.
    package func finish() {
        state.withLock { $0.finished = true }
    }

    package var reason: CloseReason? { state.withLock { $0.reason } }
}

/// Close codes the gateway uses.
package enum RealtimeCloseCode {
    /// The token was missing or invalid, or the user was deactivated.
    package static let unauthorized: UInt16 = 4401
    /// The client read too slowly and its send queue overflowed.
    package static let slowConsumer: UInt16 = 4008
    /// The client sent frames far past its rate, or opened more sockets than a user may.
    package static let rateLimited: UInt16 = 4429
    /// The server is shutting down.
    package static let goingAway: UInt16 = 1001
}
