import Foundation
import Logging
import QuikMariaDB

/// One private MariaDB server per test process, in a temporary folder, through the
/// same embedded-server code `quikapp serve` uses; stopped when the process exits.
/// Each test host gets its own schema prefix, so tests never see each other's tables.
public enum TestDatabaseServer {
    private static let server: Task<String, any Error> = Task {
        removeAbandoned()
        let directory = "/tmp/quikapp-testdb-\(getpid())"
        var logger = Logger(label: "test-db")
        logger.logLevel = .warning
        let embedded = EmbeddedMariaDB(directory: directory, logger: logger)
        try await embedded.start()
        serverPidFile = strdup(directory + "/mysqld.pid")
        atexit {
            guard let path = serverPidFile, let text = try? String(contentsOfFile: String(cString: path), encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { return }
            kill(pid, SIGTERM)
        }
        return embedded.socketPath
    }

    /// The shared server's Unix socket, for `database.url`; started on first use.
    public static func socket() async throws -> String {
        try await server.value
    }

    /// Deletes the folders of earlier test processes that are gone (each holds a whole
    /// server's files; their servers were stopped at exit, their folders were not).
    private static func removeAbandoned() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for name in names where name.hasPrefix("quikapp-testdb-") {
            guard let pid = Int32(name.dropFirst("quikapp-testdb-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: "/tmp/" + name)
        }
    }

    /// A schema prefix no other test host uses.
    public static func uniquePrefix() -> String {
        "t" + String(UInt32.random(in: 0...UInt32.max), radix: 36) + "_"
    }
}

/// The pid file of the shared server, for the exit handler (a C function pointer captures nothing).
nonisolated(unsafe) private var serverPidFile: UnsafeMutablePointer<CChar>?
