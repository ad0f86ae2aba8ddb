import AsyncHTTPClient
import Foundation
import QuikHost
import QuikRuntime
import QuikSDK
import QuikSupport
import QuikTransport

extension Bench {
    /// Request latency with no load, then while `connections` slowloris connections are
    /// held (each a partial head and a byte every 2 s), then after the server has cut them;
    /// with how many the server cut, and when.
    static func slowloris(workspace: String, seconds: Double, connections: Int) async throws {
        // Client and server sockets share this process's descriptors.
        let softLimit = FileDescriptorLimit.raiseSoftLimit()
        guard softLimit >= connections * 2 + 1024 else {
            print("slowloris: skipped; \(connections) connections need an open-file limit of \(connections * 2 + 1024), this process has \(softLimit)")
            return
        }
        var configuration = baseConfiguration(workspace: workspace)
        let hello = BuiltinRoute(method: .get, path: "/api/v1/host-bench/hello", options: RouteOptions(requiresAuthentication: false)) { _ in
            try .json(["version": "1.0.0", "greeting": "hello"])
        }
        configuration.connections = ConnectionLimits()
        let host = try QuikHost(configuration: configuration, builtinRoutes: [hello], logger: logger())
        let (port, server) = try await serve(host)
        let headTimeout = configuration.connections.headTimeout

        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let health = "http://127.0.0.1:\(port)/health"
        let route = "http://127.0.0.1:\(port)/api/v1/host-bench/hello"
        // Every window must fit inside the head timeout while the crowd is held.
        let window = min(seconds, 3)
        _ = await latencies(client, urls: [health, route], seconds: 1)
        let idle = await latencies(client, urls: [health, route], seconds: window)

        let crowd = SlowlorisCrowd(port: port, count: connections, interval: .seconds(2))
        let opening = ContinuousClock.now
        await crowd.start()
        let openedIn = ContinuousClock.now - opening
        let held = await latencies(client, urls: [health, route], seconds: window)
        let heldTally = crowd.snapshot
        // Wait for the server to cut them (head timeout from accept), with room to spare.
        let waitUntil = opening + openedIn + headTimeout * 2 + .seconds(5)
        while crowd.snapshot.cutAfter.count < heldTally.opened, ContinuousClock.now < waitUntil {
            try await Task.sleep(for: .milliseconds(100))
        }
        let after = await latencies(client, urls: [health, route], seconds: window)
        await crowd.stop()
        let tally = crowd.snapshot
        try await client.shutdown()
        await host.shutdown()
        try await server.value

        let cut = tally.cutAfter.sorted()
        func percentile(_ values: [Double], _ p: Double) -> Double {
            values.isEmpty ? .nan : values[min(values.count - 1, Int(Double(values.count) * p))]
        }
        print(String(
            format: "slowloris, %d connections (partial head, a byte every 2 s; head timeout %.0f s): %d opened in %.1f s, %d failed to open, %d cut while latency was measured",
            connections, milliseconds(headTimeout) / 1000, tally.opened, milliseconds(openedIn) / 1000, tally.failedToOpen, heldTally.cutAfter.count))
        for (index, name) in ["/health", "GET /api/v1/host-bench/hello"].enumerated() {
            let (quiet, loaded, later) = (idle[index], held[index], after[index])
            print(String(
                format: "  %@: p50 %.2f ms, p99 %.2f ms idle; p50 %.2f ms, p99 %.2f ms held (ratio p50 %.2f, p99 %.2f); after the cut p50 %.2f ms, p99 %.2f ms; errors %d/%d/%d of %d/%d/%d",
                name, quiet.p50, quiet.p99, loaded.p50, loaded.p99, loaded.p50 / quiet.p50, loaded.p99 / quiet.p99, later.p50, later.p99,
                quiet.errors, loaded.errors, later.errors, quiet.count, loaded.count, later.count))
        }
        print(String(
            format: "  cut by the server: %d of %d (%d answered 408 first), %.1f s after connect at the earliest, p50 %.1f s, latest %.1f s",
            cut.count, tally.opened, tally.answered408, cut.first ?? .nan, percentile(cut, 0.5), cut.last ?? .nan))
        let framing = framingCost()
        print(String(
            format: "  the guard's framing of one request head and its response: %.2f µs (%.4f of the idle route p50)",
            framing, framing / 1000 / idle[1].p50))
    }

    /// Microseconds to frame a browser-sized request head and a JSON response, as the guard does per request.
    static func framingCost() -> Double {
        let request = Array((
            "GET /api/v1/host-bench/hello HTTP/1.1\r\nHost: chat.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\r\n"
            + "Accept: application/json\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
            + "Authorization: Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJVMDAwMDAwMDAwMDAwMDAwMCJ9.c2lnbmF0dXJl\r\n"
            + "X-Request-Id: 0123456789abcdef\r\nConnection: keep-alive\r\n\r\n").utf8)
        let body = #"{"version":"1.0.0","greeting":"hello"}"#
        let response = Array((
            "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nX-Request-Id: 0123456789abcdef\r\n"
            + "Content-Length: \(body.utf8.count)\r\nDate: Sat, 21 Nov 2026 10:00:00 GMT\r\n\r\n" + body).utf8)
        var requests = HTTPMessageFramer(direction: .request, maxHeadBytes: 16 << 10)
        var responses = HTTPMessageFramer(direction: .response)
        let rounds = 200_000
        var events = 0
        let elapsed = ContinuousClock().measure {
            for _ in 0..<rounds {
                if request.withUnsafeBytes({ requests.consume($0) }).event != nil { events += 1 }
                var offset = 0
                while offset < response.count {
                    let (consumed, event) = response[offset...].withUnsafeBytes { responses.consume($0) }
                    offset += consumed
                    if event != nil { events += 1 }
                }
            }
        }
        precondition(events == rounds * 3, "every head and body was framed")
        return milliseconds(elapsed) * 1000 / Double(rounds)
    }

    struct Latency {
        var p50 = Double.nan
        var p99 = Double.nan
        var count = 0
        var errors = 0
    }

    /// Per-URL latency (ms) over `seconds`, two clients per URL, all URLs at once.
    static func latencies(_ client: HTTPClient, urls: [String], seconds: Double) async -> [Latency] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        return await withTaskGroup(of: (Int, [Double], Int).self) { group in
            for (index, url) in urls.enumerated() {
                for _ in 0..<2 {
                    group.addTask {
                        var samples: [Double] = []
                        var errors = 0
                        while ContinuousClock.now < deadline {
                            let started = ContinuousClock.now
                            do {
                                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
                                _ = try await response.body.collect(upTo: 1 << 20)
                                if response.status == .ok { samples.append(milliseconds(ContinuousClock.now - started)) } else { errors += 1 }
                            } catch {
                                errors += 1
                            }
                        }
                        return (index, samples, errors)
                    }
                }
            }
            var samples = [[Double]](repeating: [], count: urls.count)
            var errors = [Int](repeating: 0, count: urls.count)
            for await (index, some, failed) in group {
                samples[index] += some
                errors[index] += failed
            }
            return zip(samples, errors).map { values, errors in
                let sorted = values.sorted()
                guard !sorted.isEmpty else { return Latency(count: 0, errors: errors) }
                return Latency(
                    p50: sorted[sorted.count / 2], p99: sorted[min(sorted.count - 1, sorted.count * 99 / 100)], count: sorted.count + errors,
                    errors: errors)
            }
        }
    }
}
