import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport
import ServiceLifecycle
import Synchronization

/// The realtime gateway: users, their sockets and named groups; nothing of channels.
package final class RealtimeGateway: RealtimeHub, Service, Sendable {
    private struct State {
        var connections: [String: RealtimeConnection] = [:]
        var byUser: [String: Set<String>] = [:]
        var groups: [String: Set<String>] = [:]
        var shuttingDown = false
    }

    private let state = Mutex(State())
    private let configuration: HostConfiguration
    private let metrics: HostMetrics
    private let logger: Logger
    private let bus: EventBus
    /// Sockets to close, carried out by ``run()``.
    private let closings = AsyncStream.makeStream(of: Closing.self)

    package init(configuration: HostConfiguration, metrics: HostMetrics, bus: EventBus, logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.bus = bus
        self.logger = logger
    }

    /// `realtime.connected`, `realtime.disconnected` and `realtime.activity` (a ``SocketEvent``,
    /// written by hand: activity is published for every client frame), so that presence can follow sockets.
    private func announce(_ topic: String, _ connection: RealtimeConnection, userConnections: Int) {
        let payload = JSONText.object([
            ("user_id", JSONText.quoted(connection.principal.userId)),
            ("connection_id", JSONText.quoted(connection.id)),
            ("user_connections", String(userConnections)),
        ])
        bus.publish(Event(id: EventID.make(), topic: topic, payload: Data(payload.utf8), source: "host", publishedAt: Date()))
    }

    package var connectionCount: Int { state.withLock { $0.connections.count } }

    package func owner(ofConnection id: String) -> String? {
        state.withLock { $0.connections[id]?.principal.userId }
    }

    // MARK: Delivery

    package func send(_ event: RealtimeEvent, to audience: Audience) {
        let targets = state.withLock { state -> [RealtimeConnection] in
            if case .connection(let id) = audience { return state.connections[id].map { [$0] } ?? [] }
            let users: Set<String> =
                switch audience {
                case .user(let user): [user]
                case .users(let users): Set(users)
                case .group(let group): state.groups[group] ?? []
                case .connection: []
                @unknown default: []
                }
            return users.flatMap { state.byUser[$0] ?? [] }.compactMap { state.connections[$0] }
        }
        guard !targets.isEmpty else { return }
        let frame = RealtimeConnection.Outbound.event(
            topicJSON: JSONText.quoted(event.topic),
            data: String(decoding: event.data.isEmpty ? Data("null".utf8) : event.data, as: UTF8.self))
        for connection in targets where !connection.enqueue(frame) {
            metrics.socketClosedSlow()
            logger.warning("closing slow realtime socket", metadata: ["connection": "\(connection.id)"])
            connection.close(.slowConsumer)
        }
    }

    package func join(_ group: String, userIds: [String]) {
        state.withLock { $0.groups[group, default: []].formUnion(userIds) }
    }

    package func leave(_ group: String, userIds: [String]) {
        state.withLock { state in
            state.groups[group]?.subtract(userIds)
            if state.groups[group]?.isEmpty == true { state.groups[group] = nil }
        }
    }

    /// Closes every socket of a user with 4401 (their access was revoked).
    package func disconnect(userId: String) {
        let targets = state.withLock { state in (state.byUser[userId] ?? []).compactMap { state.connections[$0] } }
        for connection in targets { connection.close(.revoked) }
    }

    package func disconnect(sessionIds: Set<String>) {
        let targets = state.withLock { state in
            state.connections.values.filter { $0.principal.sessionId.map(sessionIds.contains) ?? false }
        }
        for connection in targets { connection.close(.revoked) }
    }

    // MARK: One socket

    /// Serves one upgraded socket until either side closes it.
    /// `dispatch` hands a client frame to the plugin that registered its type and
    /// returns `false` when none did.
    /// `channel` is the socket's NIO channel, closed outright when a slow client
    /// cannot even take the close frame. `stillAdmitted` asks again, once the socket is
    /// registered, whether its token holds: a deactivation or revocation that landed
    /// between the upgrade and the registration found no socket to close.
    package func serve(
        principal: Principal?,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        channel: any Channel,
        stillAdmitted: @escaping @Sendable () async -> Bool = { true },
        dispatch: @escaping FrameDispatch
    ) async {
        guard let principal else {
            await refuse(RealtimeCloseCode.unauthorized, "unauthorized", inbound: inbound, outbound: outbound)
            return
        }
        let connection = RealtimeConnection(
            id: ConnectionID.make(), principal: principal, capacity: configuration.socketQueueCapacity, channel: channel)
        // Closing is rare: the gateway's service runs it when it happens.
        connection.onClose { reason in
            self.closings.continuation.yield(Closing(reason: reason, outbound: outbound, channel: channel))
        }
        // `hello` is written before the connection is registered: until then no sender can
        // reach it, so nothing can overtake it.
        _ = connection.enqueue(.frame(JSONText.object([
            ("type", JSONText.quoted("hello")),
            ("user_id", JSONText.quoted(principal.userId)),
            ("connection_id", JSONText.quoted(connection.id)),
        ])))
        switch register(connection) {
        case .registered:
            break
        case .shuttingDown:
            await refuse(RealtimeCloseCode.goingAway, "server shutting down", inbound: inbound, outbound: outbound)
            return
        case .tooManySockets:
            await refuse(RealtimeCloseCode.rateLimited, "too many sockets for this user", inbound: inbound, outbound: outbound)
            return
        }
        defer { unregister(connection) }
        if !(await stillAdmitted()) { connection.close(.revoked) }
        // Frames go out from whoever sends them (RealtimeConnection.enqueue); this task only reads.
        await read(connection, from: inbound, dispatch: dispatch)
        connection.finish()
    }

    /// Closes a socket the gateway will not serve. The close frame goes out without
    /// finishing the writer, so no FIN follows on its heels: a client still completing
    /// its upgrade that reads the 101, the close frame and the FIN in one pass loses the
    /// frame and the end of stream both (swift-nio's HTTP decoder drops bytes read
    /// with EOF while the upgrade removes it) and waits forever. The connection ends
    /// when the client answers the close, or after 5 s.
    private func refuse(_ code: UInt16, _ reason: String, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        payload.writeString(reason)
        try? await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
        _ = try? await withDeadline(.seconds(5)) {
            for try await _ in inbound.messages(maxSize: 1 << 16) {}
        }
    }

    /// Sends the close frame after the frames already written. A slow client's socket
    /// is stuck behind unsent data: give it a moment, then drop the connection. On
    /// shutdown or revocation the channel is dropped only if the close handshake stalls.
    private func enforceClose(_ closing: Closing) async {
        let (reason, outbound, channel) = (closing.reason, closing.outbound, closing.channel)
        let (code, text, patience): (UInt16, String, Duration) =
            switch reason {
            case .slowConsumer: (RealtimeCloseCode.slowConsumer, "send queue overflow", .seconds(1))
            case .shutdown: (RealtimeCloseCode.goingAway, "server shutting down", configuration.drainTimeout)
            case .revoked: (RealtimeCloseCode.unauthorized, "access revoked", configuration.drainTimeout)
            case .flooding: (RealtimeCloseCode.rateLimited, "too many frames", .seconds(1))
            }
        let deadline = ContinuousClock.now + patience
        _ = try? await withDeadline(patience) { try await outbound.close(.unknown(code), reason: text) }
        if reason != .slowConsumer {
            while channel.isActive, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        try? await channel.close()
    }

    private func read(_ connection: RealtimeConnection, from inbound: WebSocketInboundStream, dispatch: FrameDispatch) async {
        // A frame past the socket's rate is answered `rate_limited` and not handled; a socket
        // refused more than twice its burst within 10 s is flooding and is closed (4429).
        // Only that socket pays: each is read by its own task.
        let limits = configuration.rateLimits
        var bucket = TokenBucket(limits.frames, now: .now)
        var refusals = (count: 0, since: ContinuousClock.now)
        do {
            for try await message in inbound.messages(maxSize: configuration.maxFrameBytes) {
                // Closing: what the client still sends is read and dropped until the socket ends.
                if connection.reason != nil { continue }
                if limits.enabled, bucket.take(now: .now) != nil {
                    let now = ContinuousClock.now
                    if now - refusals.since > .seconds(10) { refusals = (0, now) }
                    refusals.count += 1
                    if refusals.count > 2 * limits.frames.burst {
                        connection.close(.flooding)
                        continue
                    }
                    reply(connection, id: nil, error: PluginError(.rateLimited, "too many frames; slow down"))
                    continue
                }
                guard case .text(let text) = message else {
                    reply(connection, id: nil, error: PluginError(.badRequest, "frames are JSON text"))
                    continue
                }
                // Every client frame is a sign of life (presence turns idle users away).
                announce(HostTopic.realtimeActivity, connection, userConnections: 0)
                await handle(text, on: connection, dispatch: dispatch)
            }
        } catch {
            logger.debug("realtime read ended", metadata: ["connection": "\(connection.id)", "error": "\(error)"])
        }
    }

    private func handle(_ text: String, on connection: RealtimeConnection, dispatch: FrameDispatch) async {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
            let type = object["type"] as? String
        else {
            reply(connection, id: nil, error: PluginError(.badRequest, "a frame is a JSON object with a string 'type'"))
            return
        }
        let id: String? =
            switch object["id"] {
            case let value as String: value
            case let value as NSNumber: value.stringValue
            default: nil
            }
        if type == "ping" {
            var fields = [("type", JSONText.quoted("pong"))]
            if let id { fields.append(("id", JSONText.quoted(id))) }
            _ = connection.enqueue(.frame(JSONText.object(fields)))
            return
        }
        let frame = ClientFrame(type: type, id: id, json: Data(text.utf8), principal: connection.principal, connectionId: connection.id)
        do {
            guard try await dispatch(frame) else {
                reply(connection, id: id, error: PluginError(.badRequest, "unknown frame type '\(type)'"))
                return
            }
            if let id { _ = connection.enqueue(.frame(JSONText.object([("type", JSONText.quoted("ack")), ("id", JSONText.quoted(id))]))) }
        } catch let error as PluginError {
            reply(connection, id: id, error: error)
        } catch is DeadlineExceeded {
            reply(connection, id: id, error: PluginError(.unavailable, "frame '\(type)' was not handled in time"))
        } catch {
            logger.error("frame handler failed", metadata: ["type": "\(type)", "error": "\(error)"])
            reply(connection, id: id, error: PluginError(.internalError, "internal error"))
        }
    }

    private func reply(_ connection: RealtimeConnection, id: String?, error: PluginError) {
        _ = connection.enqueue(.frame(JSONText.object([
            ("type", JSONText.quoted("error")),
            ("id", id.map(JSONText.quoted) ?? "null"),
            ("error", JSONText.object([("code", JSONText.quoted(error.code.rawValue)), ("message", JSONText.quoted(error.message))])),
        ])))
    }

    private enum Registration {
        case registered, shuttingDown, tooManySockets
    }

    private func register(_ connection: RealtimeConnection) -> Registration {
        let limit = configuration.maxSocketsPerUser
        var refusal = Registration.shuttingDown
        let counts = state.withLock { state -> (all: Int, user: Int)? in
            guard !state.shuttingDown else { return nil }
            guard (state.byUser[connection.principal.userId]?.count ?? 0) < limit else {
                refusal = .tooManySockets
                return nil
            }
            state.connections[connection.id] = connection
            state.byUser[connection.principal.userId, default: []].insert(connection.id)
            return (state.connections.count, state.byUser[connection.principal.userId]?.count ?? 0)
        }
        guard let counts else { return refusal }
        metrics.sockets(open: counts.all)
        announce(HostTopic.realtimeConnected, connection, userConnections: counts.user)
        return .registered
    }

    private func unregister(_ connection: RealtimeConnection) {
        let (count, remaining) = state.withLock { state in
            state.connections[connection.id] = nil
            let user = connection.principal.userId
            state.byUser[user]?.remove(connection.id)
            if state.byUser[user]?.isEmpty == true { state.byUser[user] = nil }
            return (state.connections.count, state.byUser[user]?.count ?? 0)
        }
        metrics.sockets(open: count)
        announce(HostTopic.realtimeDisconnected, connection, userConnections: remaining)
    }

    // MARK: Service

    /// Sends heartbeats and closes sockets as asked; on shutdown closes every socket
    /// with 1001 and waits (bounded) for them to go.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            // One heartbeat loop for every socket, rather than a ping task per socket.
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.configuration.socketHeartbeat)
                    let open = self.state.withLock { Array($0.connections.values) }
                    for connection in open { _ = connection.enqueue(.heartbeat) }
                }
            }
            group.addTask {
                await withDiscardingTaskGroup { closers in
                    for await closing in self.closings.stream {
                        closers.addTask { await self.enforceClose(closing) }
                    }
                }
            }
            try? await gracefulShutdown()
            let open = state.withLock { state in
                state.shuttingDown = true
                return Array(state.connections.values)
            }
            for connection in open { connection.close(.shutdown) }
            let deadline = ContinuousClock.now + configuration.drainTimeout
            while connectionCount > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            closings.continuation.finish()
            group.cancelAll()
        }
    }

    /// A socket the server is closing, for the service to carry out.
    private struct Closing: Sendable {
        let reason: RealtimeConnection.CloseReason
        let outbound: WebSocketOutboundWriter
        let channel: any Channel
    }
}

/// Hands a client frame to its plugin; `false` when no plugin registered the type.
package typealias FrameDispatch = @Sendable (ClientFrame) async throws -> Bool

/// Connection ids: unique and time-ordered.
package enum ConnectionID {
    package static func make() -> String { "c" + EventID.make() }
}
