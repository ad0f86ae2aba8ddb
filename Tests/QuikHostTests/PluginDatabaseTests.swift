import Foundation
import QuikSDK
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// Plugins' databases through a running host.
@Suite("Plugin databases", .timeLimit(.minutes(3)))
struct PluginDatabaseTests {
    /// Copies the notes fixture so that it loads as plugin `name`.
    static func notes(_ name: String, in directory: String) throws -> String {
        let path = "\(directory)/lib\(name).so"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: Fixtures.library("FixtureNotes"), toPath: path)
        return path
    }

    @Test("a plugin's account can neither read nor write another plugin's tables, and keeps working")
    func schemaIsolation() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let yaml = """
            plugins:
              notes-a:
                path: \(try Self.notes("notes-a", in: directory))
              notes-b:
                path: \(try Self.notes("notes-b", in: directory))
            """
        var prefix = ""
        try await TestHost.with(yaml: yaml, tweak: { prefix = $0.database.schemaPrefix }) { host in
            let created = try await host.client.post("/api/v1/notes-b/notes", json: #"{"body":"b's secret"}"#)
            #expect(created.status == 201)
            let read = try await host.client.get("/api/v1/notes-a/peek?schema=\(prefix)notes_b")
            #expect(try read.json()["outcome"] as? String == "denied")
            let write = try await host.client.get("/api/v1/notes-a/peek?schema=\(prefix)notes_b&write=1")
            #expect(try write.json()["outcome"] as? String == "denied")
            let own = try await host.client.get("/api/v1/notes-a/peek?schema=\(prefix)notes_a")
            #expect(try own.json()["outcome"] as? String == "allowed")
            #expect(try await host.client.post("/api/v1/notes-a/notes", json: #"{"body":"a"}"#).status == 201)
            let count = try await host.client.get("/api/v1/notes-b/count?body=intruder").json()["count"] as? Int
            #expect(count == 0)
            let health = try await host.client.get("/health").json()
            #expect(health["database"] as? String == "ok")
        }
    }

    @Test("a transaction that throws writes neither its rows nor its durable events")
    func failedTransactionPublishesNothing() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let yaml = "plugins:\n  notes-t:\n    path: \(try Self.notes("notes-t", in: directory))\n"
        try await TestHost.with(yaml: yaml) { host in
            let failed = try await host.client.post("/api/v1/notes-t/failing-transaction", json: #"{"body":"ghost"}"#)
            #expect(failed.status == 409)
            let kept = try await host.client.post("/api/v1/notes-t/durable", json: #"{"body":"real"}"#)
            let eventID = try kept.json()["event_id"] as? String
            try await waitUntil {
                (try await host.client.get("/api/v1/notes-t/received").json()["ids"] as? [String]) == [eventID ?? "?"]
            }
            #expect(try await host.client.get("/api/v1/notes-t/count?body=ghost").json()["count"] as? Int == 0)
        }
    }

    @Test("an applied migration edited since is refused for that plugin only")
    func editedMigrationRefused() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let prefix = TestDatabase.uniquePrefix()
        let yaml = """
            plugins:
              notes-e:
                path: \(try Self.notes("notes-e", in: directory))
              notes-f:
                path: \(try Self.notes("notes-f", in: directory))
            """
        try await TestHost.with(yaml: yaml, tweak: { $0.database.schemaPrefix = prefix }) { _ in }
        let admin = try await TestDatabase.adminPool()
        try await admin.withConnection { connection in
            _ = try await connection.perform(
                "UPDATE `\(prefix)_host`.migrations SET checksum = REPEAT('0', 64) WHERE plugin = 'notes-e' AND version = 1", [])
        }
        try await TestHost.with(yaml: yaml, tweak: { $0.database.schemaPrefix = prefix }) { host in
            let (state, error) = try await host.pluginState("notes-e")
            #expect(state == "failed")
            #expect(error?.contains("migration 1 (create_notes) was edited") == true)
            #expect(try await host.pluginState("notes-f").state == "running")
            #expect(try await host.client.post("/api/v1/notes-f/notes", json: #"{"body":"f"}"#).status == 201)
        }
    }

    @Test("with more concurrent requests than connections, all complete and the pool stays within its bound")
    func concurrentRequests() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let yaml = "plugins:\n  notes-p:\n    path: \(try Self.notes("notes-p", in: directory))\n"
        try await TestHost.with(yaml: yaml, tweak: { $0.database.pool.maxConnections = 3 }) { host in
            let peak = PeakCounter()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await host.client.get("/api/v1/notes-p/sleep?s=0.25").status }
                }
                group.addTask {
                    for _ in 0..<20 {
                        let metrics = try await host.metrics().text
                        for line in metrics.split(separator: "\n") where line.hasPrefix("quik_db_connections_open{pool=\"notes-p\"}") {
                            peak.record(Int(Double(line.split(separator: " ").last ?? "0") ?? 0))
                        }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    return 0
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }.filter { $0 != 0 }
            }
            #expect(statuses == Array(repeating: 200, count: 12))
            #expect(peak.maximum <= 3)
            #expect(peak.maximum >= 1)
        }
    }

    @Test("when MariaDB stops, database requests get 503 within the lease timeout and /health says down; they recover when it returns")
    func serverRestart() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let server = EmbeddedMariaDB(directory: "/tmp/quikapp-outage-\(UInt32.random(in: 0...UInt32.max))", logger: .init(label: "t"))
        try await server.start()
        defer { Task { await server.stop() } }
        let yaml = "plugins:\n  notes-o:\n    path: \(try Self.notes("notes-o", in: directory))\n"
        try await TestHost.with(yaml: yaml, tweak: { configuration in
            configuration.database.url = server.socketPath
            configuration.database.pool.leaseTimeout = .seconds(1)
            configuration.database.pool.healthCheckAfter = .zero
        }) { host in
            #expect(try await host.client.post("/api/v1/notes-o/notes", json: #"{"body":"before"}"#).status == 201)
            await server.stop()
            let started = ContinuousClock.now
            let during = try await host.client.post("/api/v1/notes-o/notes", json: #"{"body":"during"}"#)
            #expect(during.status == 503)
            #expect(during.errorCode == "unavailable")
            #expect(!during.text.contains("mysqld.sock"), "no connection details in the body")
            #expect(ContinuousClock.now - started < .seconds(5), "answered at the lease timeout, not hung")
            try await Task.sleep(for: .milliseconds(1100))
            let health = try await host.client.get("/health").json()
            #expect(health["database"] as? String == "down")
            #expect(health["status"] as? String == "degraded")
            #expect(try await host.client.get("/api/v1/notes-o/notes/1").status == 503)

            try await server.start()
            try await waitUntil(timeout: .seconds(10)) {
                try await host.client.post("/api/v1/notes-o/notes", json: #"{"body":"after"}"#).status == 201
            }
            let body = try await host.client.get("/api/v1/notes-o/notes/1").json()["body"] as? String
            #expect(body == "before")
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await host.client.get("/health").json()["database"] as? String == "ok")
        }
        await server.stop()
        _ = directory
    }

    @Test("with mariadbd frozen, /health answers degraded within a second and requests get 503 at the lease timeout")
    func frozenServer() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let server = EmbeddedMariaDB(directory: "/tmp/quikapp-frozen-\(UInt32.random(in: 0...UInt32.max))", logger: .init(label: "t"))
        try await server.start()
        let yaml = "plugins:\n  notes-f:\n    path: \(try Self.notes("notes-f", in: directory))\n"
        let pidText = try String(contentsOfFile: server.directory + "/mysqld.pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        try await TestHost.with(yaml: yaml, tweak: { configuration in
            configuration.database.url = server.socketPath
            configuration.database.pool.leaseTimeout = .seconds(1)
            configuration.database.pool.healthCheckAfter = .zero
        }) { host in
            #expect(try await host.client.post("/api/v1/notes-f/notes", json: #"{"body":"before"}"#).status == 201)
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            try await Task.sleep(for: .milliseconds(1100))  // past the cached health answer
            var started = ContinuousClock.now
            let health = try await host.client.get("/health").json()
            #expect(ContinuousClock.now - started < .milliseconds(1500), "/health answers within a second")
            #expect(health["database"] as? String == "down")
            #expect(health["status"] as? String == "degraded")
            started = ContinuousClock.now
            let during = try await host.client.post("/api/v1/notes-f/notes", json: #"{"body":"during"}"#)
            #expect(during.status == 503)
            #expect(ContinuousClock.now - started < .seconds(3), "answered at the 1 s lease timeout, not at a read timeout")
            kill(pid, SIGCONT)
            try await waitUntil(timeout: .seconds(60)) {
                try await host.client.post("/api/v1/notes-f/notes", json: #"{"body":"after"}"#).status == 201
            }
        }
        await server.stop()
    }
}

