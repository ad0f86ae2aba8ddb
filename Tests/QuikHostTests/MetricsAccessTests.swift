import Foundation
import QuikHost
import QuikTesting
import Testing
@testable import QuikRuntime

/// `GET /metrics` is open only to the metrics token, or on the metrics address.
@Suite("Metrics access", .timeLimit(.minutes(2)))
struct MetricsAccessTests {
    static let yaml = "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n"

    @Test("/metrics answers 401 without the token or with a wrong one, and 200 with it")
    func token() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let anonymous = try await host.client.get("/metrics")
            #expect(anonymous.status == 401)
            #expect(anonymous.errorCode == "unauthorized")
            #expect(anonymous.headers["x-request-id"] != nil)
            #expect(!anonymous.text.contains("quik_"))
            #expect(try await host.client.get("/metrics", token: PluginTestHost.metricsToken + "x").status == 401)
            #expect(try await host.client.get("/metrics", token: "alice-token").status == 401, "an access token is not the metrics token")
            let allowed = try await host.metrics()
            #expect(allowed.status == 200)
            #expect(allowed.text.contains("quik_http_requests_total"))
        }
    }

    @Test("with neither a token nor an address configured, /metrics answers 401 to everyone")
    func neither() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.metricsToken = nil }) { (host: TestHost) async throws in
            #expect(try await host.client.get("/metrics").status == 401)
            #expect(try await host.client.get("/metrics", token: PluginTestHost.metricsToken).status == 401)
            #expect(try await host.client.get("/metrics", token: "admin-token").status == 401)
        }
    }

    @Test("the metrics address serves /metrics with no token and nothing else; the main port still needs the token")
    func address() async throws {
        let tweak: (inout HostConfiguration) -> Void = { $0.metricsAddress = ListenAddress(host: "127.0.0.1", port: 0) }
        try await TestHost.with(yaml: Self.yaml, tweak: tweak) { host in
            let port = try await Self.metricsPort(host.host)
            #expect(port != host.port)
            let metrics = HTTPTestClient(port: port)
            _ = try await host.client.get("/api/v1/echo/items/7")
            let open = try await metrics.get("/metrics")
            #expect(open.status == 200)
            #expect(open.text.contains(#"route="/api/v1/echo/items/{id}""#))
            #expect(open.headers["x-request-id"] != nil)
            let elsewhere = try await metrics.get("/health")
            #expect(elsewhere.status == 404)
            #expect(elsewhere.errorCode == "not_found")
            #expect(try await metrics.get("/api/v1/echo/items/7").status == 404, "plugins are not served there")
            #expect(try await host.client.get("/metrics").status == 401)
            #expect(try await host.metrics().status == 200)
        }
        // With the address and no token, the main port opens to no one.
        try await TestHost.with(yaml: Self.yaml, tweak: { tweak(&$0); $0.metricsToken = nil }) { (host: TestHost) async throws in
            #expect(try await HTTPTestClient(port: try await Self.metricsPort(host.host)).get("/metrics").status == 200)
            #expect(try await host.client.get("/metrics", token: PluginTestHost.metricsToken).status == 401)
        }
    }

    /// The metrics address's port: it starts with the host, independently of the main listener.
    static func metricsPort(_ host: QuikHost) async throws -> Int {
        for _ in 0..<200 {
            if let port = host.metricsPort { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the metrics address did not listen")
    }
}
