import Foundation
import QuikHost
import Testing
@testable import QuikRuntime

/// Slow, idle and oversized clients, and the connection cap, driven from outside over
/// real TCP sockets. Timeouts are shortened to a few hundred milliseconds; each bound
/// checked is several times the configured one, so a loaded machine does not fail them.
@Suite("Connection guard", .timeLimit(.minutes(2)))
struct ConnectionGuardTests {
    static let yaml = "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n"

    @Test("a head that trickles in past the head timeout is answered 408 in the envelope and closed")
    func headTimeout() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.connections.headTimeout = .milliseconds(300) }) { host in
            let socket = try TrickleSocket(port: host.port)
            let started = ContinuousClock.now
            await socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: trickle-1\r\nX-Pad: ")
            // A byte every 50 ms: a timer reset by each byte would never fire.
            while !socket.closed, ContinuousClock.now - started < .seconds(20) {
                await socket.write("a")
                try await Task.sleep(for: .milliseconds(50))
                socket.poll()
            }
            #expect(socket.closed)
            #expect(ContinuousClock.now - started < .seconds(10), "cut near 300 ms (later on a loaded machine), not when the client stopped")
            let (response, _) = try #require(RawHTTPResponse.parse(socket.received))
            #expect(response.status == 408)
            #expect(response.errorCode == "request_timeout")
            #expect(response.headers["x-request-id"] == "trickle-1")
            #expect(response.headers["connection"] == "close")
            #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
        }
    }

    @Test("a new connection that sends nothing is closed at the head timeout, with no answer")
    func silentConnection() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.connections.headTimeout = .milliseconds(300) }) { host in
            let socket = try TrickleSocket(port: host.port)
            await socket.read(for: .seconds(5))
            #expect(socket.closed)
            #expect(socket.received.isEmpty)
        }
    }

    @Test("a body that stalls is dropped; one that trickles without stalling is served")
    func bodyStall() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.connections.bodyStallTimeout = .milliseconds(1500) }) { host in
            let head = "POST /api/v1/echo/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
            let stalled = try TrickleSocket(port: host.port)
            let started = ContinuousClock.now
            await stalled.write(head + #"{"a":"#)
            await stalled.read(for: .seconds(25))
            #expect(stalled.closed)
            // The request deadline is 30 s: only the stall rule closes it this soon.
            #expect(ContinuousClock.now - started < .seconds(20))
            #expect(!stalled.text.contains("200"))

            // 1.2 s in all, but never 1.5 s without a byte (even when a loaded machine sleeps late).
            let trickling = try TrickleSocket(port: host.port)
            await trickling.write(head)
            for byte in #"{"a":"bcde"}"#.utf8 {
                try await Task.sleep(for: .milliseconds(100))
                await trickling.write([byte])
            }
            let response = try await trickling.response()
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"a":"bcde"}"#)
        }
    }

    @Test("a keep-alive connection idle past the idle timeout is closed; an active one is not")
    func idleKeepAlive() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.connections.idleTimeout = .seconds(2) }) { host in
            let active = try TrickleSocket(port: host.port)
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(5) {
                #expect(try await active.get("/health").status == 200)
                try await Task.sleep(for: .milliseconds(150))
            }
            active.poll()
            #expect(!active.closed, "requests 150 ms apart keep the connection")

            let idle = try TrickleSocket(port: host.port)
            #expect(try await idle.get("/health").status == 200)
            let answered = ContinuousClock.now
            await idle.read(for: .seconds(20))
            #expect(idle.closed)
            #expect(ContinuousClock.now - answered < .seconds(15))
            #expect(idle.received.isEmpty, "an idle close says nothing")
        }
    }

    @Test("a head over 16 KiB is answered 431 in the envelope and closed; one under it is served")
    func headTooLarge() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let under = try TrickleSocket(port: host.port)
            let fits = try await under.get("/health", headers: "X-Pad: \(String(repeating: "a", count: 15 << 10))\r\n")
            #expect(fits.status == 200)

            let over = try TrickleSocket(port: host.port)
            await over.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: big-1\r\nX-Pad: \(String(repeating: "a", count: 17 << 10))\r\n\r\n")
            let response = try await over.response()
            #expect(response.status == 431)
            #expect(response.errorCode == "request_header_fields_too_large")
            #expect(response.headers["x-request-id"] == "big-1")
            #expect(response.headers["connection"] == "close")
            await over.read(for: .seconds(5))
            #expect(over.closed)
        }
    }

    @Test("the decoder behind the guard takes every head the guard lets through: many short lines, or a raised limit")
    func decoderLimitsAboveTheGuard() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.connections.maxHeaderBytes = 200 << 10 }) { host in
            // 3,000 header lines in 15 KiB: over swift-nio's default count of 1,000.
            let many = try TrickleSocket(port: host.port)
            let lines = (0..<3000).map { "x\($0 % 10):\r\n" }.joined()
            #expect(try await many.get("/health", headers: lines).status == 200)
            // 150 KiB of one header: over swift-nio's default 80 KiB, under the configured 200 KiB.
            let long = try TrickleSocket(port: host.port)
            #expect(try await long.get("/health", headers: "X-Pad: \(String(repeating: "a", count: 150 << 10))\r\n").status == 200)
        }
    }

    @Test("1 MiB of headers is answered 431 and the server stays healthy")
    func megabyteOfHeaders() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let socket = try TrickleSocket(port: host.port)
            // The server may stop taking bytes part way; what matters is its answer.
            await socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: \(String(repeating: "a", count: 1 << 20))\r\n\r\n")
            await socket.read(for: .seconds(10))
            #expect(socket.closed)
            let (response, _) = try #require(RawHTTPResponse.parse(socket.received))
            #expect(response.status == 431)
            #expect(response.errorCode == "request_header_fields_too_large")
            #expect(response.headers["x-request-id"]?.hasPrefix("req_") == true)
            #expect(try await host.client.get("/health").status == 200)
        }
    }

    @Test("over the connection cap a new connection gets 503 and is closed, while an open keep-alive one is still served")
    func connectionCap() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.connections.maxConnections = 2 }) { host in
            let kept = try TrickleSocket(port: host.port)
            #expect(try await kept.get("/health").status == 200)
            // Answered, so surely counted before the next one is accepted.
            let second = try TrickleSocket(port: host.port)
            #expect(try await second.get("/health").status == 200)

            let refused = try TrickleSocket(port: host.port)
            await refused.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await refused.read(for: .seconds(5))
            #expect(refused.closed)
            let (response, _) = try #require(RawHTTPResponse.parse(refused.received))
            #expect(response.status == 503)
            #expect(response.errorCode == "unavailable")
            #expect(response.headers["retry-after"] == "1")
            #expect(response.headers["connection"] == "close")
            #expect(response.headers["x-request-id"]?.hasPrefix("req_") == true)

            #expect(try await kept.get("/health").status == 200)

            // A place freed is a place taken again.
            second.disconnect()
            var admitted = false
            for _ in 0..<50 where !admitted {
                let next = try TrickleSocket(port: host.port)
                await next.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                admitted = (try? await next.response(within: .seconds(2)))?.status == 200
                if !admitted { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(admitted)
        }
    }

    @Test("a WebSocket connection is not cut by the head or idle timeout")
    func webSocketPassesThrough() async throws {
        let tweak: (inout HostConfiguration) -> Void = {
            $0.connections.headTimeout = .milliseconds(300)
            $0.connections.idleTimeout = .milliseconds(300)
        }
        try await TestHost.with(yaml: Self.yaml, tweak: tweak) { host in
            let socket = TestSocket(port: host.port, token: "alice-token")
            try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            // Heartbeats are 30 s apart: nothing crosses the socket meanwhile.
            try await Task.sleep(for: .milliseconds(1500))
            socket.send(#"{"type":"ping","id":"late"}"#)
            try await socket.waitFor("pong") { $0["type"] as? String == "pong" && $0["id"] as? String == "late" }
            socket.close()
            #expect(try await socket.closed.value == 1000)
        }
    }

    @Test("pipelined requests, a chunked body and keep-alive pass the guard in order, byte by byte or all at once")
    func pipelining() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let requests =
                "GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: p-1\r\n\r\n"
                + "POST /api/v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Request-Id: p-2\r\n\r\n"
                + "4\r\n{\"a\"\r\n5;ext=1\r\n:\"b\"}\r\n0\r\n\r\n"
                + "POST /api/v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Request-Id: p-3\r\n\r\n{}"
                + "GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: p-4\r\n\r\n"
            for whole in [true, false] {
                let socket = try TrickleSocket(port: host.port)
                if whole {
                    await socket.write(requests)
                } else {
                    for byte in requests.utf8 { await socket.write([byte]) }
                }
                var answers: [RawHTTPResponse] = []
                for _ in 0..<4 { answers.append(try await socket.response()) }
                #expect(answers.map(\.status) == [200, 200, 200, 200])
                #expect(answers.map { $0.headers["x-request-id"] ?? "" } == ["p-1", "p-2", "p-3", "p-4"])
                #expect(String(decoding: answers[1].body, as: UTF8.self) == #"{"a":"b"}"#)
                #expect(try await socket.get("/health").status == 200, "still open for more")
            }
        }
    }

    @Test("shutdown closes connections with no request under way at once instead of waiting for their timeouts")
    func shutdownSkipsIdleConnections() async throws {
        let (host, task) = try await TestHost.start(yaml: Self.yaml)
        let partial = try TrickleSocket(port: host.port)
        await partial.write("GET /health HTTP/1.1\r\nHost: x\r\n")
        let idle = try TrickleSocket(port: host.port)
        #expect(try await idle.get("/health").status == 200)
        let mute = try TrickleSocket(port: host.port)
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        await host.host.shutdown()
        try await task.value
        // Head timeout 10 s, idle 60 s: only the shutdown closes them this soon.
        #expect(ContinuousClock.now - started < .seconds(5))
        for socket in [partial, idle, mute] { await socket.read(for: .seconds(1)) }
        #expect([partial, idle, mute].allSatisfy { $0.closed })
    }

    @Test("cut and refused connections leave no error in the logs; the cap in force is logged once at start")
    func quietLogs() async throws {
        var configuration = try PluginsFile.parse(Self.yaml, file: "t")
        configuration.port = 0
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        // Short, but long enough that a loaded machine still sends each head in time.
        configuration.connections.headTimeout = .seconds(1)
        configuration.connections.bodyStallTimeout = .seconds(1)
        configuration.connections.idleTimeout = .seconds(2)
        configuration.connections.maxConnections = 4
        let logs = CapturedLogs()
        let started = try await TestHost.start(configuration: configuration, logs: logs)
        try await TestHost.serve(started) { host in
            let slow = try TrickleSocket(port: host.port)
            await slow.write("GET /health HTTP/1.1\r\nHost: x\r\n")
            let large = try TrickleSocket(port: host.port)
            await large.write("GET /health HTTP/1.1\r\nX-Pad: \(String(repeating: "a", count: 20 << 10))\r\n\r\n")
            let stalled = try TrickleSocket(port: host.port)
            await stalled.write("POST /api/v1/echo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{")
            let idle = try TrickleSocket(port: host.port)
            #expect(try await idle.get("/health").status == 200)
            let refused = try TrickleSocket(port: host.port)
            for socket in [slow, large, stalled, idle, refused] { await socket.read(for: .seconds(10)) }
            #expect([slow, large, stalled, idle, refused].allSatisfy { $0.closed })
            #expect(RawHTTPResponse.parse(refused.received)?.0.status == 503)
        }
        let lines = logs.all
        let errors = lines.filter { $0.hasPrefix("error") || $0.hasPrefix("critical") || $0.hasPrefix("warning") }
        #expect(errors.isEmpty, "\(errors)")
        #expect(lines.filter { $0.hasPrefix("info connection cap") }.count == 1)
        #expect(lines.contains { $0.hasPrefix("info connection cap") && $0.contains("max_connections=4") })
    }
}
