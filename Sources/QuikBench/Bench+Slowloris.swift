import AsyncHTTPClient
import Foundation
import QuikHost
import QuikRuntime
import QuikSDK
import QuikSupport

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
