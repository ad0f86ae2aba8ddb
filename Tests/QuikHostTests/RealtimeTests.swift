import Foundation
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@Suite("Realtime gateway", .timeLimit(.minutes(2)))
struct RealtimeTests {
    static let yaml = "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n"

    @Test("a socket gets hello first, pong for ping, and an error frame for an unknown type without being closed")
    func helloPingUnknown() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let socket = TestSocket(port: host.port, token: "alice-token")
            let hello = try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            #expect(hello["user_id"] as? String == "alice")
            #expect((hello["connection_id"] as? String)?.isEmpty == false)
            socket.send(#"{"type":"ping","id":"p1"}"#)
            try await socket.waitFor("pong") { $0["type"] as? String == "pong" && $0["id"] as? String == "p1" }
            socket.send(#"{"type":"nonsense","id":"n1"}"#)
            let error = try await socket.waitFor("error") { $0["type"] as? String == "error" }
            #expect(error["id"] as? String == "n1")
            #expect((error["error"] as? [String: Any])?["code"] as? String == "bad_request")
            socket.send("not json")
            try await socket.waitFor("error for non-JSON") { $0["type"] as? String == "error" && $0["id"] is NSNull }
            socket.send(#"{"type":"ping","id":"p2"}"#)
            try await socket.waitFor("second pong") { $0["id"] as? String == "p2" }
            #expect(socket.received.first?["type"] as? String == "hello")
            socket.close()
            let socketCode = try await socket.closed.value
            #expect(socketCode == 1000)
        }
    }

    @Test("hello is the first frame of every socket, even while events to its user flood in")
    func helloBeforeAnyEvent() async throws {
        // 30 sockets of one user at once: more than server.max_sockets_per_user allows by default, which is not the point here.
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.maxSocketsPerUser = 64 }) { host in
            let flooding = Task {
                while !Task.isCancelled {
                    _ = try? await host.client.post(
                        "/api/v1/echo/broadcast", json: #"{"user_ids":["alice"],"topic":"echo.flood","size":0,"count":200}"#)
                }
            }
            defer { flooding.cancel() }
            var sockets: [TestSocket] = []
            for _ in 0..<30 {
                let socket = TestSocket(port: host.port, token: "alice-token")
                sockets.append(socket)
                try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            }
            for socket in sockets {
                #expect(socket.received.first?["type"] as? String == "hello")
                socket.close()
                // Under the flood a socket may also have been cut off as too slow; how it ends is not the point here.
                _ = try? await socket.closed.value
            }
        }
    }

