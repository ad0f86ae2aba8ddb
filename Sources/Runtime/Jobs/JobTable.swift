import QuikMariaDB

/// The durable jobs table, one in each plugin's schema beside its outbox.
///
/// `run_at` is when a waiting job is due and, while one runs, when its claim
/// lapses: a host that dies mid-run leaves a job another host claims once
/// `run_at` passes. Finished and failed jobs have no `run_at`, so the claim scan
/// (`run_at <= now`, oldest first, `SKIP LOCKED`) only ever meets live jobs.
package enum JobTable {
    package static let name = "`_quik_jobs`"

    package enum State: String, Sendable {
        case queued, running, done, failed
    }

    /// The DDL, in `schema`.
    package static func create(in schema: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(schema).\(name) (
          id VARCHAR(40) NOT NULL PRIMARY KEY,
          kind VARCHAR(100) NOT NULL,
          job_key VARCHAR(191) NULL,
          payload LONGBLOB NOT NULL,
          state VARCHAR(10) NOT NULL,
          run_at DATETIME(3) NULL,
          due_at DATETIME(3) NOT NULL,
          attempts INT NOT NULL DEFAULT 0,
          max_attempts INT NOT NULL,
          claimed_by VARCHAR(80) NULL,
          last_error VARCHAR(1000) NULL,
          created_at DATETIME(3) NOT NULL,
          updated_at DATETIME(3) NOT NULL,
          UNIQUE KEY by_key (job_key),
          KEY live (run_at),
          KEY by_state (state, updated_at)
        )
        """
    }
}
