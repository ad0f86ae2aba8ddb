import Foundation
import QuikSDK

/// Durable jobs driven over HTTP: schedule, move and cancel jobs, and read back
/// every run the handlers recorded (by job, attempt and host).
final class JobsPlugin: QuikPlugin {
    var manifest: PluginManifest {
        PluginManifest(
            name: "jobs", version: "1.0.0", mount: "jobs", capabilities: PluginCapabilities(database: true),
            settings: [SettingSpec(key: "tag", kind: .string, defaultValue: .string("host"), help: "names this host in recorded runs")])
    }

    var migrations: [Migration] {
        [
            Migration(version: 1, name: "runs", statements: [
                """
                CREATE TABLE runs (
                  seq BIGINT AUTO_INCREMENT PRIMARY KEY, job_id VARCHAR(40) NOT NULL, job_key VARCHAR(191) NULL,
                  attempt INT NOT NULL, payload TEXT NOT NULL, host VARCHAR(40) NOT NULL, due_at DATETIME(3) NOT NULL, ran_at DATETIME(3) NOT NULL
                )
                """,
                "CREATE TABLE marks (name VARCHAR(64) PRIMARY KEY)",
            ])
        ]
    }

    struct Schedule: Codable {
        var kind: String
        var key: String?
        var delayMs: Int
        var payload: String?
        var maxAttempts: Int?
        var rollback: Bool?
    }

    struct Move: Codable {
        var key: String
        var delayMs: Int?
    }

    func setup(_ context: any PluginContext) async throws {
        let database = try context.requireDatabase()
        let jobs = try context.requireJobs()
        let open = RouteOptions(requiresAuthentication: false)
        let host = context.settings["tag"]?.stringValue ?? "host"

        @Sendable func jobRequest(_ body: Schedule) -> JobRequest {
            JobRequest(
                kind: body.kind, payload: Data((body.payload ?? "").utf8), runAt: Date().addingTimeInterval(Double(body.delayMs) / 1000),
                key: body.key, maxAttempts: body.maxAttempts ?? 10)
        }
        try context.addRoute(.post, "/schedule", options: open) { request in
            let body = try request.decode(Schedule.self)
            return try .json(["id": try await jobs.schedule(jobRequest(body))], status: 201)
        }
        // Scheduled in a transaction that also writes a mark; with `rollback` both vanish.
        try context.addRoute(.post, "/in-transaction", options: open) { request in
            let body = try request.decode(Schedule.self)
            do {
                try await database.transaction { transaction in
                    try await transaction.execute("INSERT INTO marks (name) VALUES (?)", [.text(body.key ?? "mark")])
                    try await transaction.requireJobs().schedule(jobRequest(body))
                    if body.rollback == true { throw PluginError(.conflict, "rolled back") }
                }
            } catch let error as PluginError where error.code == .conflict {
                return try .json(["committed": false])
            }
            return try .json(["committed": true])
        }
        try context.addRoute(.post, "/cancel", options: open) { request in
            try .json(["cancelled": try await jobs.cancel(key: try request.decode(Move.self).key)])
        }
        try context.addRoute(.post, "/reschedule", options: open) { request in
            let body = try request.decode(Move.self)
            let found = try await jobs.reschedule(key: body.key, to: Date().addingTimeInterval(Double(body.delayMs ?? 0) / 1000))
            return try .json(["found": found])
        }
        try context.addRoute(.get, "/runs", options: open) { _ in
            let rows = try await database.query("SELECT job_id, job_key, attempt, payload, host, due_at, ran_at FROM runs ORDER BY seq")
            let runs = rows.map { row -> [String: String] in
                [
                    "job_id": row["job_id"].string ?? "", "key": row["job_key"].string ?? "", "attempt": String(row["attempt"].int ?? 0),
                    "payload": row["payload"].string ?? "", "host": row["host"].string ?? "",
                    "late_ms": String(Int(((row["ran_at"].date ?? Date()).timeIntervalSince(row["due_at"].date ?? Date())) * 1000)),
                    "ran_at": String((row["ran_at"].date ?? Date()).timeIntervalSince1970),
                ]
            }
            return try .json(runs)
        }

        // A durable event whose only subscriber takes a second and a half over it.
        try context.addRoute(.post, "/slow-event", options: open) { _ in
            let id = try await database.transaction { try await $0.publish("jobs.slow", payload: Data("{}".utf8)) }
            return try .json(["event_id": id], status: 201)
        }
        try context.addRoute(.get, "/outbox", options: open) { _ in
            let rows = try await database.query("SELECT COUNT(*) AS n FROM _quik_outbox WHERE delivered_at IS NULL")
            return try .json(["undelivered": rows.first?["n"].int ?? -1])
        }
        try context.subscribe("jobs.slow") { _ in
            try? await Task.sleep(for: .milliseconds(1500))
        }

        @Sendable func record(_ job: Job) async throws {
            try await database.execute(
                "INSERT INTO runs (job_id, job_key, attempt, payload, host, due_at, ran_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(job.id), job.key.map(SQLValue.text) ?? .null, .int(Int64(job.attempt)), .text(String(decoding: job.payload, as: UTF8.self)),
                    .text(host), .date(job.runAt), .date(Date()),
                ])
        }
        try context.onJob("record") { job in try await record(job) }
        // Fails until the attempt named by its payload.
        try context.onJob("flaky") { job in
            try await record(job)
            if job.attempt < Int(String(decoding: job.payload, as: UTF8.self)) ?? 1 {
                throw PluginError(.unavailable, "not yet (attempt \(job.attempt))")
            }
        }
        try context.onJob("slow") { job in
            try await Task.sleep(for: .milliseconds(20))
            try await record(job)
        }
    }
}
