import Foundation
import Testing

/// The calls tests' WebRTC harness, checked without QuikApp: a private coturn
/// (`Coturn`), aiortc peers forced to relay-only ICE (`Tests/Clients/webrtc_selftest.py
/// direct`), and `webrtc_peer.py` processes (`WebRTCPeer`) driven through a stand-in of the
/// calls plugin's signaling (`webrtc_selftest.py serve`).
@Suite("WebRTC harness")
struct WebRTCHarnessTests {
    static let python = Fixtures.packageRoot + "/.build-venv/bin/python"
    static let selftest = Fixtures.packageRoot + "/Tests/Clients/webrtc_selftest.py"

    /// Runs `webrtc_selftest.py direct` against `coturn`; its status and result line.
    static func direct(_ coturn: Coturn, secret: String, timeout: Int = 30) async throws -> (status: Int32, result: [String: Any], output: String) {
        let (status, output) = try await runProgram(python, [
            selftest, "direct", "--turn", coturn.urls[0], "--secret", secret, "--relay-min", "\(coturn.relayPorts.lowerBound)",
            "--relay-max", "\(coturn.relayPorts.upperBound)", "--timeout", "\(timeout)",
        ])
        let line = output.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output)")
        return (status, result, output)
    }

    /// Waits until coturn has logged bytes relayed to or from peers (written as allocations are released).
    static func relayedBytes(_ coturn: Coturn, user: String? = nil, timeout: Duration = .seconds(10)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let bytes = coturn.relayedPeerBytes(user: user)
            if bytes > 0 { return bytes }
            try await Task.sleep(for: .milliseconds(100))
        }
        return coturn.relayedPeerBytes(user: user)
    }

    @Test("Two aiortc peers, relay-only, talk through a private coturn: relay candidates only, relay/relay pairs in its relay range, bytes in its log")
    func relayThroughCoturn() async throws {
        let secret = UUID().uuidString
        let coturn = try Coturn.start(secret: secret)
        defer { coturn.stop() }
        let (status, result, output) = try await Self.direct(coturn, secret: secret)
        #expect(status == 0, "\(output)")
        #expect(result["ok"] as? Bool == true, "\(result["problems"] ?? output)")
        let candidates = try #require(result["candidates"] as? [String])
        #expect(!candidates.isEmpty && candidates.allSatisfy { $0.contains(" typ relay ") }, "\(candidates)")
        let pairs = try #require(result["pairs"] as? [String: [String: String]])
        #expect(pairs.count == 2)
        for (name, pair) in pairs {
            #expect(pair["local_type"] == "relay" && pair["remote_type"] == "relay", "\(name): \(pair)")
            for end in [pair["local"], pair["remote"]] {
                let port = Int(end?.split(separator: ":").last ?? "") ?? 0
                #expect(end?.hasPrefix("127.0.0.1:") == true && coturn.relayPorts.contains(port), "\(name): \(pair)")
            }
        }
        #expect((result["received"] as? [String: Int])?.values.allSatisfy { $0 >= 20 } == true, "\(result)")
        // coturn's own account: an allocation per peer, and bytes relayed between them.
        #expect(coturn.allocations >= 2, "\(coturn.logText.suffix(3000))")
        #expect(try await Self.relayedBytes(coturn, user: "left") > 0, "\(coturn.logText.suffix(3000))")
        #expect(try await Self.relayedBytes(coturn, user: "right") > 0, "\(coturn.logText.suffix(3000))")
        // Coturn.credentials matches Python's HMAC-SHA1 (the value computed with hmac and base64).
        let (username, credential) = Coturn.credentials(secret: "north", user: "u1", expiry: 1_800_000_000)
        #expect(username == "1800000000:u1")
        #expect(credential == "RIJ6ZnJNR1W05gwiA5Rf03f0vLY=")
    }

    @Test("A wrong TURN secret: no allocation, no candidate, nothing connects (relay-only leaves no other path)")
    func wrongSecret() async throws {
        let coturn = try Coturn.start(secret: UUID().uuidString)
        defer { coturn.stop() }
        let (status, result, output) = try await Self.direct(coturn, secret: "not the secret", timeout: 5)
        #expect(status != 0, "\(output)")
        #expect(result["ok"] as? Bool == false)
        #expect((result["candidates"] as? [String])?.isEmpty == true, "\(result)")
        #expect((result["received"] as? [String: Int])?.values.allSatisfy { $0 == 0 } == true, "\(result)")
        #expect(coturn.allocations == 0, "\(coturn.logText.suffix(3000))")
    }

    @Test("webrtc_peer.py through a stand-in signaling server: ring, join, relay-only data both ways, a third peer meshes in, a killed one drops out, update, end, decline, leave")
    func peers() async throws {
        let secret = UUID().uuidString
        let coturn = try Coturn.start(secret: secret)
        defer { coturn.stop() }
        let (server, fields) = try PythonServer.start(
            "webrtc_selftest.py", ["serve", "--turn", coturn.urls[0], "--secret", secret], what: "the stand-in signaling server")
        defer { server.terminate() }
        let port = try #require(Int(fields[0]))
        let alice = try WebRTCPeer.start(port: port, token: "alice", name: "alice")
        defer { alice.stop() }
        let bob = try WebRTCPeer.start(port: port, token: "bob", name: "bob")
        defer { bob.stop() }
        #expect(alice.userId == "alice" && !alice.connectionId.isEmpty && alice.connectionId != bob.connectionId)
        let turn = try await alice.waitFor("the TURN servers", timeout: .seconds(10)) { $0["event"] as? String == "turn" }
        #expect(turn["status"] as? Int == 200 && turn["urls"] as? [String] == coturn.urls, "\(turn)")

        // 1:1: alice starts, bob rings and joins, bob offers to alice.
        let started = try await alice.request(["cmd": "start", "channel_id": "c1"])
        #expect(started["status"] as? Int == 201, "\(started)")
        let call = try #require((started["body"] as? [String: Any])?["id"] as? String)
        let ringing = try await bob.waitForFrame("call.ringing")
        #expect((ringing["call"] as? [String: Any])?["id"] as? String == call && ringing["caller_id"] as? String == "alice")
        let joined = try await bob.request(["cmd": "join", "call_id": call])
        #expect((joined["reply"] as? [String: Any])?["type"] as? String == "ack", "\(joined)")
        #expect(joined["offer_to"] as? [String] == [alice.connectionId])
        try await alice.waitForFrame("call.participant_joined") { ($0["participant"] as? [String: Any])?["session_id"] as? String == bob.connectionId }
        for (peer, other) in [(alice, bob), (bob, alice)] {
            let connected = try await peer.waitForConnected(to: other.connectionId)
            #expect(connected["local_type"] as? String == "relay" && connected["remote_type"] as? String == "relay", "\(connected)")
            try await peer.waitForData(from: other.connectionId, count: 10)
        }
        let data = try await bob.waitForData(from: alice.connectionId, count: 1)
        #expect((data["text"] as? String)?.hasPrefix("ping alice ") == true, "\(data)")

        // A third peer joins: it offers to both; a full mesh, every pair relayed.
        let carol = try WebRTCPeer.start(port: port, token: "carol", name: "carol")
        defer { carol.stop() }
        let carolJoined = try await carol.request(["cmd": "join", "call_id": call])
        #expect(Set(carolJoined["offer_to"] as? [String] ?? []) == [alice.connectionId, bob.connectionId], "\(carolJoined)")
        for (peer, others) in [(carol, [alice, bob]), (alice, [carol]), (bob, [carol])] {
            for other in others {
                let connected = try await peer.waitForConnected(to: other.connectionId)
                #expect(connected["local_type"] as? String == "relay" && connected["remote_type"] as? String == "relay", "\(connected)")
                try await peer.waitForData(from: other.connectionId, count: 10)
            }
        }
        try await alice.request(["cmd": "links"])
        let table = try #require(alice.events.last { $0["event"] as? String == "links" }?["links"] as? [[String: Any]])
        #expect(table.count == 2 && table.allSatisfy { $0["local_type"] as? String == "relay" && $0["connection"] as? String == "connected" }, "\(table)")

        // Killed: its socket closes without a goodbye; the others drop their link to it.
        carol.kill()
        #expect(await carol.waitForExit())
        for peer in [alice, bob] {
            try await peer.waitForFrame("call.participant_left") { ($0["participant"] as? [String: Any])?["session_id"] as? String == carol.connectionId }
            try await peer.waitFor("the link to carol closed", timeout: .seconds(10)) {
                $0["event"] as? String == "link_closed" && $0["session"] as? String == carol.connectionId
            }
        }

        // Update, then end.
        let updated = try await bob.request(["cmd": "update", "call_id": call, "muted": true])
        #expect(updated["ok"] as? Bool == true, "\(updated)")
        let participant = try await alice.waitForFrame("call.participant_updated")["participant"] as? [String: Any]
        #expect(participant?["session_id"] as? String == bob.connectionId && participant?["muted"] as? Bool == true)
        let ended = try await alice.request(["cmd": "end", "call_id": call])
        #expect(ended["status"] as? Int == 204, "\(ended)")
        for peer in [alice, bob] {
            try await peer.waitForFrame("call.ended") { $0["id"] as? String == call }
            try await peer.waitFor("the link closed by the end", timeout: .seconds(10)) {
                $0["event"] as? String == "link_closed" && $0["reason"] as? String == "ended"
            }
        }
        let fetched = try await bob.request(["cmd": "get", "path": "/api/v1/calls/\(call)"])
        #expect(fetched["status"] as? Int == 200 && (fetched["body"] as? [String: Any])?["ended_at"] is String, "\(fetched)")

        // Decline a second call; a refused frame comes back as the reply, not an error.
        let second = try await alice.request(["cmd": "start", "channel_id": "c2"])
        let secondId = try #require((second["body"] as? [String: Any])?["id"] as? String)
        let declined = try await bob.request(["cmd": "decline", "call_id": secondId])
        #expect(declined["status"] as? Int == 204, "\(declined)")
        try await alice.waitForFrame("call.ended") { $0["id"] as? String == secondId }
        let refused = try await bob.request(["cmd": "frame", "frame": ["type": "call.signal", "call_id": call, "to_session_id": alice.connectionId]])
        #expect(refused["ok"] as? Bool == false && ((refused["reply"] as? [String: Any])?["error"] as? [String: Any])?["code"] as? String != nil, "\(refused)")

        // Leave: a third call, bob joins and leaves; alice drops the link.
        let third = try await alice.request(["cmd": "start", "channel_id": "c3"])
        let thirdId = try #require((third["body"] as? [String: Any])?["id"] as? String)
        let mark = bob.events.count
        try await bob.request(["cmd": "join", "call_id": thirdId])
        try await bob.waitFor("connected again", timeout: .seconds(30), since: mark) {
            $0["event"] as? String == "connected" && $0["session"] as? String == alice.connectionId
        }
        let left = try await bob.request(["cmd": "leave", "call_id": thirdId])
        #expect(left["ok"] as? Bool == true, "\(left)")
        try await bob.waitFor("the link closed by leaving", timeout: .seconds(10), since: mark) {
            $0["event"] as? String == "link_closed" && $0["reason"] as? String == "left"
        }
        let unknown = try? await bob.request(["cmd": "nonsense"])
        #expect(unknown == nil)

        // Stopped peers release their allocations: coturn logs the bytes it relayed for each.
        alice.stop()
        bob.stop()
        let aliceExited = await alice.waitForExit()
        let bobExited = await bob.waitForExit()
        #expect(aliceExited && bobExited)
        #expect(try await Self.relayedBytes(coturn, user: "alice") > 0, "\(coturn.logText.suffix(3000))")
        #expect(try await Self.relayedBytes(coturn, user: "bob") > 0, "\(coturn.logText.suffix(3000))")
        #expect(coturn.allocations >= 8, "\(coturn.logText.suffix(3000))")
    }
}
