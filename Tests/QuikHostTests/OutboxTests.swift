import Foundation
import QuikSDK
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// `quikapp serve` as a child process that the test can kill outright.
final class ServerProcess: Sendable {
    let process: Process
    let log: String

    init(config: String, log: String) throws {
        self.log = log
        FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Fixtures.buildDirectory + "/quikapp")
        process.arguments = ["serve", "--config", config, "--log-level", "info"]
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// The port from the host's `listening … port=N` log line.
    func port() async throws -> Int {
        try await waitFor("listening") { line in
            line.contains("[QuikHost] listening") ? line.split(separator: " ").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) } : nil
        }
    }

    func waitFor<T>(_ what: String, timeout: Duration = .seconds(60), _ match: (Substring) -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                if let value = match(line) { return value }
            }
            guard process.isRunning else { throw TestFailure("quikapp exited: \(text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no \(what) in the log within \(timeout)")
    }

    func kill(_ signal: Int32) async {
        Foundation.kill(process.processIdentifier, signal)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

@Suite("Durable events", .timeLimit(.minutes(3)))
struct OutboxTests {
    @Test("a host killed between commit and delivery delivers the event after restart, exactly once to an idempotent subscriber")
    func survivesKill() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let library = "\(directory)/libnotes-k.so"
        try FileManager.default.copyItem(atPath: Fixtures.library("FixtureNotes"), toPath: library)
        let socket = try await TestDatabase.socket()
        let prefix = TestDatabase.uniquePrefix()
        func config(held: Bool) throws -> String {
            let path = "\(directory)/plugins-\(held).yml"
            let yaml = """
                server:
                  port: 0
                  state_dir: \(directory)/state
                database:
                  url: \(socket)
                  schema_prefix: \(prefix)
                  outbox_poll_ms: \(held ? 3_600_000 : 100)
                  outbox_deliver_on_commit: \(!held)
                plugins:
                  notes-k:
                    path: \(library)
                """
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        // Delivery held back: the event is committed to the outbox and stays there.
        let first = try ServerProcess(config: try config(held: true), log: "\(directory)/first.log")
        let client = TestClient(port: try await first.port())
        let created = try await client.post("/api/v1/notes-k/durable", json: #"{"body":"survive"}"#)
        #expect(created.status == 201)
        let eventID = try #require(try created.json()["event_id"] as? String)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await client.get("/api/v1/notes-k/received").json()["ids"] as? [String] == [])
        await first.kill(SIGKILL)

        let admin = try await TestDatabase.adminPool()
        let pending = try await admin.withConnection {
            try await $0.perform("SELECT id FROM `\(prefix)notes_k`.`_quik_outbox` WHERE delivered_at IS NULL", []).0
        }
        #expect(pending.map { $0["id"].string } == [eventID], "committed, not delivered, when the host died")

        // A new host resumes delivery.
        let second = try ServerProcess(config: try config(held: false), log: "\(directory)/second.log")
        let again = TestClient(port: try await second.port())
        try await waitUntil(timeout: .seconds(15)) {
            (try await again.get("/api/v1/notes-k/received").json()["ids"] as? [String]) == [eventID]
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await again.get("/api/v1/notes-k/received").json()["ids"] as? [String] == [eventID], "exactly once")
        let delivered = try await admin.withConnection {
            try await $0.perform("SELECT COUNT(*) AS n FROM `\(prefix)notes_k`.`_quik_outbox` WHERE delivered_at IS NULL", []).0
        }
        #expect(delivered.first?["n"] == .int(0))
        await second.kill(SIGTERM)
        #expect(second.process.terminationStatus == 0, "SIGTERM shuts down cleanly")
    }
}

@Suite("Durable events under load", .timeLimit(.minutes(2)))
struct OutboxLoadTests {
    @Test("durable events committed concurrently are each delivered once and none is lost")
    func concurrentCommits() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let yaml = "plugins:\n  notes-c:\n    path: \(try PluginDatabaseTests.notes("notes-c", in: directory))\n"
        try await TestHost.with(yaml: yaml, tweak: { $0.database.outboxPollInterval = .milliseconds(20) }) { host in
            let count = 40
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let reply = try await host.client.post("/api/v1/notes-c/durable", json: #"{"body":"n\#(index)"}"#)
                        return try reply.json()["event_id"] as? String ?? ""
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == count)
            try await waitUntil(timeout: .seconds(10)) {
                Set(try await host.client.get("/api/v1/notes-c/received").json()["ids"] as? [String] ?? []) == ids
            }
            try await Task.sleep(for: .milliseconds(200))
            let received = try await host.client.get("/api/v1/notes-c/received").json()
            #expect((received["deliveries"] as? [String]) == ["\(count)"], "no event delivered twice")
        }
    }
}

extension ServerProcess {
    /// Writes a `plugins.yml` for `quikapp serve` children sharing one private database schema:
    /// `plugins` from the build, `settings` as flow maps per plugin, `extra` top-level sections.
    static func configuration(
        in directory: String, plugins: [String], settings: [String: String] = [:], extra: String = ""
    ) async throws -> String {
        var yaml = """
            server:
              port: 0
              state_dir: \(directory)/state
              rate_limits: {enabled: false}
            database:
              url: \(try await TestDatabase.socket())
              schema_prefix: \(TestDatabase.uniquePrefix())
            \(extra)
            plugins:

            """
        for name in plugins {
            yaml += "  \(name):\n    path: \(Fixtures.library(name))\n"
            // Tests register many people from one address.
            let own = name == "auth" ? "max_registrations_per_ip: 100000" : settings[name]
            if let own { yaml += "    settings: {\(own)}\n" }
        }
        let path = "\(directory)/plugins.yml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
