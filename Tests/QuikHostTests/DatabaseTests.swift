import Foundation
import QuikSDK
import Synchronization
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// The driver, pool and transactions against the test run's real MariaDB server.
@Suite("Database driver", .timeLimit(.minutes(2)))
struct DatabaseTests {
    /// A pool on the server's administrative account and a fresh schema for one test.
    static func scratch(maxConnections: Int = 4, leaseTimeout: Duration = .seconds(2)) async throws -> (ConnectionPool, String) {
        let pool = try await TestDatabase.adminPool(maxConnections: maxConnections, leaseTimeout: leaseTimeout)
        let schema = TestDatabase.uniquePrefix() + "scratch"
        try await pool.withConnection { connection in
            _ = try await connection.perform("CREATE DATABASE `\(schema)`", [])
        }
        return (pool, schema)
    }

    static func handle(_ pool: ConnectionPool) -> PluginDatabaseHandle {
        PluginDatabaseHandle(
            plugin: "scratch", namespaces: ["scratch"], pool: pool, relay: OutboxRelay(pollInterval: .seconds(1), logger: .init(label: "t")),
            deliverOnCommit: false)
    }

    @Test("every column type round-trips through prepared statements, NULLs included")
    func columnTypes() async throws {
        let (pool, schema) = try await Self.scratch()
        let database = Self.handle(pool)
        try await database.execute(
            """
            CREATE TABLE `\(schema)`.kinds (
              id INT PRIMARY KEY, tiny TINYINT, small SMALLINT, medium MEDIUMINT, big BIGINT, ubig BIGINT UNSIGNED,
              real_f FLOAT, real_d DOUBLE, money DECIMAL(30,6), ch CHAR(5), vc VARCHAR(100), txt MEDIUMTEXT, js JSON,
              bin BINARY(4), vbin VARBINARY(10), blb BLOB, day DATE, moment DATETIME(6), stamp TIMESTAMP(3) NULL,
              span TIME(6), yr YEAR, bits BIT(8), choice ENUM('a','b')
            )
            """)
        let moment = Date(timeIntervalSince1970: 1_763_719_200.123456)
        let stamp = Date(timeIntervalSince1970: 1_763_719_200.5)
        let day = Date(timeIntervalSince1970: 1_763_683_200)
        let values: [SQLValue] = [
            .int(1), .int(-128), .int(32767), .int(-8_388_608), .int(Int64.min), .decimal("18446744073709551615"),
            .double(1.5), .double(-2.25e300), .decimal("123456789012345678.123456"), .text("ab"), .text("héllo ✓ 🎉"),
            .text(String(repeating: "t", count: 70_000)), .text(#"{"a": [1, 2]}"#),
            .blob(Data([0, 1, 2, 255])), .blob(Data([9, 8])), .blob(Data((0..<1000).map { UInt8($0 % 256) })),
            .date(day), .date(moment), .date(stamp), .time(-(3 * 3600 + 4 * 60 + 5.25)), .int(2026), .blob(Data([0b1010_0101])), .text("b"),
        ]
        let placeholders = Array(repeating: "?", count: values.count).joined(separator: ", ")
        try await database.execute("INSERT INTO `\(schema)`.kinds VALUES (\(placeholders))", values)
        let row = try #require(try await database.query("SELECT * FROM `\(schema)`.kinds WHERE id = ?", [.int(1)]).first)
        #expect(row.values.count == values.count)
        for (index, expected) in values.enumerated() where index != 11 {
            #expect(row[index] == expected, "column \(row.columns[index])")
        }
        #expect(row["txt"].string?.count == 70_000)

        try await database.execute("INSERT INTO `\(schema)`.kinds (id) VALUES (?)", [.int(2)])
        let empty = try #require(try await database.query("SELECT * FROM `\(schema)`.kinds WHERE id = 2").first)
        #expect(empty.values.dropFirst().allSatisfy { $0 == .null })
        let nullBound = try await database.query("SELECT ? AS nothing, ? IS NULL AS is_null", [.null, .null])
        #expect(nullBound.first?["nothing"] == .null)
        #expect(nullBound.first?["is_null"] == .int(1))
    }

    @Test("a 16 MiB blob and a value full of quotes and SQL are stored as data")
    func largeAndHostileValues() async throws {
        let (pool, schema) = try await Self.scratch()
        let database = Self.handle(pool)
        try await database.execute("CREATE TABLE `\(schema)`.items (id INT PRIMARY KEY, body LONGBLOB, label TEXT)")
        let blob = Data((0..<(16 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let hostile = #"Robert'); DROP TABLE items; -- "quoted" \ back\slash"#
        try await database.execute("INSERT INTO `\(schema)`.items VALUES (?, ?, ?)", [.int(1), .blob(blob), .text(hostile)])
        let row = try #require(try await database.query("SELECT body, label FROM `\(schema)`.items WHERE label = ?", [.text(hostile)]).first)
        #expect(row["body"].data == blob)
        #expect(row["label"].string == hostile)
        #expect(try await database.query("SELECT COUNT(*) AS n FROM `\(schema)`.items").first?["n"] == .int(1), "the table is still there")
    }

    @Test("a transaction that throws leaves nothing behind, and one that returns commits")
    func transactions() async throws {
        let (pool, schema) = try await Self.scratch()
        let database = Self.handle(pool)
        try await database.execute("CREATE TABLE `\(schema)`.ledger (id INT PRIMARY KEY, amount INT) ENGINE=InnoDB")
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await database.transaction { transaction in
                try await transaction.execute("INSERT INTO `\(schema)`.ledger VALUES (1, 10)")
                try await transaction.execute("INSERT INTO `\(schema)`.ledger VALUES (2, 20)")
                throw Abort()
            }
        }
        #expect(try await database.query("SELECT COUNT(*) AS n FROM `\(schema)`.ledger").first?["n"] == .int(0))
        let sum = try await database.transaction { transaction -> Int64 in
            try await transaction.execute("INSERT INTO `\(schema)`.ledger VALUES (3, 30)")
            return try await transaction.query("SELECT SUM(amount) AS s FROM `\(schema)`.ledger").first?["s"].double.map { Int64($0) } ?? 0
        }
        #expect(sum == 30)
        let duplicate = await #expect(throws: DatabaseError.self) {
            try await database.execute("INSERT INTO `\(schema)`.ledger VALUES (3, 1)")
        }
        #expect(duplicate?.kind == .duplicateKey)
        let miscount = await #expect(throws: DatabaseError.self) { try await database.query("SELECT ?", []) }
        #expect(miscount?.message.contains("placeholders") == true)
    }

    @Test("a deadlocked transaction marked retryable runs again and commits; unmarked, it fails as a deadlock")
    func deadlockRetry() async throws {
        let (pool, schema) = try await Self.scratch()
        let database = Self.handle(pool)
        try await database.execute("CREATE TABLE `\(schema)`.acct (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB")
        try await database.execute("INSERT INTO `\(schema)`.acct VALUES (1, 0), (2, 0)")

        /// Two transactions taking the same two row locks in opposite orders.
        func crossing(retry: Bool, attempts: PeakCounter) async -> [Result<Void, any Error>] {
            await withTaskGroup(of: Result<Void, any Error>.self) { group in
                for (first, second, amount) in [(1, 2, 1), (2, 1, 10)] {
                    group.addTask {
                        await Result(catching: {
                            try await database.transaction(retryOnDeadlock: retry) { transaction in
                                attempts.increment()
                                try await transaction.execute("UPDATE `\(schema)`.acct SET v = v + ? WHERE id = ?", [.int(Int64(amount)), .int(Int64(first))])
                                try await Task.sleep(for: .milliseconds(300))
                                try await transaction.execute("UPDATE `\(schema)`.acct SET v = v + ? WHERE id = ?", [.int(Int64(amount)), .int(Int64(second))])
                            }
                        })
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }

        let retried = PeakCounter()
        let outcomes = await crossing(retry: true, attempts: retried)
        #expect(outcomes.allSatisfy { (try? $0.get()) != nil }, "both commit")
        #expect(retried.count == 3, "one of them ran twice")
        let values = try await database.query("SELECT v FROM `\(schema)`.acct ORDER BY id").map { $0["v"] }
        #expect(values == [.int(11), .int(11)])

        let plain = await crossing(retry: false, attempts: PeakCounter())
        let failures = plain.compactMap { outcome -> DatabaseError? in
            if case .failure(let error) = outcome { return error as? DatabaseError }
            return nil
        }
        #expect(failures.map(\.kind) == [.deadlock])
    }

    @Test("more callers than connections all get one in turn, and the pool stays bounded")
    func poolBound() async throws {
        // A lease timeout far past the 0.8 s the queue needs, so a loaded machine cannot fail it.
        let (pool, _) = try await Self.scratch(maxConnections: 3, leaseTimeout: .seconds(20))
        let peak = PeakCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await pool.withConnection { connection in
                        peak.record(await pool.openConnections)
                        _ = try await connection.perform("SELECT SLEEP(0.2)", [])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.maximum <= 3)
        #expect(peak.maximum == 3)
        #expect(await pool.openConnections <= 3)
    }

    @Test("a caller that cannot get a connection in time gets unavailable, not a hang")
    func leaseTimeout() async throws {
        let socket = try await TestDatabase.socket()
        var configuration = PoolConfiguration()
        configuration.maxConnections = 1
        configuration.leaseTimeout = .milliseconds(300)
        let pool = ConnectionPool(
            name: "tiny", target: ConnectionTarget(socket: socket, user: OSUser.name), configuration: configuration,
            metrics: DatabaseMetrics(factory: HostMetrics().factory))
        async let holder: Void = pool.withConnection { connection in _ = try await connection.perform("SELECT SLEEP(8)", []) }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        let error = await #expect(throws: DatabaseError.self) { try await pool.withConnection { _ in } }
        #expect(error?.kind == .unavailable)
        #expect(ContinuousClock.now - started < .seconds(6), "it gave up at its lease timeout, long before the holder let go")
        try await holder
    }

    @Test("an edited migration is refused and a failing one reports which")
    func migrations() async throws {
        let (pool, schema) = try await Self.scratch()
        var configuration = DatabaseConfiguration()
        configuration.url = try await TestDatabase.socket()
        configuration.schemaPrefix = TestDatabase.uniquePrefix()
        let host = HostDatabase(
            configuration: configuration, target: ConnectionTarget(socket: configuration.url!, user: OSUser.name),
            hostMetrics: HostMetrics(), drainTimeout: .seconds(1), logger: .init(label: "t"))
        try await host.prepare()
        let first = Migration(version: 1, name: "create", statements: ["CREATE TABLE `\(schema)`.m (id INT)"])
        try await host.migrate(plugin: "m", migrations: [first], pool: pool)
        try await host.migrate(plugin: "m", migrations: [first], pool: pool)
        let edited = Migration(version: 1, name: "create", statements: ["CREATE TABLE `\(schema)`.m (id BIGINT)"])
        let refusal = await #expect(throws: PluginLoadError.self) { try await host.migrate(plugin: "m", migrations: [edited], pool: pool) }
        #expect(refusal?.message.contains("edited") == true)
        let broken = Migration(version: 2, name: "broken", statements: ["CREATE TABLE `\(schema)`.m (id INT)"])
        let failure = await #expect(throws: PluginLoadError.self) { try await host.migrate(plugin: "m", migrations: [first, broken], pool: pool) }
        #expect(failure?.message.contains("migration 2 (broken) failed") == true)
        let gap = await #expect(throws: PluginLoadError.self) {
            try await host.migrate(plugin: "m", migrations: [first, Migration(version: 3, name: "x", statements: [])], pool: pool)
        }
        #expect(gap?.message.contains("without gaps") == true)
    }
}

/// The highest value seen, and a count, from many tasks.
final class PeakCounter: Sendable {
    private let value = Mutex(0)
    private let total = Mutex(0)
    func record(_ sample: Int) { value.withLock { $0 = max($0, sample) } }
    var maximum: Int { value.withLock { $0 } }
    func increment() { total.withLock { $0 += 1 } }
    var count: Int { total.withLock { $0 } }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
