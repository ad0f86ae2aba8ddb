import Foundation
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

/// Each failure mode lives in its own fixture library; every test checks that the rest of the host keeps serving.
@Suite("Plugin isolation", .timeLimit(.minutes(2)))
struct IsolationTests {
    static let yaml = """
        plugins:
          echo:
            path: \(Fixtures.library("FixtureEchoV1"))
          dependent:
            path: \(Fixtures.library("FixtureDependent"))
          future:
            path: \(Fixtures.library("FixtureBadABI"))
          noentry:
            path: \(Fixtures.library("FixtureNoEntry"))
          thrower:
            path: \(Fixtures.library("FixtureSetupThrows"))
          outside:
            path: \(Fixtures.library("FixtureOutsideMount"))
          clash:
            path: \(Fixtures.library("FixtureMountClash"))
          rogue:
            path: \(Fixtures.library("FixtureRogue"))
          slowpoke:
            path: \(Fixtures.library("FixtureSlowpoke"))
          missing:
            path: /nonexistent/libmissing.so
        """

    /// Asserts the healthy plugins still answer.
    static func expectStillServing(_ host: TestHost) async throws {
        let hello = try await host.client.get("/api/v1/echo/hello")
        #expect(hello.status == 200)
        #expect(try hello.json()["version"] as? String == "1.0.0")
        let upper = try await host.client.get("/api/v1/dependent/upper?text=still")
        #expect(try upper.json()["text"] as? String == "STILL")
    }

