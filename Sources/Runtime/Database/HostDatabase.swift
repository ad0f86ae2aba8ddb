import Crypto
import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import ServiceLifecycle
import Synchronization

/// The host's side of the database: its own pool and schema, a schema, an
/// account and a pool per plugin, migrations, and the health check.
package final class HostDatabase: Service, Sendable {
    package let configuration: DatabaseConfiguration
    package let target: ConnectionTarget
    package let admin: ConnectionPool
    /// The host's pool with its own schema as the default database, where its outbox
    /// (durable `access.*` events) lives.
    package let hostPool: ConnectionPool
    package let metrics: DatabaseMetrics
    package let relay: OutboxRelay
    private let logger: Logger
    private let pools = Mutex<[String: ConnectionPool]>([:])
    private let lastHealth = Mutex<(at: ContinuousClock.Instant, ok: Bool)?>(nil)
    private let drainTimeout: Duration

    package init(configuration: DatabaseConfiguration, target: ConnectionTarget, hostMetrics: HostMetrics, drainTimeout: Duration, logger: Logger) {
        self.configuration = configuration
        self.target = target
        self.metrics = DatabaseMetrics(factory: hostMetrics.factory)
        self.admin = ConnectionPool(name: "host", target: target, configuration: configuration.pool, metrics: metrics)
        self.hostPool = ConnectionPool(
            name: "host-schema", target: target.with(user: target.user, password: target.password, database: configuration.hostSchema),
            configuration: configuration.pool, metrics: metrics)
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.relay = OutboxRelay(pollInterval: configuration.outboxPollInterval, logger: logger)
    }

    /// Creates the host's schema and tables.
    package func prepare() async throws {
        let schema = Identifier.quote(configuration.hostSchema)
        try await admin.withConnection { connection in
            _ = try await connection.perform("CREATE DATABASE IF NOT EXISTS \(schema) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", [])
            _ = try await connection.perform(
                """
                CREATE TABLE IF NOT EXISTS \(schema).plugin_accounts (
                  plugin VARCHAR(64) NOT NULL PRIMARY KEY,
                  account VARCHAR(80) NOT NULL,
                  secret VARCHAR(128) NOT NULL,
                  created_at DATETIME(3) NOT NULL
                )
                """, [])
            _ = try await connection.perform(
                """
                CREATE TABLE IF NOT EXISTS \(schema).migrations (
                  plugin VARCHAR(64) NOT NULL,
                  version INT NOT NULL,
                  name VARCHAR(200) NOT NULL,
                  checksum CHAR(64) NOT NULL,
                  applied_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (plugin, version)
                )
                """, [])
            _ = try await connection.perform(Self.outboxTable(in: schema), [])
        }
    }

    /// The outbox table's DDL, in `schema`.
    package static func outboxTable(in schema: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(schema).\(OutboxRelay.table) (
          seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
          id VARCHAR(40) NOT NULL UNIQUE,
          topic VARCHAR(255) NOT NULL,
          payload LONGBLOB NOT NULL,
          created_at DATETIME(3) NOT NULL,
          delivered_at DATETIME(3) NULL,
          KEY pending (delivered_at, seq)
        )
        """
    }

    /// Whether the server answers, checked at most once a second.
    package func isHealthy() async -> Bool {
        if let last = lastHealth.withLock({ $0 }), ContinuousClock.now - last.at < .seconds(1) { return last.ok }
        // Bounded well under a second, so /health answers in time even from a server that hangs.
        let ok = await admin.probe(until: ContinuousClock.now + .milliseconds(700))
        lastHealth.withLock { $0 = (ContinuousClock.now, ok) }
        return ok
    }

    // MARK: Plugins

    /// Makes sure the plugin has its schema, its account (granted on that schema
    /// alone) and its outbox table, and returns a pool on its account.
    package func provision(plugin: String) async throws -> ConnectionPool {
        if let pool = pools.withLock({ $0[plugin] }) { return pool }
        let schema = configuration.schema(for: plugin)
        let account = schema
        let hostSchema = Identifier.quote(configuration.hostSchema)
        let secret = try await admin.withConnection { connection -> String in
            let (rows, _) = try await connection.perform("SELECT secret FROM \(hostSchema).plugin_accounts WHERE plugin = ?", [.text(plugin)])
            let secret = rows.first?["secret"].string ?? Secret.make()
            let quotedSchema = Identifier.quote(schema)
            _ = try await connection.perform(
                "CREATE DATABASE IF NOT EXISTS \(quotedSchema) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", [])
            for host in ["localhost", "%"] {
                // Account names and secrets are made by the host from checked characters; DDL takes no placeholders.
                _ = try await connection.perform("CREATE USER IF NOT EXISTS '\(account)'@'\(host)' IDENTIFIED BY '\(secret)'", [])
                _ = try await connection.perform("ALTER USER '\(account)'@'\(host)' IDENTIFIED BY '\(secret)'", [])
                _ = try await connection.perform("GRANT ALL PRIVILEGES ON \(quotedSchema).* TO '\(account)'@'\(host)'", [])
            }
            _ = try await connection.perform(Self.outboxTable(in: quotedSchema), [])
            _ = try await connection.perform(JobTable.create(in: quotedSchema), [])
            if rows.isEmpty {
                _ = try await connection.perform(
                    "INSERT INTO \(hostSchema).plugin_accounts (plugin, account, secret, created_at) VALUES (?, ?, ?, ?)",
                    [.text(plugin), .text(account), .text(secret), .date(Date())])
            }
            return secret
        }
        let pool = ConnectionPool(
            name: plugin, target: target.with(user: account, password: secret, database: schema),
            configuration: configuration.pool, metrics: metrics)
        pools.withLock { $0[plugin] = pool }
        return pool
    }

    /// Applies the plugin's missing migrations on its own account, in order.
    /// Refuses when an applied migration was edited or is unknown to this version.
    package func migrate(plugin: String, migrations: [Migration], pool: ConnectionPool) async throws(PluginLoadError) {
        let ordered = migrations.sorted { $0.version < $1.version }
        guard ordered.enumerated().allSatisfy({ $0.offset + 1 == $0.element.version }) else {
            throw PluginLoadError(.manifestRefused, "migrations must be numbered 1, 2, 3, … without gaps or repeats")
        }
        let hostSchema = Identifier.quote(configuration.hostSchema)
        let applied: [Int: String]
        do {
            let (rows, _) = try await admin.withConnection {
                try await $0.perform("SELECT version, checksum FROM \(hostSchema).migrations WHERE plugin = ?", [.text(plugin)])
            }
            applied = Dictionary(uniqueKeysWithValues: rows.map { (Int($0["version"].int ?? 0), $0["checksum"].string ?? "") })
        } catch {
            throw PluginLoadError(.setupFailed, "cannot read applied migrations: \(error)")
        }
        if let unknown = applied.keys.sorted().first(where: { $0 > ordered.count }) {
            throw PluginLoadError(.manifestRefused, "migration \(unknown) was applied but this version of the plugin does not have it")
        }
        for migration in ordered {
            let checksum = Self.checksum(migration)
            if let recorded = applied[migration.version] {
                guard recorded == checksum else {
                    throw PluginLoadError(
                        .manifestRefused,
                        "migration \(migration.version) (\(migration.name)) was edited after it was applied; add a new migration instead")
                }
                continue
            }
            do {
                try await pool.withConnection { connection in
                    for statement in migration.statements { _ = try await connection.perform(statement, []) }
                }
                try await admin.withConnection { connection in
                    _ = try await connection.perform(
                        "INSERT INTO \(hostSchema).migrations (plugin, version, name, checksum, applied_at) VALUES (?, ?, ?, ?, ?)",
                        [.text(plugin), .int(Int64(migration.version)), .text(migration.name), .text(checksum), .date(Date())])
                }
                logger.info("migration applied", metadata: ["plugin": "\(plugin)", "version": "\(migration.version)", "name": "\(migration.name)"])
            } catch {
                let message = (error as? DatabaseError)?.message ?? "\(error)"
                throw PluginLoadError(.setupFailed, "migration \(migration.version) (\(migration.name)) failed: \(message)")
            }
        }
    }

    package static func checksum(_ migration: Migration) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("\(migration.version)\u{0}\(migration.name)".utf8))
        for statement in migration.statements { hasher.update(data: Data(("\u{0}" + statement).utf8)) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Service

    /// Closes idle connections past their idle timeout now and then; on shutdown, drains every pool.
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                for pool in self.pools.withLock({ Array($0.values) }) + [self.admin, self.hostPool] { pool.pruneIdle() }
            }
        }
        await closeAll()
    }

    /// Drains every pool: no new leases, leased connections are waited for (bounded).
    package func closeAll() async {
        let all = pools.withLock { Array($0.values) } + [admin, hostPool]
        await withDiscardingTaskGroup { group in
            for pool in all {
                group.addTask { await pool.close(timeout: self.drainTimeout) }
            }
        }
    }
}
