import Foundation
import Logging
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// One data folder, one serving host: the embedded server is never pulled from under a running host.
@Suite("Embedded database folder", .timeLimit(.minutes(3)))
struct DataFolderTests {
    static func configuration(state: String) -> HostConfiguration {
        var configuration = HostConfiguration()
        configuration.port = 0
        configuration.stateDirectory = state
        configuration.drainTimeout = .seconds(2)
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        return configuration
    }

    @Test("a second host serving from the same folder is refused at start with one clear line; the first keeps its database")
    func secondHostRefused() async throws {
        let state = "/tmp/quikapp-two-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let (first, task) = try await TestHost.start(configuration: Self.configuration(state: state))
        let second = try QuikHost(configuration: Self.configuration(state: state), logger: Logger(label: "second"))
        await #expect {
            try await second.run()
        } throws: { error in
            let line = "\(error)"
            return line.contains("already serving from") && line.contains("\(getpid())") && !line.contains("\n")
        }
        try await Task.sleep(for: .milliseconds(1100))
        let health = try await first.client.get("/health").json()
        #expect(health["database"] as? String == "ok")
        await first.host.shutdown()
        try await task.value
    }

    @Test("a serving host takes over the server a command started, and the command's exit leaves it running")
    func serveTakesOverFromCommand() async throws {
        let state = "/tmp/quikapp-hand-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let command = try QuikHost(configuration: Self.configuration(state: state), logger: Logger(label: "command"))
        try await command.start()
        let (serving, task) = try await TestHost.start(configuration: Self.configuration(state: state))
        await command.stop()
        try await Task.sleep(for: .milliseconds(1100))
        let health = try await serving.client.get("/health").json()
        #expect(health["database"] as? String == "ok", "the command left the server to the serving host")
        await serving.host.shutdown()
        try await task.value
        let pid = try? String(contentsOfFile: state + "/db/mysqld.pid", encoding: .utf8)
        #expect(pid == nil || kill(Int32(pid!.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 0) != 0, "the serving host stopped it on exit")
    }

    @Test("a warning repeated word for word is written once per window, the next one saying how many were held back")
    func repeatedWarningsLimited() {
        let logs = CapturedLogs()
        let logger = logs.logger(label: "t").limitingRepeats(window: .milliseconds(300))
        for _ in 0..<8 { logger.warning("outbox delivery failed; will retry") }
        logger.warning("something else")
        logger.info("info passes")
        logger.info("info passes")
        #expect(logs.all.filter { $0.contains("outbox delivery failed") }.count == 1)
        #expect(logs.all.filter { $0.contains("info passes") }.count == 2)
        #expect(logs.all.contains { $0.contains("something else") })
        Thread.sleep(forTimeInterval: 0.35)
        logger.warning("outbox delivery failed; will retry")
        #expect(logs.all.last?.contains("repeated=7") == true)
    }
}
