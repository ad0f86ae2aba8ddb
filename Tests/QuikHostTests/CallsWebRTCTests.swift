import Foundation
import QuikSDK
import Testing

/// Calls with real WebRTC peers (aiortc) signaling through the server, their media relayed by a
/// private coturn using the secret from plugins.yml (relay-only ICE, so nothing else can carry it).
@Suite("Calls with WebRTC peers", .serialized, .timeLimit(.minutes(3)))
struct CallsWebRTCTests {
    static func with(_ coturn: Coturn, _ body: (IdentityHost) async throws -> Void) async throws {
        try await IdentityHost.with(CallsTests.plugins, configure: { configuration in
            if let index = configuration.plugins.firstIndex(where: { $0.name == "calls" }) {
                configuration.plugins[index].settings = ["turn_secret": .string(coturn.secret), "turn_urls": .list(coturn.urls.map(SettingValue.string))]
            }
        }, body)
    }

    @Test("two aiortc peers start and accept a call through the signaling, exchange data relayed by coturn, hang up, and the history shows it; a third member hears nothing")
    func oneToOne() async throws {
        let coturn = try Coturn.start(secret: "e2e-\(UUID().uuidString.prefix(8))")
        defer { coturn.stop() }
        try await Self.with(coturn) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let direct = try await CallsTests.dm(chat, workspace, ada, bob)
            let cydSocket = try await chat.socket(cyd)
            let alice = try WebRTCPeer.start(port: chat.port, token: ada.access, name: "alice")
            let bobby = try WebRTCPeer.start(port: chat.port, token: bob.access, name: "bob")
            defer {
                alice.stop()
                bobby.stop()
            }
            let started = try await alice.request(["cmd": "start", "channel_id": direct])
            #expect(started["status"] as? Int == 201)
            let callId = try #require((started["body"] as? [String: Any])?["id"] as? String)
            try await bobby.waitFor("ringing", timeout: .seconds(10)) { $0["event"] as? String == "frame" && $0["topic"] as? String == "call.ringing" }
            try await bobby.request(["cmd": "join", "call_id": callId])
            let connected = try await alice.waitFor("connected", timeout: .seconds(45)) { $0["event"] as? String == "connected" }
            #expect(connected["local_type"] as? String == "relay")
            #expect(connected["remote_type"] as? String == "relay")
            try await alice.waitForData(from: bobby.connectionId, count: 10, timeout: .seconds(30))
            try await bobby.waitForData(from: alice.connectionId, count: 10, timeout: .seconds(30))

            let ended = try await alice.request(["cmd": "end", "call_id": callId])
            #expect(ended["status"] as? Int == 204)
            for peer in [alice, bobby] {
                try await peer.waitFor("call.ended", timeout: .seconds(10)) { $0["event"] as? String == "frame" && $0["topic"] as? String == "call.ended" }
            }
            let history = try chat.json(try await chat.client.get("/api/v1/calls?channel_id=\(direct)", token: ada.access), 200, "history")
            let record = try #require((history["items"] as? [[String: Any]])?.first)
            #expect(record["outcome"] as? String == "answered")
            #expect((record["duration_s"] as? Int ?? -1) >= 1)
            #expect(Set(record["attendees"] as? [String] ?? []) == [ada.id, bob.id])
            #expect(cydSocket.received.allSatisfy { ($0["topic"] as? String)?.hasPrefix("call.") != true })
        }
    }

    @Test("a huddle of four aiortc peers meshes (each receives data from the three others), a fifth member sees the list change live, and a killed peer leaves within 35 s")
    func huddle() async throws {
        let coturn = try Coturn.start(secret: "e2e-\(UUID().uuidString.prefix(8))")
        defer { coturn.stop() }
        try await Self.with(coturn) { chat in
            var accounts: [IdentityHost.Account] = []
            for name in ["Ann", "Ben", "Cal", "Dee", "Eve"] { accounts.append(try await chat.register(name)) }
            let workspace = try await chat.workspace(owner: accounts[0], members: Array(accounts.dropFirst()))
            let general = try await chat.channel(workspace, "general", by: accounts[0], adding: Array(accounts.dropFirst()))
            let watcher = try await chat.socket(accounts[4])
            var peers: [WebRTCPeer] = []
            defer { for peer in peers { peer.stop() } }
            for (index, account) in accounts.prefix(4).enumerated() {
                peers.append(try WebRTCPeer.start(port: chat.port, token: account.access, name: "p\(index)"))
            }
            let started = try await peers[0].request(["cmd": "start", "channel_id": general])
            let callId = try #require((started["body"] as? [String: Any])?["id"] as? String)
            for peer in peers.dropFirst() { try await peer.request(["cmd": "join", "call_id": callId]) }
            try await watcher.waitForEvent("call.participant_joined", timeout: .seconds(10)) {
                ($0["participant"] as? [String: Any])?["user_id"] as? String == accounts[3].id
            }
            #expect(watcher.events("call.participant_joined").count == 3)
            for peer in peers {
                for other in peers where other !== peer {
                    try await peer.waitForData(from: other.connectionId, count: 5, timeout: .seconds(60))
                }
            }
            let killed = peers[3]
            killed.kill()
            let left = try await watcher.waitForEvent("call.participant_left", timeout: .seconds(35)) {
                ($0["participant"] as? [String: Any])?["user_id"] as? String == accounts[3].id
            }
            #expect(left["call_id"] as? String == callId)
            let call = try chat.json(try await chat.client.get("/api/v1/calls/\(callId)", token: accounts[4].access), 200, "call")
            #expect((call["participants"] as? [[String: Any]])?.count == 3)
        }
    }
}
