import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The `calls` plugin: 1:1 calls that ring in direct channels and huddles anywhere else, with
/// WebRTC signaling relayed over the realtime socket to one session at a time, TURN credentials
/// for coturn, and each channel's call history. Media is peer to peer (a full mesh).
public final class CallsPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "calls", version: "1.0.0", mount: "calls", dependencies: ["channel"],
            capabilities: PluginCapabilities(database: true, publishes: ["call"], frames: ["call.join", "call.leave", "call.update", "call.signal"]),
            settings: [
                SettingSpec(key: "turn_secret", kind: .string, help: "coturn's static-auth-secret (use-auth-secret); without it, STUN only"),
                SettingSpec(key: "turn_urls", kind: .list, defaultValue: .list([]), help: "TURN URLs handed to clients, e.g. turn:127.0.0.1:3478?transport=udp"),
                SettingSpec(key: "stun_urls", kind: .list, defaultValue: .list([]), help: "STUN URLs handed to clients"),
                SettingSpec(key: "turn_ttl_s", kind: .integer, defaultValue: .int(3600), help: "How long TURN credentials last"),
                SettingSpec(key: "max_participants", kind: .integer, defaultValue: .int(8), help: "People in one call (a full mesh)"),
                SettingSpec(key: "ring_timeout_s", kind: .number, defaultValue: .int(45), help: "Seconds a call rings before it is missed"),
                SettingSpec(key: "rejoin_grace_s", kind: .number, defaultValue: .int(30), help: "Seconds a participant whose socket closed may rejoin"),
            ],
            summary: "Calls and huddles: signaling, TURN credentials, ringing and history",
            permissions: [PermissionSpec("calls.end_any", summary: "End any call in the workspace", grantedTo: ["workspace.admin"])])
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "calls", statements: [
                """
                CREATE TABLE calls (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  channel_id VARCHAR(32) NOT NULL,
                  workspace_id VARCHAR(32) NOT NULL,
                  kind VARCHAR(8) NOT NULL,
                  started_by VARCHAR(32) NOT NULL,
                  callee_id VARCHAR(32) NULL,
                  started_at DATETIME(3) NOT NULL,
                  ended_at DATETIME(3) NULL,
                  end_reason VARCHAR(10) NULL,
                  answered_at DATETIME(3) NULL,
                  KEY by_channel (channel_id, id),
                  KEY live (ended_at, channel_id)
                )
                """,
                "CREATE TABLE active_calls (channel_id VARCHAR(32) NOT NULL PRIMARY KEY, call_id VARCHAR(32) NOT NULL UNIQUE)",
                """
                CREATE TABLE participants (
                  call_id VARCHAR(32) NOT NULL, user_id VARCHAR(32) NOT NULL, session_id VARCHAR(64) NOT NULL,
                  muted TINYINT(1) NOT NULL, screen_sharing TINYINT(1) NOT NULL, hand_raised TINYINT(1) NOT NULL,
                  joined_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (call_id, user_id), KEY by_session (session_id)
                )
                """,
                """
                CREATE TABLE attendance (
                  call_id VARCHAR(32) NOT NULL, user_id VARCHAR(32) NOT NULL, joined_at DATETIME(3) NOT NULL, left_at DATETIME(3) NULL,
                  KEY by_call (call_id, user_id)
                )
                """,
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let settings = context.settings
        let store = CallStore(
            context: context, database: try context.requireDatabase(),
            maxParticipants: max(2, settings["max_participants"]?.intValue ?? 8),
            ringTimeout: max(1, settings["ring_timeout_s"]?.doubleValue ?? 45), rejoinGrace: max(0, settings["rejoin_grace_s"]?.doubleValue ?? 30))
        let secret = settings["turn_secret"]?.stringValue
        func strings(_ key: String) -> [String] {
            if case .list(let values) = settings[key] { return values.compactMap(\.stringValue) }
            return []
        }
        let turnURLs = strings("turn_urls")
        let stunURLs = strings("stun_urls")
        let ttl = max(60, settings["turn_ttl_s"]?.intValue ?? 3600)

        try context.addRoute(.get, "/turn", options: RouteOptions(summary: "TURN/STUN servers and time-limited credentials").documented(response: TurnCredentials.schema)) { request in
            try .json(TurnCredentials(secret: secret, turnURLs: turnURLs, stunURLs: stunURLs, ttl: ttl, userId: try request.requirePrincipal().userId))
        }
        try context.addRoute(
            .post, "/", options: RouteOptions(summary: "Start a call (a direct channel of two) or a huddle").documented(body: StartBody.schema, response: Call.schema, status: 201)
        ) { request in
            try .json(try await store.start(try request.decode(StartBody.self), userId: try request.requirePrincipal().userId), status: 201)
        }
        let page = [
            APIParameter.query("limit", .integer(minimum: 1, maximum: 200), "Items per page, 50 by default"),
            .query("cursor", .string, "The next_cursor of the page before"),
        ]
        try context.addRoute(
            .get, "/", options: RouteOptions(summary: "A channel's calls, newest first").documented(query: [.query("channel_id", .string, required: true)] + page, response: .list(of: Call.schema))
        ) { request in
            try .json(try await store.list(channelId: request.query("channel_id"), page: try Page(request), userId: try request.requirePrincipal().userId))
        }
        try context.addRoute(
            .get, "/active", options: RouteOptions(summary: "Calls on now in channels the caller can see").documented(query: [.query("workspace_id", .string, required: true)], response: .array(Call.schema))
        ) { request in
            try .json(try await store.active(workspaceId: request.query("workspace_id"), userId: try request.requirePrincipal().userId))
        }
        try context.addRoute(.get, "/{id}", options: RouteOptions(summary: "One call").documented(response: Call.schema)) { request in
            try .json(try await store.visibleCall(try request.parameter("id"), try request.requirePrincipal().userId))
        }
        try context.addRoute(.post, "/{id}/join", options: RouteOptions(summary: "Join from a socket").documented(body: JoinBody.schema, response: Call.schema)) { request in
            let body = try request.decode(JoinBody.self)
            return try .json(try await store.join(try request.parameter("id"), connectionId: body.connectionId, userId: try request.requirePrincipal().userId))
        }
        try context.addRoute(.post, "/{id}/leave", options: RouteOptions(summary: "Leave").documented(status: 204)) { request in
            let principal = try request.requirePrincipal()
            _ = try await store.visibleCall(try request.parameter("id"), principal.userId)
            try await store.leave(try request.parameter("id"), userId: principal.userId)
            return .noContent
        }
        try context.addRoute(.post, "/{id}/decline", options: RouteOptions(summary: "Decline a ringing call (its callee)").documented(status: 204)) { request in
            let principal = try request.requirePrincipal()
            try await store.end(try request.parameter("id"), userId: principal.userId, principal: principal, declining: true)
            return .noContent
        }
        try context.addRoute(.post, "/{id}/end", options: RouteOptions(summary: "End for everyone").documented(status: 204)) { request in
            let principal = try request.requirePrincipal()
            try await store.end(try request.parameter("id"), userId: principal.userId, principal: principal, declining: false)
            return .noContent
        }

        try context.onFrame("call.join") { frame in
            let body = try frame.decode(CallFrame.self)
            _ = try await store.join(body.callId ?? "", connectionId: frame.connectionId, userId: frame.principal.userId)
        }
        try context.onFrame("call.leave") { frame in
            let body = try frame.decode(CallFrame.self)
            try await store.leave(body.callId ?? "", userId: frame.principal.userId, session: frame.connectionId)
        }
        try context.onFrame("call.update") { frame in try await store.update(frame) }
        try context.onFrame("call.signal") { frame in try await store.signal(frame) }

        try context.onJob(CallStore.ringJob) { job in try await store.ringTimedOut(job) }
        try context.onJob(CallStore.graceJob) { job in try await store.graceOver(job) }
        try context.subscribe(HostTopic.realtimeDisconnected) { event in
            guard let socket = try? event.decode(SocketEvent.self) else { return }
            do {
                try await store.socketClosed(socket.connectionId, userId: socket.userId)
            } catch {
                context.logger.warning("a closed socket's calls were not looked at", metadata: ["error": "\(error)"])
            }
        }
    }
}