    @Test("a plugin built against another SDK major version is refused with a clear message")
    func abiMismatch() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let (state, error) = try await host.pluginState("future")
            #expect(state == "failed")
            #expect(error?.contains("built against SDK 2.") == true)
            #expect(try await host.client.get("/api/v1/future/hello").status == 404)
            try await Self.expectStillServing(host)
        }
    }

    @Test("a library without the create entry symbol is reported, not called")
    func missingEntrySymbol() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let (state, error) = try await host.pluginState("noentry")
            #expect(state == "failed")
            #expect(error?.contains("quikapp_plugin_create") == true)
            let (missingState, missingError) = try await host.pluginState("missing")
            #expect(missingState == "failed")
            #expect(missingError?.contains("no plugin library") == true)
            try await Self.expectStillServing(host)
        }
    }

    @Test("a setup that throws marks the plugin failed and none of its routes are served")
    func setupThrows() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let (state, error) = try await host.pluginState("thrower")
            #expect(state == "failed")
            #expect(error?.contains("fixture refuses to start") == true)
            let reply = try await host.client.get("/api/v1/thrower/hello")
            #expect(reply.status == 404)
            #expect(reply.errorCode == "not_found")
            let health = try await host.client.get("/health").json()
            #expect(health["status"] as? String == "degraded")
            try await Self.expectStillServing(host)
        }
    }

    @Test("a handler that throws answers its own request with the envelope; the next request works")
    func handlerThrows() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let failed = try await host.client.get("/api/v1/echo/throw")
            #expect(failed.status == 500)
            #expect(failed.errorCode == "internal")
            #expect(!failed.text.contains("Cocoa"), "the error's type or text must not leak")
            #expect(failed.headers["x-request-id"] != nil)
            let refused = try await host.client.get("/api/v1/echo/refuse")
            #expect(refused.status == 409)
            #expect(refused.errorCode == "conflict")
            #expect(((try refused.json()["error"] as? [String: Any])?["details"] as? [String: String])?["why"] == "fixture")
            try await Self.expectStillServing(host)
        }
    }

    @Test("a handler past its deadline is answered 503 at the deadline while other requests are served")
    func handlerPastDeadline() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let started = ContinuousClock.now
            async let slow = host.client.get("/api/v1/echo/slow")
            var others: [Int] = []
            for _ in 0..<5 { others.append(try await host.client.get("/api/v1/echo/hello").status) }
            let reply = try await slow
            let elapsed = ContinuousClock.now - started
            #expect(reply.status == 503)
            #expect(reply.errorCode == "unavailable")
            #expect(elapsed < .seconds(4), "the handler sleeps 5 s ignoring cancellation; the deadline is 0.3 s")
            #expect(others == [200, 200, 200, 200, 200])
        }
    }

    @Test("a route outside the plugin's mount is refused at setup")
    func routeOutsideMount() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let (state, error) = try await host.pluginState("outside")
            #expect(state == "failed")
            #expect(error?.contains("outside the plugin's mount") == true)
            try await Self.expectStillServing(host)
        }
    }

    @Test("a second plugin claiming a mount is refused")
    func mountClash() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let (state, error) = try await host.pluginState("clash")
            #expect(state == "failed")
            #expect(error?.contains("mount 'echo' already belongs to plugin 'echo'") == true)
            try await Self.expectStillServing(host)
        }
    }

    @Test("publishing outside the plugin's namespace is refused and reaches no subscriber")
    func topicOutsideNamespace() async throws {
        try await TestHost.with(yaml: Self.yaml) { host in
            let forged = try await host.client.post("/api/v1/rogue/publish?topic=echo.said")
            #expect(forged.status == 403)
            #expect(forged.errorCode == "forbidden")
            let own = try await host.client.post("/api/v1/rogue/publish?topic=rogue.said")
            #expect(own.status == 200)
            let genuine = try await host.client.post("/api/v1/echo/publish?topic=echo.said&n=1")
            #expect(genuine.status == 200)
            try await waitUntil { try await host.client.get("/api/v1/dependent/received").jsonArray().count == 1 }
            let received = try await host.client.get("/api/v1/dependent/received").jsonArray() as? [String] ?? []
            #expect(received.allSatisfy { !$0.contains("forged") })
            try await Self.expectStillServing(host)
        }
    }

    @Test("a slow subscriber delays neither the publisher nor other subscribers")
    func slowSubscriber() async throws {
        try await TestHost.with(yaml: Self.yaml, tweak: { $0.eventQueueCapacity = 32 }) { host in
            // Bursts smaller than the queue, so a subscriber that keeps up never loses one;
            // slowpoke (10 s per event) overflows after its first 33.
            let bursts = 12
            let burst = 25
            let count = bursts * burst
            var slowest = Duration.zero
            for round in 1...bursts {
                let started = ContinuousClock.now
                let published = try await host.client.post("/api/v1/echo/publish?topic=echo.tick&n=\(burst)")
                #expect(published.status == 200)
                try await waitUntil { try await host.client.get("/api/v1/dependent/received").jsonArray().count == round * burst }
                slowest = max(slowest, ContinuousClock.now - started)
            }
            // Waiting for slowpoke would cost a round 10 s; a round that keeps up takes milliseconds, seconds on a loaded machine.
            #expect(slowest < .seconds(5), "slowpoke takes 10 s per event; publishing must not wait for it (slowest round \(slowest))")
            try await waitUntil(timeout: .seconds(10)) {
                try await host.client.get("/api/v1/dependent/received").jsonArray().count >= count
            }
            let received = try await host.client.get("/api/v1/dependent/received").jsonArray() as? [String] ?? []
            let indices = received.compactMap { entry -> Int? in
                guard let data = entry.split(separator: "#", maxSplits: 1).last.map({ Data($0.utf8) }) else { return nil }
                return (try? JSONSerialization.jsonObject(with: data) as? [String: Int])?["index"]
            }
            let expected = (0..<bursts).flatMap { _ in Array(0..<burst) }
            #expect(indices == expected, "a fast subscriber gets every event, in publish order")
            #expect(received.count == count)
            let handled = try await host.client.get("/api/v1/slowpoke/handled").json()["handled"] as? Int
            #expect(handled == 0)
            let metrics = try await host.metrics().text
            #expect(metrics.contains("quik_events_dropped_total{plugin=\"slowpoke\"}"))
        }
    }

    @Test("a plugin depending on a disabled plugin is reported blocked; the rest serve")
    func dependencyOnDisabledPlugin() async throws {
        let yaml = """
            plugins:
              echo:
                enabled: false
                path: \(Fixtures.library("FixtureEchoV1"))
              dependent:
                path: \(Fixtures.library("FixtureDependent"))
              rogue:
                path: \(Fixtures.library("FixtureRogue"))
            """
        try await TestHost.with(yaml: yaml) { host in
            let (state, error) = try await host.pluginState("dependent")
            #expect(state == "blocked")
            #expect(error?.contains("depends on 'echo', which is disabled") == true)
            #expect(try await host.client.get("/api/v1/dependent/received").status == 404)
            #expect(try await host.client.post("/api/v1/rogue/publish?topic=rogue.x").status == 200)
            let plugins = try await host.client.get("/health").json()["plugins"] as? [[String: Any]] ?? []
            #expect(plugins.map { $0["name"] as? String } == ["dependent", "rogue"], "disabled plugins are not listed")
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func waitUntil(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("condition not met within \(timeout)")
}
