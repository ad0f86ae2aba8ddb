import Foundation
import QuikHost
import Testing

@testable import QuikRuntime

@Suite("Plugin background tasks", .timeLimit(.minutes(2)))
struct PluginTasksTests {
    @Test("a plugin's background task runs, and is cancelled and awaited before shutdown() on reload and on host shutdown")
    func cancelledAndAwaited() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let library = directory + "/libecho.so"
        let journal = directory + "/journal"
        try HotReloadTests.install(Fixtures.library("FixtureEchoV1"), at: library)
        let yaml = "plugins:\n  echo:\n    path: \(library)\n    settings:\n      journal: \(journal)\n"
        let (host, task) = try await TestHost.start(yaml: yaml, devMode: true, tweak: { $0.reloadPollInterval = .milliseconds(50) })
        try await waitUntil {
            (Int(try await host.client.get("/api/v1/echo/ticks").json()["ticks"] as? String ?? "") ?? 0) > 3
        }
        try HotReloadTests.install(Fixtures.library("FixtureEchoV2"), at: library)
        try await waitUntil(timeout: .seconds(10)) {
            host.host.pluginStatuses.first { $0.name == "echo" }?.version == "2.0.0"
        }
        try await waitUntil { (try? String(contentsOfFile: journal, encoding: .utf8))?.contains("1.0.0 shutdown") == true }
        try await waitUntil {
            (Int(try await host.client.get("/api/v1/echo/ticks").json()["ticks"] as? String ?? "") ?? 0) > 3
        }
        await host.host.shutdown()
        try await task.value
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == ["1.0.0 task ended", "1.0.0 shutdown", "2.0.0 task ended", "2.0.0 shutdown"])
    }
}
