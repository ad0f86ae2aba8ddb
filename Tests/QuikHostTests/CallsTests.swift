import Crypto
import Foundation
import QuikSDK
import QuikTesting
import Testing
@testable import QuikRuntime

/// Calls and huddles over HTTP and real sockets: state, ringing, signaling relayed to one session, timers, TURN credentials.
@Suite("Calls", .serialized, .timeLimit(.minutes(3)))
struct CallsTests {
    static let plugins = IdentityHost.messaging + ["notifications", "calls"]

    static func with(_ settings: [String: SettingValue] = [:], secret: Bool = true, _ body: (IdentityHost) async throws -> Void) async throws {
        try await IdentityHost.with(plugins, configure: { configuration in
            if let index = configuration.plugins.firstIndex(where: { $0.name == "calls" }) {
                var base: [String: SettingValue] = [
                    "turn_urls": .list([.string("turn:127.0.0.1:3478?transport=udp")]), "stun_urls": .list([.string("stun:127.0.0.1:3478")]),
                ]
                if secret { base["turn_secret"] = .string("s3cret-turn") }
                configuration.plugins[index].settings = base.merging(settings) { $1 }
            }
        }, body)
    }

    static func hello(_ socket: TestSocket) async throws -> String {
        try #require(try await socket.waitFor("hello") { $0["type"] as? String == "hello" }["connection_id"] as? String)
    }

    /// Sends a frame and waits for its ack or error.
    @discardableResult
    static func frame(_ socket: TestSocket, _ body: [String: Any]) async throws -> [String: Any] {
        let id = UUID().uuidString
        var frame = body
        frame["id"] = id
        socket.send(String(decoding: try JSONSerialization.data(withJSONObject: frame), as: UTF8.self))
        return try await socket.waitFor("answer to \(body["type"] ?? "")") { ($0["type"] as? String == "ack" || $0["type"] as? String == "error") && $0["id"] as? String == id }
    }

