import Foundation
import QuikHost
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport

extension Bench {
    /// `count` durable jobs due at the same instant, then spread over one minute, each writing one row as its work
    /// (the jobs fixture's `record`): jobs run a second and the delay from due time to start,
    /// beside the same single-row inserts made directly by 16 callers on 16 connections.
    static func jobs(build: String, workspace: String, count: Int) async throws {
        for spread in [0, 60] { try await jobs(build: build, workspace: workspace, count: count, spread: spread) }
    }

    /// One pass: the jobs due at once (`spread` 0) or evenly over `spread` seconds.
    static func jobs(build: String, workspace: String, count: Int, spread: Int) async throws {
        var configuration = baseConfiguration(workspace: workspace)
        let location = SourceLocation(file: "bench", line: 0, column: 0)
        configuration.plugins = [PluginEntry(name: "jobs", path: "\(build)/libFixtureJobs.so", location: location)]
        let prefix = configuration.database.schemaPrefix
        let host = try QuikHost(configuration: configuration, logger: logger())
        let (_, server) = try await serve(host)
        let target = ConnectionTarget(socket: socket, user: OSUser.name, database: nil)
        let admin = try await MySQLConnection.connect(to: target, connectTimeout: .seconds(5), statementTimeout: .seconds(600))
        let schema = "`\(prefix)jobs`"

        // The baseline: the handler's own insert, 16 at a time, straight to the database.
        _ = try await admin.perform("CREATE TABLE \(schema).baseline LIKE \(schema).runs", [])
        var pool = PoolConfiguration()
        pool.maxConnections = 16
        pool.leaseTimeout = .seconds(60)
        let direct = ConnectionPool(name: "baseline", target: target, configuration: pool, metrics: DatabaseMetrics(factory: HostMetrics().factory))
        let baselineStarted = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<16 {
                group.addTask {
                    for number in stride(from: caller, to: count, by: 16) {
                        _ = try await direct.withConnection { connection in
                            try await connection.perform(
                                "INSERT INTO \(schema).baseline (job_id, job_key, attempt, payload, host, due_at, ran_at) VALUES (?, NULL, 1, ?, 'direct', ?, ?)",
                                [.text("b\(number)"), .text(""), .date(Date()), .date(Date())])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let baselineRate = Double(count) / (milliseconds(ContinuousClock.now - baselineStarted) / 1000)

        // The jobs, written straight into the plugin's table, due from 5 s on.
        let due = Date().addingTimeInterval(5)
        func sqlTime(_ date: Date) -> String { String(QuikTime.format(date).dropLast()) }
        for first in stride(from: 0, to: count, by: 5000) {
            let rows = (first..<min(count, first + 5000)).map { number in
                let at = sqlTime(due.addingTimeInterval(Double(spread) * Double(number) / Double(count)))
                return "('j\(number)','record',NULL,'','queued','\(at)','\(at)',0,10,'\(at)','\(at)')"
            }
            _ = try await admin.perform(
                """
                INSERT INTO \(schema).`_quik_jobs` (id, kind, job_key, payload, state, run_at, due_at, attempts, max_attempts, created_at, updated_at)
                VALUES \(rows.joined(separator: ","))
                """, [])
        }
        let scheduledBy = Date()
        guard scheduledBy < due else { throw BenchError("scheduling took longer than the 5 s before the jobs fell due") }
        while true {
            let done = try await admin.perform("SELECT COUNT(*) AS n FROM \(schema).runs", []).0.first?["n"].int ?? 0
            if done >= count { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let rows = try await admin.perform("SELECT due_at, ran_at FROM \(schema).runs", []).0
        let delays = rows.compactMap { row -> Double? in
            guard let dueAt = row["due_at"].date, let ranAt = row["ran_at"].date else { return nil }
            return ranAt.timeIntervalSince(dueAt) * 1000
        }
        let last = rows.compactMap { $0["ran_at"].date }.max() ?? due
        let rate = Double(count) / last.timeIntervalSince(due)
        let when = spread == 0 ? "due at once" : "due evenly over \(spread) s"
        let repeats = try await admin.perform("SELECT COUNT(*) - COUNT(DISTINCT job_id) AS n FROM \(schema).runs", []).0.first?["n"].int ?? -1
        print(String(
            format: "jobs: %d %@, each inserting a row: %.0f jobs/s (direct inserts, 16 callers: %.0f/s; ratio %.2f); start delay p50 %.0f ms, p99 %.0f ms, last %.1f s after the first was due; %d ran twice",
            count, when as NSString, rate, baselineRate, rate / baselineRate, percentile(delays, 0.5), percentile(delays, 0.99), last.timeIntervalSince(due), repeats))
        await host.shutdown()
        try await server.value
    }
}
