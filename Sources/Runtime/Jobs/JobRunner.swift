import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import ServiceLifecycle
import Synchronization

/// Runs plugins' durable jobs as they fall due: claims them from each plugin's
/// `_quik_jobs` with `FOR UPDATE SKIP LOCKED` (so hosts sharing a database never
/// take the same job), runs each through the active version of its plugin, and
/// marks it done, or due again after a backoff, or failed when its attempts run out.
package final class JobRunner: Service, Sendable {
    private struct Source: Sendable {
        let plugin: String
        let pool: ConnectionPool
        let kinds: [String]
    }

    private struct Claimed: Sendable {
        let job: Job
        let maxAttempts: Int
    }

    private let runtime: HostRuntime
    private let configuration: JobsConfiguration
    private let logger: Logger
    /// Names this host in `claimed_by`.
    package let hostID: String
    private let running = Atomic(0)
    private let stopping = Atomic(false)
    private let housekeepingBell = Doorbell()
    /// Jobs that ended well, not yet marked so: written in batches, a statement per plugin and kind of row.
    private let finished = Mutex<[String: (source: Source, ids: [String], keyedIds: [String])]>([:])
    private let finishedCount = Atomic(0)

    package init(runtime: HostRuntime) {
        self.runtime = runtime
        self.configuration = runtime.configuration.jobs
        self.logger = runtime.logger
        self.hostID = "\(ProcessInfo.processInfo.hostName.prefix(40))/\(getpid())/\(EventID.make().suffix(8))"
    }

    /// The plugins that registered job handlers and have a database.
    private func sources() -> [Source] {
        runtime.snapshot.active.values.compactMap { instance in
            guard let database = instance.database else { return nil }
            let kinds = instance.sealed.jobs.keys.sorted()
            return kinds.isEmpty ? nil : Source(plugin: instance.name, pool: database.pool, kinds: kinds)
        }.sorted { $0.plugin < $1.plugin }
    }

    package func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await gracefulShutdown()
                self.stopping.store(true, ordering: .releasing)
                self.runtime.jobSignal.ring()
                self.housekeepingBell.ring()
            }
            group.addTask { await self.housekeeping() }
            while !stopping.load(ordering: .acquiring) {
                var claimed = 0
                var nextDue: Date?
                for source in sources() {
                    let busy = running.load(ordering: .acquiring)
                    let free = configuration.concurrency - busy
                    // Claims come in batches: one claim per freed slot would cost a transaction per job.
                    guard free > 0, busy == 0 || free >= max(1, configuration.concurrency / 2) else { break }
                    do {
                        let jobs = try await claim(source, limit: min(free, configuration.batchSize))
                        claimed += jobs.count
                        for job in jobs {
                            running.add(1, ordering: .acquiringAndReleasing)
                            group.addTask {
                                await self.execute(job, source)
                                self.running.subtract(1, ordering: .acquiringAndReleasing)
                                self.runtime.jobSignal.ring()
                            }
                        }
                        if jobs.isEmpty, let due = try await self.nextDue(source) {
                            nextDue = min(nextDue ?? due, due)
                        }
                    } catch {
                        logger.warning("cannot claim jobs; will retry", metadata: ["plugin": "\(source.plugin)", "error": "\(error)"])
                    }
                }
                await recordFinished()
                let busy = running.load(ordering: .acquiring)
                let full = busy > 0 && configuration.concurrency - busy < max(1, configuration.concurrency / 2)
                if claimed > 0, !full { continue }
                var wait = configuration.pollInterval
                if !full, let nextDue {
                    // Due now but not claimed: held by another host, or of a kind this version no longer runs.
                    let until = nextDue.timeIntervalSinceNow
                    if until > 0 { wait = min(wait, .milliseconds(Int64(until * 1000) + 1)) }
                }
                await runtime.jobSignal.wait(atMost: wait)
            }
        }
        await recordFinished()
    }

    /// Marks the jobs that ended well since the last call, in one statement per plugin and kind of row.
    /// Until then a job stays claimed: a crash in between runs it again, as at-least-once allows.
    private func recordFinished() async {
        let batches = finished.withLock { finished in
            defer { finished.removeAll() }
            return Array(finished.values)
        }
        finishedCount.store(0, ordering: .releasing)
        for batch in batches {
            do {
                try await batch.source.pool.withConnection { connection in
                    if !batch.ids.isEmpty {
                        _ = try await connection.perform(
                            "DELETE FROM \(JobTable.name) WHERE id IN (\(Identifier.placeholders(batch.ids.count))) AND state = 'running' AND claimed_by = ?",
                            batch.ids.map(SQLValue.text) + [.text(hostID)])
                    }
                    if !batch.keyedIds.isEmpty {
                        _ = try await connection.perform(
                            """
                            UPDATE \(JobTable.name) SET state = 'done', run_at = NULL, last_error = NULL, updated_at = ?
                            WHERE id IN (\(Identifier.placeholders(batch.keyedIds.count))) AND state = 'running' AND claimed_by = ?
                            """,
                            [.date(Date())] + batch.keyedIds.map(SQLValue.text) + [.text(hostID)])
                    }
                }
            } catch {
                // Their claims lapse and they run again: at least once.
                logger.warning(
                    "cannot record finished jobs; they will run again", metadata: ["plugin": "\(batch.source.plugin)", "error": "\(error)"])
            }
        }
    }


    /// Claims up to `limit` due jobs of `source` for this host.
    private func claim(_ source: Source, limit: Int) async throws -> [Claimed] {
        let now = Date()
        let lease = now.addingTimeInterval(Double(configuration.timeout.components.seconds) * 2 + 1)
        let kinds = Identifier.placeholders(source.kinds.count)
        return try await source.pool.withConnection { connection in
            // Read committed: rows of other kinds that the scan meets are not kept locked.
            _ = try await connection.perform("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", [])
            _ = try await connection.perform("START TRANSACTION", [])
            do {
                let rows = try await connection.perform(
                    """
                    SELECT id, kind, job_key, payload, due_at, attempts, max_attempts FROM \(JobTable.name)
                    WHERE run_at <= ? AND state IN ('queued', 'running') AND kind IN (\(kinds))
                    ORDER BY run_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                    """,
                    [.date(now)] + source.kinds.map(SQLValue.text)
                ).0
                if !rows.isEmpty {
                    let ids = Identifier.placeholders(rows.count)
                    _ = try await connection.perform(
                        """
                        UPDATE \(JobTable.name) SET state = 'running', run_at = ?, attempts = attempts + 1, claimed_by = ?, updated_at = ?
                        WHERE id IN (\(ids))
                        """,
                        [.date(lease), .text(hostID), .date(now)] + rows.map { $0["id"] })
                }
                _ = try await connection.perform("COMMIT", [])
                return rows.map { row in
                    Claimed(
                        job: Job(
                            id: row["id"].string ?? "", kind: row["kind"].string ?? "", key: row["job_key"].string,
                            payload: row["payload"].data ?? Data(), runAt: row["due_at"].date ?? now,
                            attempt: Int(row["attempts"].int ?? 0) + 1),
                        maxAttempts: Int(row["max_attempts"].int ?? 1))
                }
            } catch {
                if !connection.isBroken { _ = try? await connection.perform("ROLLBACK", []) }
                throw error
            }
        }
    }

    /// When the next live job of `source` falls due (or its claim lapses).
    private func nextDue(_ source: Source) async throws -> Date? {
        let rows = try await source.pool.withConnection { try await $0.perform("SELECT MIN(run_at) AS next FROM \(JobTable.name)", []).0 }
        return rows.first?["next"].date
    }

    private func execute(_ claimed: Claimed, _ source: Source) async {
        let job = claimed.job
        runtime.metrics.jobDelay(plugin: source.plugin, .milliseconds(Int64(max(0, -job.runAt.timeIntervalSinceNow) * 1000)))
        let timeout = configuration.timeout
        let failure: String?
        do {
            let ran = try await runtime.withInstance({ $0.active[source.plugin] }) { instance -> Bool in
                guard let handler = instance.sealed.jobs[job.kind] else { return false }
                instance.enter()
                try await withDeadline(timeout, onEnd: instance.leave) { try await handler(job) }
                return true
            }
            failure = ran == true ? nil : "plugin '\(source.plugin)' has no handler for '\(job.kind)' now"
        } catch is DeadlineExceeded {
            failure = "did not finish within \(timeout)"
        } catch let error as PluginError {
            failure = "\(error.code.rawValue): \(error.message)"
        } catch let error as DatabaseError {
            failure = "database: \(error.kind)"
        } catch {
            failure = String(describing: type(of: error))
        }
        do {
            try await finish(claimed, source, failure: failure)
        } catch {
            // The claim lapses and the job runs again: at least once.
            logger.warning(
                "cannot record a job's end; it will run again", metadata: ["plugin": "\(source.plugin)", "job": "\(job.id)", "error": "\(error)"])
        }
    }

    private func finish(_ claimed: Claimed, _ source: Source, failure: String?) async throws {
        let job = claimed.job
        let now = Date()
        // Only while the claim is still this run's: a reschedule meanwhile reset the attempts.
        let mine: [SQLValue] = [.text(job.id), .int(Int64(job.attempt))]
        let ownership = "id = ? AND attempts = ? AND state = 'running'"
        guard let failure else {
            finished.withLock { finished in
                var batch = finished[source.plugin] ?? (source, [], [])
                if job.key == nil { batch.ids.append(job.id) } else { batch.keyedIds.append(job.id) }
                finished[source.plugin] = batch
            }
            // Written by the claiming loop, or here once a batch's worth has gathered.
            if finishedCount.add(1, ordering: .acquiringAndReleasing).newValue >= configuration.batchSize { await recordFinished() }
            runtime.metrics.jobRan(plugin: source.plugin, kind: job.kind, outcome: "done")
            return
        }
        let exhausted = job.attempt >= claimed.maxAttempts
        let retryAt = now.addingTimeInterval(Self.backoff(attempt: job.attempt))
        try await source.pool.withConnection {
            _ = try await $0.perform(
                "UPDATE \(JobTable.name) SET state = ?, run_at = ?, last_error = ?, updated_at = ? WHERE \(ownership)",
                [
                    .text(exhausted ? JobTable.State.failed.rawValue : JobTable.State.queued.rawValue), exhausted ? .null : .date(retryAt),
                    .text(String(failure.prefix(1000))), .date(now),
                ] + mine)
        }
        runtime.metrics.jobRan(plugin: source.plugin, kind: job.kind, outcome: exhausted ? "failed" : "retry")
        logger.warning(
            exhausted ? "job failed for good" : "job failed; will retry",
            metadata: ["plugin": "\(source.plugin)", "kind": "\(job.kind)", "attempt": "\(job.attempt)", "error": "\(failure)"])
    }

    /// Seconds before retry `attempt` + 1: 1, 2, 4 … capped at an hour, with ±10 % jitter.
    package static func backoff(attempt: Int) -> TimeInterval {
        let base = min(3600, pow(2, Double(max(0, attempt - 1))))
        return base * Double.random(in: 0.9...1.1)
    }

    /// Every few seconds: the gauges of `/metrics`, and finished jobs past their retention removed.
    private func housekeeping() async {
        while !stopping.load(ordering: .acquiring) {
            for source in sources() {
                do {
                    let now = Date()
                    let rows = try await source.pool.withConnection { connection in
                        try await connection.perform(
                            """
                            SELECT (SELECT COUNT(*) FROM \(JobTable.name) WHERE run_at <= ? AND state = 'queued') AS due,
                                   (SELECT COUNT(*) FROM \(JobTable.name) WHERE state = 'running') AS running,
                                   (SELECT COUNT(*) FROM \(JobTable.name) WHERE state = 'failed') AS failed
                            """, [.date(now)]
                        ).0
                    }
                    for state in ["due", "running", "failed"] {
                        runtime.metrics.jobs(plugin: source.plugin, state: state, count: Int(rows.first?[state].int ?? 0))
                    }
                    let horizon = now.addingTimeInterval(-Double(configuration.retention.components.seconds))
                    try await source.pool.withConnection {
                        _ = try await $0.perform(
                            "DELETE FROM \(JobTable.name) WHERE state = 'done' AND updated_at < ? LIMIT 1000", [.date(horizon)])
                    }
                } catch {
                    logger.debug("cannot count jobs", metadata: ["plugin": "\(source.plugin)", "error": "\(error)"])
                }
            }
            await housekeepingBell.wait(atMost: .seconds(2))
        }
    }
}
