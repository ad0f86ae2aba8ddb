import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `presence` plugin: online, away, dnd and offline, told to the people who
/// share a workspace with the user as `presence.changed`.
public final class PresencePlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "presence", version: "1.0.0", mount: "presence", dependencies: ["workspace"],
            capabilities: PluginCapabilities(publishes: ["presence"], frames: ["presence.set"]),
            settings: [
                SettingSpec(
                    key: "offline_grace_s", kind: .number, defaultValue: .double(30),
                    help: "Seconds after the last socket closes before a user shows offline"),
                SettingSpec(
                    key: "away_after_s", kind: .number, defaultValue: .double(600),
                    help: "Seconds without a client frame before a connected user shows away"),
            ],
            summary: "Presence: online, away, dnd, offline")
    }

    struct SetFrame: Decodable {
        var status: String
    }

    struct Status: Codable, Sendable {
        var userId: String
        var status: String
        var lastSeenAt: Date?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(userId, forKey: .userId)
            try container.encode(status, forKey: .status)
            try container.encode(lastSeenAt, forKey: .lastSeenAt)
        }

        enum CodingKeys: String, CodingKey { case userId, status, lastSeenAt }

        /// What `encode(to:)` writes: `last_seen_at` always, `null` when unknown.
        static let schema = APISchema.object(
            [
                "user_id": .string, "status": .string(values: ["online", "away", "dnd", "offline"]),
                "last_seen_at": APISchema.dateTime.orNull,
            ], required: ["user_id", "status", "last_seen_at"])
    }

    /// `?user_ids=`: 1 to 200 comma-separated ids, each as `IDs.isPlausible` accepts it.
    static let userIds: APIParameter = {
        let id = "[A-Za-z0-9_-]{1,64}"
        return .query("user_ids", .string(pattern: "^\(id)(,\(id)){0,199}$"), required: true, "Comma-separated user ids, 1 to 200")
    }()

    public func setup(_ context: any PluginContext) async throws {
        let book = PresenceBook()
        let grace = context.settings["offline_grace_s"]?.doubleValue ?? 30
        let idleAfter = context.settings["away_after_s"]?.doubleValue ?? 600

        @Sendable func peers(of user: String) async throws -> [String] {
            try await context.call("workspace", "peers", PeersQuery(userId: user), as: PeersReply.self).userIds
        }
        @Sendable func announce(_ user: String, _ status: String) async {
            do {
                let (_, lastSeen) = await book.lookup(user)
                let event = try RealtimeEvent(topic: "presence.changed", value: Status(userId: user, status: status, lastSeenAt: lastSeen))
                await context.send(event, to: .users(try await peers(of: user) + [user]))
                try await context.publish("presence.changed", Status(userId: user, status: status, lastSeenAt: lastSeen))
            } catch {
                context.logger.warning("presence.changed not sent", metadata: ["user_id": user, "error": "\(error)"])
            }
        }

        try context.subscribe(HostTopic.realtimeConnected) { event in
            guard let socket = try? event.decode(SocketEvent.self) else { return }
            if let status = await book.connected(socket.userId, connections: socket.userConnections) { await announce(socket.userId, status) }
        }
        try context.subscribe(HostTopic.realtimeDisconnected) { event in
            guard let socket = try? event.decode(SocketEvent.self) else { return }
            await book.disconnected(socket.userId, remaining: socket.userConnections, grace: grace)
        }
        try context.subscribe(HostTopic.realtimeActivity) { event in
            guard let socket = try? event.decode(SocketEvent.self) else { return }
            if let status = await book.active(socket.userId) { await announce(socket.userId, status) }
        }
        // One loop ends grace periods and turns idle users away, instead of a timer per socket.
        try context.run("presence sweeper") {
            // Within a second of the contract's 30 s (and a thirtieth of a shorter period).
            let interval = min(1, max(0.05, min(idleAfter, grace) / 30))
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                for user in await book.expire() { await announce(user, "offline") }
                for (user, status) in await book.sweep(idleAfter: idleAfter) { await announce(user, status) }
            }
        }
        try context.provideService("statuses") { call in
            let query = try JSONDecoder.quik.decode(PresenceQuery.self, from: call.payload)
            var states: [PresenceState] = []
            for user in query.userIds.prefix(10_000) {
                let (status, connected) = await book.state(user)
                states.append(PresenceState(userId: user, status: status, connected: connected))
            }
            return try JSONEncoder.quik.encode(PresenceStates(states: states))
        }
        try context.onFrame("presence.set") { frame in
            let request = try frame.decode(SetFrame.self)
            guard ["online", "away", "dnd"].contains(request.status) else {
                throw PluginError(.validationFailed, "status is online, away or dnd", details: ["status": "unknown"])
            }
            if let status = await book.choose(frame.principal.userId, status: request.status) { await announce(frame.principal.userId, status) }
        }
        let lookup = RouteOptions(summary: "Presence of users (?user_ids=a,b); 404 when one is not someone the caller shares a workspace with")
            .documented(query: [Self.userIds], response: .array(Status.schema))
        try context.addRoute(.get, "/", options: lookup) { request in
            let principal = try request.requirePrincipal()
            let ids = (request.query("user_ids") ?? "").split(separator: ",").map(String.init).filter(IDs.isPlausible)
            guard (1...200).contains(ids.count) else {
                throw PluginError(.validationFailed, "user_ids lists 1 to 200 user ids", details: ["user_ids": "is required"])
            }
            let visible = Set(try await peers(of: principal.userId) + [principal.userId])
            let strangers = ids.filter { !visible.contains($0) }
            guard strangers.isEmpty || principal.roles.contains("admin") else {
                throw PluginError(.notFound, "no such user: \(strangers.joined(separator: ", "))", details: ["user_ids": "unknown"])
            }
            var statuses: [Status] = []
            for id in ids {
                let (status, lastSeen) = await book.lookup(id)
                statuses.append(Status(userId: id, status: status, lastSeenAt: lastSeen))
            }
            return try .json(statuses)
        }
    }
}
