import Foundation
import Logging
import QuikTesting
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport
@testable import QuikHost

/// The test run's database: the harness's shared private server.
enum TestDatabase {
    /// The socket of the shared server (the plugin-author harness's), started on first use.
    static func socket() async throws -> String {
        try await TestDatabaseServer.socket()
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
        TestDatabaseServer.uniquePrefix()
    }
}
