import Foundation
import Logging
import QuikMariaDB
import QuikRuntime
import QuikSDK
import Synchronization

/// Pool throughput and lease latency against a real server, for `quikapp-bench`.
public enum DatabaseBenchmark {
    /// What one run measured.
    public struct Report: Sendable {
        /// Primary-key SELECTs per second on one raw connection in a tight loop: the baseline.
        public var rawPerSecond: Double
        /// The same through the pool, one caller.
        public var pooledOneCaller: Double
        /// The same through the pool, sixteen callers sharing `poolSize` connections.
        public var pooledSixteenCallers: Double
        /// Connections in the pool for the sixteen-caller run.
        public var poolSize: Int
        /// Median wait for a connection under that contention, in milliseconds.
        public var leaseP50Ms: Double
        /// 99th percentile of that wait, in milliseconds.
        public var leaseP99Ms: Double
    }

    /// A private server for a benchmark run, stopped with ``stop()``.
    public struct Server: Sendable {
        let server: EmbeddedMariaDB
        /// Its Unix socket, for `database.url`.
        public var socket: String { server.socketPath }

        /// Stops the server and waits for it to exit.
        public func stop() async { await server.stop() }
    }

    /// Starts a private server under `directory`.
    public static func startServer(directory: String) async throws -> Server {
        var logger = Logger(label: "bench-db")
        logger.logLevel = .warning
        let server = EmbeddedMariaDB(directory: directory, logger: logger)
        try await server.start()
        return Server(server: server)
    }

    /// Fills a table on the server at `socket` and measures for `seconds` each.
    public static func run(socket: String, seconds: Double, poolSize: Int) async throws -> Report {
        let target = ConnectionTarget(socket: socket, user: OSUser.name, database: nil)
        let raw = try await MySQLConnection.connect(to: target, connectTimeout: .seconds(2), statementTimeout: .seconds(30))
        _ = try await raw.perform("CREATE DATABASE IF NOT EXISTS bench", [])
        _ = try await raw.perform("CREATE TABLE IF NOT EXISTS bench.items (id INT PRIMARY KEY, name VARCHAR(64), score DOUBLE)", [])
        _ = try await raw.perform("DELETE FROM bench.items", [])
        for start in stride(from: 0, to: 1000, by: 100) {
            let rows = (start..<(start + 100)).map { "(\($0), 'item \($0)', \(Double($0) / 3))" }.joined(separator: ",")
            _ = try await raw.perform("INSERT INTO bench.items VALUES \(rows)", [])
        }
        let query = "SELECT id, name, score FROM bench.items WHERE id = ?"
        let duration = Duration.milliseconds(Int(seconds * 1000))

        let rawRate = try await measure(duration) { index in _ = try await raw.perform(query, [.int(Int64(index % 1000))]) }

        var configuration = PoolConfiguration()
        configuration.maxConnections = poolSize
        configuration.leaseTimeout = .seconds(30)
        let metrics = DatabaseMetrics(factory: HostMetrics().factory)
        let single = ConnectionPool(name: "one", target: target, configuration: configuration, metrics: metrics)
        let oneRate = try await measure(duration) { index in
            _ = try await single.withConnection { try await $0.perform(query, [.int(Int64(index % 1000))]) }
        }

        let shared = ConnectionPool(name: "many", target: target, configuration: configuration, metrics: metrics)
        let waits = LeaseWaits()
        let deadline = ContinuousClock.now + duration
        let started = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for caller in 0..<16 {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        let asked = ContinuousClock.now
                        _ = try await shared.withConnection { connection in
                            waits.add(ContinuousClock.now - asked)
                            return try await connection.perform(query, [.int(Int64((caller * 7919 + done) % 1000))])
                        }
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        await single.close(timeout: .seconds(1))
        await shared.close(timeout: .seconds(1))
        let sorted = waits.sorted
        return Report(
            rawPerSecond: rawRate, pooledOneCaller: oneRate, pooledSixteenCallers: Double(total) / elapsed.seconds,
            poolSize: poolSize, leaseP50Ms: percentile(sorted, 0.5), leaseP99Ms: percentile(sorted, 0.99))
    }

    private static func measure(_ duration: Duration, _ body: (Int) async throws -> Void) async throws -> Double {
        let started = ContinuousClock.now
        var count = 0
        while ContinuousClock.now - started < duration {
            try await body(count)
            count += 1
        }
        return Double(count) / (ContinuousClock.now - started).seconds
    }

    private static func percentile(_ sorted: [Duration], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))].seconds * 1000
    }
}

/// Lease waits collected from many callers.
private final class LeaseWaits: Sendable {
    private let waits = Mutex<[Duration]>([])
    func add(_ wait: Duration) { waits.withLock { $0.append(wait) } }
    var sorted: [Duration] { waits.withLock { $0.sorted() } }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