    static func dm(_ chat: IdentityHost, _ workspace: String, _ a: IdentityHost.Account, _ b: IdentityHost.Account) async throws -> String {
        let direct = try chat.json(
            try await chat.client.post("/api/v1/channels/direct", json: #"{"workspace_id":"\#(workspace)","user_ids":["\#(b.id)"]}"#, token: a.access), 200, "dm")
        return try #require(direct["id"] as? String)
    }

    @Test("a 1:1 call rings the callee's sockets, relays signals to one session only, tracks mute, and ends into the history as answered; a third person hears nothing")
    func oneToOne() async throws {
        try await Self.with { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let direct = try await Self.dm(chat, workspace, ada, bob)
            let adaSocket = try await chat.socket(ada)
            let bobSocket = try await chat.socket(bob)
            let bobPhone = try await chat.socket(bob)
            let cydSocket = try await chat.socket(cyd)
            let adaSession = try await Self.hello(adaSocket)
            let bobSession = try await Self.hello(bobSocket)
            let bobPhoneSession = try await Self.hello(bobPhone)

            #expect(try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(direct)","connection_id":"\#(bobSession)"}"#, token: ada.access).status == 422,
                "someone else's socket")
            let call = try chat.json(
                try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(direct)","connection_id":"\#(adaSession)"}"#, token: ada.access), 201, "start")
            let callId = try #require(call["id"] as? String)
            #expect(call["kind"] as? String == "call")
            let again = try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(direct)","connection_id":"\#(adaSession)"}"#, token: ada.access)
            #expect(again.status == 409)
            #expect(((try again.json()["error"] as? [String: Any])?["details"] as? [String: Any])?["call_id"] as? String == callId)
            let ringing = try await bobSocket.waitForEvent("call.ringing")
            #expect(ringing["caller_id"] as? String == ada.id)
            try await bobPhone.waitForEvent("call.ringing")
            #expect(adaSocket.events("call.ringing").isEmpty)

            // Bob answers from his laptop; the phone is not a session.
            #expect(try await Self.frame(bobSocket, ["type": "call.join", "call_id": callId])["type"] as? String == "ack")
            try await adaSocket.waitForEvent("call.participant_joined") { ($0["participant"] as? [String: Any])?["user_id"] as? String == bob.id }
            let offer: [String: Any] = ["type": "call.signal", "call_id": callId, "to_session_id": bobSession, "sdp": ["type": "offer", "sdp": "v=0 offer"]]
            #expect(try await Self.frame(adaSocket, offer)["type"] as? String == "ack")
            let relayed = try await bobSocket.waitForEvent("call.signal")
            #expect(relayed["from_session_id"] as? String == adaSession)
            #expect(relayed["from_user_id"] as? String == ada.id)
            #expect((relayed["sdp"] as? [String: Any])?["sdp"] as? String == "v=0 offer")
            let candidate: [String: Any] = [
                "type": "call.signal", "call_id": callId, "to_session_id": adaSession,
                "candidate": ["candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ relay", "sdp_mid": "0", "sdp_mline_index": 0],
            ]
            #expect(try await Self.frame(bobSocket, candidate)["type"] as? String == "ack")
            #expect((try await adaSocket.waitForEvent("call.signal")["candidate"] as? [String: Any])?["sdp_mid"] as? String == "0")

            // Refused, and nothing relayed: to a session not in the call, from one not in it, both or neither of sdp and candidate, an SDP past the limit.
            let stranger = try await Self.frame(adaSocket, ["type": "call.signal", "call_id": callId, "to_session_id": bobPhoneSession, "sdp": ["type": "offer", "sdp": "x"]])
            #expect((stranger["error"] as? [String: Any])?["code"] as? String == "not_found")
            let outsider = try await Self.frame(cydSocket, ["type": "call.signal", "call_id": callId, "to_session_id": bobSession, "sdp": ["type": "offer", "sdp": "x"]])
            #expect((outsider["error"] as? [String: Any])?["code"] as? String == "forbidden")
            let fromPhone = try await Self.frame(bobPhone, ["type": "call.signal", "call_id": callId, "to_session_id": adaSession, "sdp": ["type": "answer", "sdp": "x"]])
            #expect((fromPhone["error"] as? [String: Any])?["code"] as? String == "forbidden")
            let both = try await Self.frame(adaSocket, [
                "type": "call.signal", "call_id": callId, "to_session_id": bobSession, "sdp": ["type": "offer", "sdp": "x"], "candidate": ["candidate": "c"],
            ])
            #expect((both["error"] as? [String: Any])?["code"] as? String == "validation_failed")
            let huge = try await Self.frame(adaSocket, [
                "type": "call.signal", "call_id": callId, "to_session_id": bobSession, "sdp": ["type": "offer", "sdp": String(repeating: "a", count: 40_000)],
            ])
            #expect(huge["type"] as? String == "error")
            // An SDP of 1 MiB is past the socket's 64 KiB message limit: that socket ends (with the code the
            // WebSocket layer gives), nothing is relayed, and the call and everyone else carry on.
            let flooder = try await chat.socket(ada)
            flooder.send(String(decoding: try JSONSerialization.data(withJSONObject: [
                "type": "call.signal", "call_id": callId, "to_session_id": bobSession, "sdp": ["type": "offer", "sdp": String(repeating: "a", count: 1 << 20)],
            ]), as: UTF8.self))
            let code = try await flooder.closed.value
            #expect(code != nil && code != 1000, "closed with \(String(describing: code))")
            try await Task.sleep(for: .milliseconds(300))
            #expect(bobSocket.events("call.signal").count == 1)
            #expect(bobPhone.events("call.signal").isEmpty)
            #expect(cydSocket.received.allSatisfy { ($0["topic"] as? String)?.hasPrefix("call.") != true })

            #expect(try await Self.frame(bobSocket, ["type": "call.update", "call_id": callId, "muted": true])["type"] as? String == "ack")
            let updated = try await adaSocket.waitForEvent("call.participant_updated")
            #expect((updated["participant"] as? [String: Any])?["muted"] as? Bool == true)

            #expect(try await Self.frame(bobSocket, ["type": "call.leave", "call_id": callId])["type"] as? String == "ack")
            try await adaSocket.waitForEvent("call.participant_left") { ($0["participant"] as? [String: Any])?["user_id"] as? String == bob.id }
            #expect(try await chat.client.post("/api/v1/calls/\(callId)/end", token: ada.access).status == 204)
            let ended = try await adaSocket.waitForEvent("call.ended")
            #expect((ended["participants"] as? [Any])?.isEmpty == true)
            let history = try chat.json(try await chat.client.get("/api/v1/calls?channel_id=\(direct)", token: bob.access), 200, "history")
            let record = try #require((history["items"] as? [[String: Any]])?.first)
            #expect(record["outcome"] as? String == "answered")
            #expect(Set(record["attendees"] as? [String] ?? []) == [ada.id, bob.id])
            #expect(record["duration_s"] is Int)
            #expect(try await chat.client.get("/api/v1/calls?channel_id=\(direct)", token: cyd.access).status == 404)
            #expect(cydSocket.received.allSatisfy { ($0["topic"] as? String)?.hasPrefix("call.") != true })
        }
    }

    @Test("a call nobody answers ends as missed after ring_timeout_s with a call_missed notification; a declined one ends at once")
    func missedAndDeclined() async throws {
        try await Self.with(["ring_timeout_s": .int(1)]) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let direct = try await Self.dm(chat, workspace, ada, bob)
            let adaSocket = try await chat.socket(ada)
            let bobSocket = try await chat.socket(bob)
            let adaSession = try await Self.hello(adaSocket)
            let first = try chat.json(
                try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(direct)","connection_id":"\#(adaSession)"}"#, token: ada.access), 201, "start")
            let ended = try await bobSocket.waitForEvent("call.ended", timeout: .seconds(6))
            #expect(ended["id"] as? String == first["id"] as? String)
            #expect(ended["outcome"] as? String == "missed")
            let missed = try await bobSocket.waitForEvent("notification.created", timeout: .seconds(5)) { $0["type"] as? String == "call_missed" }
            #expect(missed["call_id"] as? String == first["id"] as? String)
            #expect(missed["actor_id"] as? String == ada.id)

            let second = try chat.json(
                try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(direct)","connection_id":"\#(adaSession)"}"#, token: ada.access), 201, "start")
            let secondId = try #require(second["id"] as? String)
            #expect(try await chat.client.post("/api/v1/calls/\(secondId)/decline", token: ada.access).status == 403, "only the callee declines")
            #expect(try await chat.client.post("/api/v1/calls/\(secondId)/decline", token: bob.access).status == 204)
            let declined = try chat.json(try await chat.client.get("/api/v1/calls/\(secondId)", token: ada.access), 200, "get")
            #expect(declined["outcome"] as? String == "declined")
            #expect(declined["ended_at"] is String)
        }
    }

    @Test("huddles: no ringing, a full room is 409 with reason full, non-members 403, unseen 404, archived 409; a participant whose socket closed leaves after the grace and the huddle ends with the last")
    func huddles() async throws {
        try await Self.with(["max_participants": .int(2), "rejoin_grace_s": .int(1)]) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let dan = try await chat.register("Dan")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd, dan])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob, cyd])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada)
            let sockets = [try await chat.socket(ada), try await chat.socket(bob), try await chat.socket(cyd), try await chat.socket(dan)]
            var sessions: [String] = []
            for socket in sockets { sessions.append(try await Self.hello(socket)) }
            let huddle = try chat.json(
                try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(general)","connection_id":"\#(sessions[0])"}"#, token: ada.access), 201, "start")
            let id = try #require(huddle["id"] as? String)
            #expect(huddle["kind"] as? String == "huddle")
            try await sockets[1].waitForEvent("call.started")
            #expect(try chat.json(try await chat.client.post("/api/v1/calls/\(id)/join", json: #"{"connection_id":"\#(sessions[1])"}"#, token: bob.access), 200, "join")["participants"]
                .map { ($0 as? [Any])?.count } == 2)
            let full = try await chat.client.post("/api/v1/calls/\(id)/join", json: #"{"connection_id":"\#(sessions[2])"}"#, token: cyd.access)
            #expect(full.status == 409)
            #expect(((try full.json()["error"] as? [String: Any])?["details"] as? [String: Any])?["reason"] as? String == "full")
            #expect(try await chat.client.post("/api/v1/calls/\(id)/join", json: #"{"connection_id":"\#(sessions[3])"}"#, token: dan.access).status == 403)
            #expect(try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(secret)","connection_id":"\#(sessions[3])"}"#, token: dan.access).status == 404)
            #expect(sockets.allSatisfy { $0.events("call.ringing").isEmpty })
            let active = try await chat.client.get("/api/v1/calls/active?workspace_id=\(workspace)", token: cyd.access).jsonArray() as? [[String: Any]]
            #expect(active?.compactMap { $0["id"] as? String } == [id])

            // Bob's socket goes away: he is out after the grace; Ada leaves: the huddle ends.
            sockets[1].close()
            try await sockets[0].waitForEvent("call.participant_left", timeout: .seconds(8)) { ($0["participant"] as? [String: Any])?["user_id"] as? String == bob.id }
            #expect(try await chat.client.post("/api/v1/calls/\(id)/leave", token: ada.access).status == 204)
            let ended = try await sockets[2].waitForEvent("call.ended")
            #expect(ended["id"] as? String == id)
            #expect(try await chat.client.post("/api/v1/calls/\(id)/join", json: #"{"connection_id":"\#(sessions[2])"}"#, token: cyd.access).status == 409)

            let old = try await chat.channel(workspace, "old", by: ada)
            #expect(try await chat.client.post("/api/v1/channels/\(old)/archive", token: ada.access).status == 200)
            #expect(try await chat.client.post("/api/v1/calls", json: #"{"channel_id":"\#(old)","connection_id":"\#(sessions[0])"}"#, token: ada.access).status == 409)
        }
    }

    @Test("TURN credentials follow coturn's use-auth-secret scheme; without a secret only STUN is handed out")
    func turnCredentials() async throws {
        try await Self.with { chat in
            let ada = try await chat.register("Ada")
            let turn = try chat.json(try await chat.client.get("/api/v1/calls/turn", token: ada.access), 200, "turn")
            let username = try #require(turn["username"] as? String)
            let parts = username.split(separator: ":")
            #expect(parts.count == 2 && parts[1] == Substring(ada.id))
            let expiry = Int(parts[0]) ?? 0
            #expect(abs(expiry - Int(Date().timeIntervalSince1970) - 3600) < 10)
            let expected = Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: SymmetricKey(data: Data("s3cret-turn".utf8))))
                .base64EncodedString()
            #expect(turn["credential"] as? String == expected)
            #expect(turn["urls"] as? [String] == ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"])
            #expect(turn["ttl_s"] as? Int == 3600)
        }
        try await Self.with(secret: false) { chat in
            let ada = try await chat.register("Ada")
            let turn = try chat.json(try await chat.client.get("/api/v1/calls/turn", token: ada.access), 200, "turn")
            #expect(turn["username"] is NSNull)
            #expect(turn["urls"] as? [String] == ["stun:127.0.0.1:3478"])
        }
    }
}
