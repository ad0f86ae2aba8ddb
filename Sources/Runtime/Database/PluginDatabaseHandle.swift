import Foundation
import QuikMariaDB
import QuikSDK
import QuikSupport

/// A plugin's ``PluginDatabase``: its pool on its own account.
package struct PluginDatabaseHandle: PluginDatabase {
    package let plugin: String
    package let namespaces: [String]
    package let pool: ConnectionPool
    package let relay: OutboxRelay
    package let deliverOnCommit: Bool
    /// Rung after a commit that scheduled jobs.
    package var jobSignal: Doorbell?

    /// Attempts of a transaction marked retryable, deadlocks included.
    package static let attempts = 3

    package func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
        try await pool.withConnection { try await $0.perform(sql, bindings).0 }
    }

    @discardableResult
    package func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> SQLOutcome {
        try await pool.withConnection { try await $0.perform(sql, bindings).1 }
    }

    package func transaction(retryOnDeadlock: Bool, _ body: (any SQLTransaction) async throws -> Void) async throws {
        var attempt = 1
        while true {
            do {
                let (published, scheduled) = try await pool.withConnection { connection -> (Bool, Bool) in
                    _ = try await connection.perform("START TRANSACTION", [])
                    let transaction = Transaction(connection: connection, plugin: plugin, namespaces: namespaces)
                    do {
                        try await body(transaction)
                        _ = try await connection.perform("COMMIT", [])
                    } catch {
                        if !connection.isBroken { _ = try? await connection.perform("ROLLBACK", []) }
                        throw error
                    }
                    return (transaction.published, transaction.scheduledJobs)
                }
                if published, deliverOnCommit { relay.wake(plugin) }
                if scheduled { jobSignal?.ring() }
                return
            } catch let error as DatabaseError where error.kind == .deadlock && retryOnDeadlock && attempt < Self.attempts {
                attempt += 1
                try await Task.sleep(for: .milliseconds(5 * attempt + Int.random(in: 0...10)))
            }
        }
    }
}

/// One transaction on one connection.
package final class Transaction: SQLTransaction, @unchecked Sendable {
    private let connection: MySQLConnection
    private let plugin: String
    private let namespaces: [String]
    /// Whether a durable event was written; set only by this transaction's own task.
    package private(set) var published = false
    /// Whether a job was scheduled or moved; the runner is woken after the commit.
    package private(set) var scheduledJobs = false

    package init(connection: MySQLConnection, plugin: String, namespaces: [String]) {
        self.connection = connection
        self.plugin = plugin
        self.namespaces = namespaces
    }

    package func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
        try await connection.perform(sql, bindings).0
    }

    @discardableResult
    package func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> SQLOutcome {
        try await connection.perform(sql, bindings).1
    }

    @discardableResult
    package func publish(_ topic: String, payload: Data) async throws -> String {
        try TopicRules.checkPublish(topic, plugin: plugin, namespaces: namespaces)
        let id = EventID.make()
        _ = try await connection.perform(
            "INSERT INTO \(OutboxRelay.table) (id, topic, payload, created_at) VALUES (?, ?, ?, ?)",
            [.text(id), .text(topic), .blob(payload), .date(Date())])
        published = true
        return id
    }

    package var jobs: (any JobQueue)? {
        JobStore(executor: self) { [self] _ in scheduledJobs = true }
    }
}