@Suite("Plugin databases on reload", .timeLimit(.minutes(2)))
struct ReloadMigrationTests {
    @Test("a reload applies the new version's migrations before its routes are swapped in")
    func reloadMigrates() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let library = "\(directory)/libnotes-r.so"
        try HotReloadTests.install(Fixtures.library("FixtureNotes"), at: library)
        var prefix = ""
        let yaml = "plugins:\n  notes-r:\n    path: \(library)\n"
        try await TestHost.with(yaml: yaml, devMode: true, tweak: { prefix = $0.database.schemaPrefix; $0.reloadPollInterval = .seconds(3600) }) { host in
            #expect(try await host.client.post("/api/v1/notes-r/notes", json: #"{"body":"kept"}"#).status == 201)
            #expect(try await host.client.get("/api/v1/notes-r/tags").status == 404)
            try HotReloadTests.install(Fixtures.library("FixtureNotesV2"), at: library)
            let reply = try await host.client.post("/api/v1/admin/plugins/notes-r/reload", token: "admin-token")
            #expect(reply.status == 200)
            #expect(try reply.json()["version"] as? String == "2.0.0")
            let tags = try await host.client.get("/api/v1/notes-r/tags")
            #expect(tags.status == 200)
            #expect(try tags.json()["count"] as? Int == 0)
            #expect(try await host.client.get("/api/v1/notes-r/count?body=kept").json()["count"] as? Int == 1, "data survives the reload")
            let admin = try await TestDatabase.adminPool()
            let versions = try await admin.withConnection {
                try await $0.perform("SELECT version FROM `\(prefix)_host`.migrations WHERE plugin = 'notes-r' ORDER BY version", []).0
            }
            #expect(versions.map { $0["version"] } == [.int(1), .int(2), .int(3)])
        }
    }
}
