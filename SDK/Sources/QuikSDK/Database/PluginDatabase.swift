import Foundation

/// Runs statements: a pooled connection, or a transaction.
public protocol SQLExecutor: Sendable {
    /// Runs a statement that returns rows. `?` placeholders take `bindings` in order.
    func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow]

    /// Runs a statement that returns no rows.
    @discardableResult
    func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> SQLOutcome
}

/// The statements of one transaction, plus durable events that commit with it.
public protocol SQLTransaction: SQLExecutor {
    /// Publishes an event that is written to the plugin's outbox inside this
    /// transaction and delivered after it commits, at least once, surviving a
    /// crash. Returns the event's id, which subscribers may use to ignore a redelivery.
    @discardableResult
    func publish(_ topic: String, payload: Data) async throws -> String

    /// The plugin's durable jobs inside this transaction: what is scheduled, moved or
    /// cancelled here commits or rolls back with it. Since SDK 1.5.
    var jobs: (any JobQueue)? { get }
}

/// The plugin's own database: schema `quik_<plugin>`, reached through its own
/// account and connection pool. Other plugins' tables are out of its reach.
public protocol PluginDatabase: SQLExecutor {
    /// Runs `body` in a transaction on one connection. It commits when `body`
    /// returns and rolls back when it throws. With `retryOnDeadlock`, a
    /// deadlock or lock wait timeout runs `body` again, a bounded number of times.
    func transaction(retryOnDeadlock: Bool, _ body: (any SQLTransaction) async throws -> Void) async throws
}

extension SQLExecutor {
    /// Runs a statement that returns rows, without bindings.
    public func query(_ sql: String) async throws -> [SQLRow] {
        try await query(sql, [])
    }

    /// Runs a statement that returns no rows, without bindings.
    @discardableResult
    public func execute(_ sql: String) async throws -> SQLOutcome {
        try await execute(sql, [])
    }
}

extension SQLTransaction {
    /// None, as on a host older than SDK 1.5.
    public var jobs: (any JobQueue)? { nil }

    /// The jobs of this transaction, or `unavailable`.
    public func requireJobs() throws -> any JobQueue {
        guard let jobs else { throw PluginError(.unavailable, "this host has no durable jobs") }
        return jobs
    }

    /// Publishes `value`, encoded with the contract's encoder, durably with this transaction.
    @discardableResult
    public func publish<T: Encodable>(_ topic: String, _ value: T) async throws -> String {
        try await publish(topic, payload: JSONEncoder.quik.encode(value))
    }
}

extension PluginDatabase {
    /// Runs `body` in a transaction and returns its result; see ``transaction(retryOnDeadlock:_:)``.
    public func transaction<T: Sendable>(
        retryOnDeadlock: Bool = false,
        _ body: (any SQLTransaction) async throws -> T
    ) async throws -> T {
        var result: T?
        try await transaction(retryOnDeadlock: retryOnDeadlock) { transaction in
            result = try await body(transaction)
        }
        guard let result else { throw DatabaseError(.other, "the transaction returned no result") }
        return result
    }
}
