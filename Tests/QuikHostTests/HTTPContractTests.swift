import Foundation
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@Suite("HTTP contract", .timeLimit(.minutes(2)))
struct HTTPContractTests {
    static let yaml = "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n"

    @Test("every response carries X-Request-Id, echoing the client's")
    func requestIds() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let echoed = try await host.client.get("/api/v1/echo/hello", headers: ["X-Request-Id": "client-id-1"])
            #expect(echoed.headers["x-request-id"] == "client-id-1")
            let generated = try await host.client.get("/nowhere")
            #expect(generated.headers["x-request-id"]?.hasPrefix("req_") == true)
            #expect(generated.status == 404)
            #expect(generated.errorCode == "not_found")
        }
    }

    @Test("a body over the limit is refused with 413 in the envelope")
    func bodyLimit() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.maxBodyBytes = 1024 }) { host in
            let small = try await host.client.send("POST", "/api/v1/echo/echo", body: Data(repeating: 65, count: 1000))
            #expect(small.status == 200)
            #expect(small.body.count == 1000)
            let large = try await host.client.send("POST", "/api/v1/echo/echo", body: Data(repeating: 65, count: 4096))
            #expect(large.status == 413)
            #expect(large.errorCode == "payload_too_large")
        }
    }

    @Test("protected routes need a valid token; the plugin sees the caller")
    func authentication() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let anonymous = try await host.client.get("/api/v1/echo/whoami")
            #expect(anonymous.status == 401)
            #expect(anonymous.errorCode == "unauthorized")
            let forged = try await host.client.get("/api/v1/echo/whoami", token: "forged")
            #expect(forged.status == 401)
            let alice = try await host.client.get("/api/v1/echo/whoami", token: "alice-token")
            #expect(try alice.json()["user_id"] as? String == "alice")
            #expect(try await host.client.get("/api/v1/admin/plugins", token: "alice-token").status == 403)
            #expect(try await host.client.get("/api/v1/admin/plugins", token: "admin-token").status == 200)
        }
    }

    @Test("path parameters and query items reach the handler; literal segments win over parameters")
    func routing() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let item = try await host.client.get("/api/v1/echo/items/a%20b?q=x+y")
            #expect(try item.json()["id"] as? String == "a b")
            #expect(try item.json()["q"] as? String == "x y")
            #expect(try await host.client.get("/api/v1/echo/items/special").json()["id"] as? String == "special")
            #expect(try await host.client.send("DELETE", "/api/v1/echo/items/1").status == 404)
        }
    }

    @Test("/metrics and the OpenAPI document describe the host and every running plugin")
    func metricsAndOpenAPI() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            _ = try await host.client.get("/api/v1/echo/items/7")
            let metrics = try await host.metrics()
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"quik_http_requests_total{route="/api/v1/echo/items/{id}",method="GET",status="200"} 1"#))
            #expect(metrics.text.contains("quik_plugin_load_seconds"))
            let document = try await host.client.get("/api/v1/openapi.json").json()
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = document["paths"] as? [String: Any] ?? [:]
            #expect(paths["/api/v1/echo/items/{id}"] != nil)
            #expect(paths["/health"] != nil)
            let whoami = (paths["/api/v1/echo/whoami"] as? [String: Any])?["get"] as? [String: Any]
            #expect(whoami?["security"] != nil, "protected routes are marked")
        }
    }

    @Test("shutdown lets in-flight requests finish")
    func gracefulShutdown() async throws {
        let (host, task) = try await TestHost.start(yaml: Self.yaml)
        async let inflight = host.client.get("/api/v1/echo/wait?ms=2000")
        // Room for the request to arrive on a loaded machine: a connection that has sent no head yet is closed at shutdown.
        try await Task.sleep(for: .milliseconds(700))
        await host.host.shutdown()
        let reply = try await inflight
        #expect(reply.status == 200)
        #expect(try reply.json()["waited_ms"] as? Int == 2000)
        try await task.value
    }
}