    @Test("heartbeats flow to idle sockets without disturbing frames or event numbering")
    func heartbeats() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.socketHeartbeat = .milliseconds(50) }) { host in
            let socket = TestSocket(port: host.port, token: "alice-token")
            try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            try await Task.sleep(for: .milliseconds(400))
            socket.send(#"{"type":"echo.ping","id":"a1"}"#)
            try await socket.waitFor("ack") { $0["type"] as? String == "ack" && $0["id"] as? String == "a1" }
            let event = try await socket.waitFor("event") { $0["type"] as? String == "event" }
            #expect(event["seq"] as? Int == 1)
            #expect(host.host.openSockets == 1)
        }
    }

    @Test("a plugin's frame handler acks, errors, and pushes events numbered by seq")
    func pluginFrames() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let socket = TestSocket(port: host.port, token: "alice-token")
            try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            socket.send(#"{"type":"echo.ping","id":"a1"}"#)
            try await socket.waitFor("ack") { $0["type"] as? String == "ack" && $0["id"] as? String == "a1" }
            let pong = try await socket.waitFor("event") { $0["type"] as? String == "event" }
            #expect(pong["topic"] as? String == "echo.pong")
            #expect((pong["data"] as? [String: Any])?["version"] as? String == "1.0.0")
            #expect(pong["seq"] as? Int == 1)
            socket.send(#"{"type":"echo.ping","id":"a2","fail":true}"#)
            let error = try await socket.waitFor("error") { $0["type"] as? String == "error" && $0["id"] as? String == "a2" }
            #expect((error["error"] as? [String: Any])?["code"] as? String == "validation_failed")
            socket.send(#"{"type":"echo.ping","id":"a3"}"#)
            let events = try await socket.waitForCount(2) { $0["type"] as? String == "event" }
            #expect(events.map { $0["seq"] as? Int } == [1, 2])
        }
    }

    @Test("a bad or missing token closes the socket with 4401")
    func badToken() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let forged = TestSocket(port: host.port, token: "forged")
            let forgedCode = try await forged.closed.value
            #expect(forgedCode == 4401)
            let anonymous = TestSocket(port: host.port, token: nil)
            let anonymousCode = try await anonymous.closed.value
            #expect(anonymousCode == 4401)
        }
    }

    @Test("a refused socket gets its 4401 close frame with no end of stream behind it until the client answers the close")
    func refusedSocketAwaitsTheClientsClose() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let raw = try RawSocket(port: host.port)
            raw.write(Array((
                "GET /api/v1/realtime?token=forged HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8))
            // A client still in its upgrade reads all of this in one pass; a FIN in it would be lost with the frame.
            let closeFrame: [UInt8] = [0x88, 14, 0x11, 0x31] + Array("unauthorized".utf8)
            let first = raw.read(for: .seconds(10)) { $0.suffix(closeFrame.count).elementsEqual(closeFrame) }
            #expect(String(decoding: first.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 101"))
            #expect(first.bytes.suffix(closeFrame.count).elementsEqual(closeFrame), "the close frame with 4401")
            let after = raw.read(for: .milliseconds(300))
            #expect(!first.ended && !after.ended, "no FIN until the client has answered")
            // The client's close: masked, code 4401.
            let mask: [UInt8] = [1, 2, 3, 4]
            raw.write([0x88, 0x82] + mask + [0x11 ^ mask[0], 0x31 ^ mask[1]])
            let rest = raw.read(for: .seconds(3))
            #expect(rest.ended, "the server ends the connection once the close handshake is done")
        }
    }

    @Test("events reach every socket of the addressed users and group members, and no one else")
    func audiences() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let alice1 = TestSocket(port: host.port, token: "alice-token")
            let alice2 = TestSocket(port: host.port, token: "alice-token")
            let bob = TestSocket(port: host.port, token: "bob-token")
            let carol = TestSocket(port: host.port, token: "carol-token")
            for socket in [alice1, alice2, bob, carol] {
                try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            }
            _ = try await host.client.post(
                "/api/v1/echo/broadcast", json: #"{"user_ids":["alice"],"topic":"echo.direct","size":0,"count":3}"#)
            for socket in [alice1, alice2] {
                let events = try await socket.waitForCount(3) { $0["topic"] as? String == "echo.direct" }
                #expect(events.map { ($0["data"] as? [String: Any])?["index"] as? String } == ["0", "1", "2"])
                #expect(events.map { $0["seq"] as? Int } == [1, 2, 3])
            }
            _ = try await host.client.post("/api/v1/echo/groups/join", json: #"{"group":"channel:1","user_ids":["alice","bob"]}"#)
            _ = try await host.client.post("/api/v1/echo/broadcast", json: #"{"group":"channel:1","topic":"echo.group","size":0,"count":1}"#)
            try await bob.waitFor("group event") { $0["topic"] as? String == "echo.group" }
            try await alice1.waitFor("group event") { $0["topic"] as? String == "echo.group" }
            _ = try await host.client.post("/api/v1/echo/groups/leave", json: #"{"group":"channel:1","user_ids":["bob"]}"#)
            _ = try await host.client.post("/api/v1/echo/broadcast", json: #"{"group":"channel:1","topic":"echo.after","size":0,"count":1}"#)
            try await alice1.waitFor("event after bob left") { $0["topic"] as? String == "echo.after" }
            try await Task.sleep(for: .milliseconds(200))
            #expect(!bob.received.contains { $0["topic"] as? String == "echo.after" }, "a member who left receives nothing more")
            #expect(!carol.received.contains { $0["type"] as? String == "event" }, "carol was never addressed")
        }
    }

    @Test("a client that stops reading is disconnected when its queue overflows; others get every event")
    func slowClient() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.socketQueueCapacity = 8 }) { host in
            let stuck = TestSocket(port: host.port, token: "bob-token", reading: false)
            let reader = TestSocket(port: host.port, token: "alice-token")
            try await reader.waitFor("hello") { $0["type"] as? String == "hello" }
            try await waitUntil { host.host.openSockets == 2 }
            let rounds = 40
            for round in 1...rounds {
                let reply = try await host.client.post(
                    "/api/v1/echo/broadcast", json: #"{"user_ids":["alice","bob"],"topic":"echo.big","size":262144,"count":4}"#)
                #expect(reply.status == 204)
                // The reader keeps up (at most one round, 4 frames, unflushed, under the bound of 8) however loaded the machine.
                _ = try await reader.waitForCount(round * 4, timeout: .seconds(20)) { $0["topic"] as? String == "echo.big" }
            }
            let events = try await reader.waitForCount(rounds * 4, timeout: .seconds(20)) { $0["topic"] as? String == "echo.big" }
            #expect(events.map { $0["seq"] as? Int } == Array(1...(rounds * 4)))
            try await waitUntil(timeout: .seconds(10)) { host.host.openSockets == 1 }
            let metrics = try await host.metrics().text
            #expect(metrics.contains("quik_realtime_slow_disconnects_total 1"))
            stuck.closed.cancel()
        }
    }

    @Test("shutdown closes open sockets with 1001")
    func shutdownClosesSockets() async throws {
        let (host, task) = try await TestHost.start(yaml: Self.yaml)
        let socket = TestSocket(port: host.port, token: "alice-token")
        try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
        await host.host.shutdown()
        try await task.value
        let socketCode = try await socket.closed.value
        #expect(socketCode == 1001)
    }
}
