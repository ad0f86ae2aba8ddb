import Foundation
import QuikHost
import Synchronization
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@Suite("Hot reload", .timeLimit(.minutes(2)))
struct HotReloadTests {
    /// Replaces `path` with `source` the way a build does: write beside it, then rename over it.
    static func install(_ source: String, at path: String) throws {
        let staging = path + ".tmp"
        try? FileManager.default.removeItem(atPath: staging)
        try FileManager.default.copyItem(atPath: source, toPath: staging)
        _ = rename(staging, path)
    }

    @Test("a plugin reloaded under a steady stream of requests answers every request and switches to the new version")
    func reloadUnderLoad() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let library = directory + "/libecho.so"
        try Self.install(Fixtures.library("FixtureEchoV1"), at: library)
        let yaml = "plugins:\n  echo:\n    path: \(library)\n  dependent:\n    path: \(Fixtures.library("FixtureDependent"))\n"
        try await TestHost.with(yaml: yaml, devMode: true, tweak: { $0.reloadPollInterval = .milliseconds(50) }) { host in
            let stop = StopFlag()
            let answered = Counter()
            // Requests each client sent after the new version was serving.
            let afterSwitch = (0..<4).map { _ in Counter() }
            let switched = StopFlag()
            let answers = try await withThrowingTaskGroup(of: [String].self) { group in
                for client in 0..<4 {
                    group.addTask {
                        var versions: [String] = []
                        while !stop.isSet {
                            let sentAfterSwitch = switched.isSet
                            let reply = try await host.client.get("/api/v1/echo/hello")
                            answered.increment()
                            if sentAfterSwitch { afterSwitch[client].increment() }
                            guard reply.status == 200 else {
                                versions.append("status \(reply.status): \(reply.text)")
                                continue
                            }
                            versions.append(try reply.json()["version"] as? String ?? "?")
                        }
                        return versions
                    }
                }
                // Enough requests on each side of the switch, however loaded the machine.
                try await waitUntil(timeout: .seconds(20)) { answered.count >= 12 }
                try Self.install(Fixtures.library("FixtureEchoV2"), at: library)
                try await waitUntil(timeout: .seconds(10)) {
                    host.host.pluginStatuses.first { $0.name == "echo" }?.version == "2.0.0"
                }
                switched.set()
                // Every client, however slow on a loaded machine, sends a few requests after the switch.
                try await waitUntil(timeout: .seconds(20)) { afterSwitch.allSatisfy { $0.count >= 3 } }
                stop.set()
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }
            for versions in answers {
                #expect(versions.allSatisfy { $0 == "1.0.0" || $0 == "2.0.0" }, "every request answered: \(Set(versions))")
                #expect(versions.first == "1.0.0")
                #expect(versions.last == "2.0.0")
                let firstNew = versions.firstIndex(of: "2.0.0") ?? versions.endIndex
                #expect(!versions[firstNew...].contains("1.0.0"), "once a client sees the new version it never sees the old one")
            }
            #expect(answers.joined().count >= 24)
            // The new version's frame handlers, services and subscriptions are live too.
            #expect(try await host.client.get("/api/v1/dependent/upper?text=v2").json()["text"] as? String == "V2")
            let status = try #require(host.host.pluginStatuses.first { $0.name == "echo" })
            #expect(status.reloads == 1)
            #expect(status.state == .running)
        }
    }

    @Test("a reload that fails keeps the old version serving and says why")
    func failedReloadKeepsOldVersion() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let library = directory + "/libecho.so"
        try Self.install(Fixtures.library("FixtureEchoV1"), at: library)
        try await TestHost.with(yaml: "plugins:\n  echo:\n    path: \(library)\n", devMode: true) { host in
            try Self.install(Fixtures.library("FixtureBadABI"), at: library)
            let reply = try await host.client.post("/api/v1/admin/plugins/echo/reload", token: "admin-token")
            #expect(reply.status == 409)
            #expect(reply.text.contains("built against SDK 2."))
            #expect(try await host.client.get("/api/v1/echo/hello").json()["version"] as? String == "1.0.0")
            let listing = try await host.client.get("/api/v1/admin/plugins", token: "admin-token").json()
            let echo = (listing["items"] as? [[String: Any]])?.first
            #expect(echo?["state"] as? String == "running")
            #expect((echo?["last_reload_error"] as? String)?.contains("built against SDK 2.") == true)
        }
    }

    @Test("the reload endpoint is for admins, and only in dev mode")
    func reloadEndpoint() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let library = directory + "/libecho.so"
        try Self.install(Fixtures.library("FixtureEchoV1"), at: library)
        let yaml = "plugins:\n  echo:\n    path: \(library)\n"
        try await TestHost.with(yaml: yaml, devMode: true, tweak: { $0.reloadPollInterval = .seconds(3600) }) { host in
            try Self.install(Fixtures.library("FixtureEchoV2"), at: library)
            #expect(try await host.client.post("/api/v1/admin/plugins/echo/reload").status == 401)
            #expect(try await host.client.post("/api/v1/admin/plugins/echo/reload", token: "alice-token").status == 403)
            let reply = try await host.client.post("/api/v1/admin/plugins/echo/reload", token: "admin-token")
            #expect(reply.status == 200)
            #expect(try reply.json()["version"] as? String == "2.0.0")
            #expect(try await host.client.get("/api/v1/echo/hello").json()["version"] as? String == "2.0.0")
        }
        try await TestHost.with(yaml: yaml, devMode: false) { host in
            let reply = try await host.client.post("/api/v1/admin/plugins/echo/reload", token: "admin-token")
            #expect(reply.status == 404)
        }
    }
}

/// Tells the client loops to stop.
final class StopFlag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// Counts from any task.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
