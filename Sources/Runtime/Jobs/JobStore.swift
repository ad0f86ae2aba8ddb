import Foundation
import QuikSDK
import QuikSupport

/// A plugin's ``JobQueue`` on one executor: its pool, or one transaction, whose
/// commit or rollback then decides the change.
package struct JobStore: JobQueue {
    /// The longest kind and key, as the table holds them.
    static let kindLimit = 100
    static let keyLimit = 191

    let executor: any SQLExecutor
    /// Called with the due time of a job scheduled or moved, so the runner can wake for it.
    let scheduled: @Sendable (Date) -> Void

    package init(executor: any SQLExecutor, scheduled: @escaping @Sendable (Date) -> Void) {
        self.executor = executor
        self.scheduled = scheduled
    }

    private static func check(kind: String, key: String?) throws(PluginError) {
        guard !kind.isEmpty, kind.utf8.count <= kindLimit else {
            throw PluginError(.badRequest, "a job's kind must be 1 to \(kindLimit) bytes")
        }
        if let key, key.isEmpty || key.utf8.count > keyLimit {
            throw PluginError(.badRequest, "a job's key must be 1 to \(keyLimit) bytes")
        }
    }

    @discardableResult
    package func schedule(_ job: JobRequest) async throws -> String {
        try Self.check(kind: job.kind, key: job.key)
        let id = EventID.make()
        let now = Date()
        let outcome = try await executor.execute(
            """
            INSERT INTO \(JobTable.name) (id, kind, job_key, payload, state, run_at, due_at, attempts, max_attempts, created_at, updated_at)
            VALUES (?, ?, ?, ?, 'queued', ?, ?, 0, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id
            """,
            [
                .text(id), .text(job.kind), job.key.map(SQLValue.text) ?? .null, .blob(job.payload), .date(job.runAt), .date(job.runAt),
                .int(Int64(max(1, job.maxAttempts))), .date(now), .date(now),
            ])
        if outcome.affectedRows == 0, let key = job.key {
            let rows = try await executor.query("SELECT id FROM \(JobTable.name) WHERE job_key = ?", [.text(key)])
            return rows.first?["id"].string ?? id
        }
        scheduled(job.runAt)
        return id
    }

    @discardableResult
    package func reschedule(key: String, to runAt: Date) async throws -> Bool {
        try Self.check(kind: "-", key: key)
        let outcome = try await executor.execute(
            """
            UPDATE \(JobTable.name) SET state = 'queued', run_at = ?, due_at = ?, attempts = 0, claimed_by = NULL, last_error = NULL,
              updated_at = ? WHERE job_key = ?
            """,
            [.date(runAt), .date(runAt), .date(Date()), .text(key)])
        // A row rewritten with equal values reports 0 affected rows; it still exists.
        let exists: Bool
        if outcome.affectedRows > 0 {
            exists = true
        } else {
            exists = try await !executor.query("SELECT 1 FROM \(JobTable.name) WHERE job_key = ?", [.text(key)]).isEmpty
        }
        if exists { scheduled(runAt) }
        return exists
    }

    @discardableResult
    package func cancel(key: String) async throws -> Bool {
        try Self.check(kind: "-", key: key)
        let outcome = try await executor.execute(
            "DELETE FROM \(JobTable.name) WHERE job_key = ? AND state = 'queued'", [.text(key)])
        return outcome.affectedRows > 0
    }
}
