import Foundation
import Logging
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport
@testable import QuikHost

/// One private MariaDB server for the whole test run, in a temporary folder,
/// through the same embedded-server code `quikapp serve` uses. Each test host
/// gets its own schema prefix, so tests never see each other's tables.
enum TestDatabase {
    private static let server: Task<String, any Error> = Task {
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

    /// The socket of the shared server, started on first use.
    static func socket() async throws -> String {
        try await server.value
    }

    /// A pool on the server's administrative account (the OS user, by socket authentication).
    static func adminPool(maxConnections: Int = 4, leaseTimeout: Duration = .seconds(2)) async throws -> ConnectionPool {
        var configuration = PoolConfiguration()
        configuration.maxConnections = maxConnections
        configuration.leaseTimeout = leaseTimeout
        return ConnectionPool(
            name: "admin", target: ConnectionTarget(socket: try await socket(), user: OSUser.name), configuration: configuration,
            metrics: DatabaseMetrics(factory: HostMetrics().factory))
    }

    /// A schema prefix no other test uses.
    static func uniquePrefix() -> String {
        "t" + String(UInt32.random(in: 0...UInt32.max), radix: 36) + "_"
    }
}

nonisolated(unsafe) private var serverPidFile: UnsafeMutablePointer<CChar>?
