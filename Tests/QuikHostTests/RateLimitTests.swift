import Foundation
import QuikHost
import QuikSDK
import Testing

@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@Suite("Rate limits", .timeLimit(.minutes(2)))
struct RateLimitTests {
    static let yaml = "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n"

    static func limited(_ configuration: inout HostConfiguration) {
        configuration.rateLimits.enabled = true
        configuration.rateLimits.anonymous = RateLimit(requests: 1, perSeconds: 60, burst: 3)
        configuration.rateLimits.read = RateLimit(requests: 1, perSeconds: 60, burst: 2)
    }

    @Test("past its class's burst a caller gets 429 rate_limited with Retry-After; other callers are untouched")
    func perCallerClasses() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: Self.limited) { host in
            for _ in 0..<3 { #expect(try await host.client.get("/api/v1/echo/hello").status == 200) }
            let refused = try await host.client.get("/api/v1/echo/hello")
            #expect(refused.status == 429)
            #expect(refused.errorCode == "rate_limited")
            #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)

            // Signed in, alice is counted apart from the anonymous address, under the read class.
            for _ in 0..<2 { #expect(try await host.client.get("/api/v1/echo/whoami", token: "alice-token").status == 200) }
            #expect(try await host.client.get("/api/v1/echo/whoami", token: "alice-token").status == 429)
            #expect(try await host.client.get("/api/v1/echo/whoami", token: "bob-token").status == 200)
            // Health is never limited.
            #expect(try await host.client.get("/health").status == 200)
        }
    }

    @Test("a route's own limit applies instead of its class's")
    func routeOwnLimit() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.rateLimits.enabled = true }) { host in
            var statuses: [Int] = []
            for _ in 0..<3 { statuses.append(try await host.client.get("/api/v1/echo/limited").status) }
            #expect(statuses == [200, 200, 429])
            #expect(try await host.client.get("/api/v1/echo/hello").status == 200, "other routes keep the class limit")
        }
    }

    @Test("frames past a socket's burst get rate_limited errors and are not handled; a flood closes that socket with 4429; the user's other socket is answered at once")
    func frameFlood() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { configuration in
            configuration.rateLimits.enabled = true
            configuration.rateLimits.frames = RateLimit(requests: 20, perSeconds: 1, burst: 10)
        }) { host in
            let flooding = TestSocket(port: host.port, token: "alice-token")
            let calm = TestSocket(port: host.port, token: "alice-token")
            try await flooding.waitFor("hello") { $0["type"] as? String == "hello" }
            try await calm.waitFor("hello") { $0["type"] as? String == "hello" }
            for index in 0..<15 { flooding.send(#"{"type":"ping","id":"f\#(index)"}"#) }
            // Each frame gets one answer: a pong within the rate, else a rate_limited error.
            let isRefusal = { (frame: [String: Any]) in (frame["error"] as? [String: Any])?["code"] as? String == "rate_limited" }
            let answers = try await flooding.waitForCount(15) { $0["type"] as? String == "pong" || isRefusal($0) }
            let refused = answers.filter(isRefusal).count
            #expect(refused >= 1 && refused <= 5, "the burst of 10 passes (and what refilled meanwhile)")
            for index in 15..<70 { flooding.send(#"{"type":"ping","id":"f\#(index)"}"#) }
            let code = try await flooding.closed.value
            #expect(code == 4429)
            let pongsAtClose = flooding.received.filter { $0["type"] as? String == "pong" }.count
            #expect(pongsAtClose < 40, "most of the flood was refused, not handled")
            calm.send(#"{"type":"ping","id":"c"}"#)
            try await calm.waitFor("calm pong", timeout: .seconds(1)) { $0["id"] as? String == "c" }
        }
    }

    @Test("server.rate_limits in plugins.yml sets each class; an unknown class is refused with its location")
    func configuration() throws {
        let parsed = try PluginsFile.parse(
            "server:\n  rate_limits:\n    write: {requests: 5, per_seconds: 2, burst: 9}\n    enabled: false\nplugins: {}\n", file: "p.yml")
        #expect(parsed.rateLimits.write == RateLimit(requests: 5, perSeconds: 2, burst: 9))
        #expect(parsed.rateLimits.enabled == false)
        #expect(parsed.rateLimits.read == RateLimitConfiguration().read)
        #expect(throws: ConfigurationError.self) {
            _ = try PluginsFile.parse("server:\n  rate_limits:\n    sideways: {requests: 1}\nplugins: {}\n", file: "p.yml")
        }
    }
}
