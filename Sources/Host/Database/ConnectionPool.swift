import Foundation
import Logging
import QuikSDK

/// Sizes and timeouts of one connection pool.
public struct PoolConfiguration: Sendable {
    /// Most connections open at once. Default 4 per plugin, 4 for the host.
    public var maxConnections: Int = 4
    /// Longest wait for a free connection before the caller gets `unavailable` (503). Default 2 s.
    public var leaseTimeout: Duration = .seconds(2)
    /// A connection idle this long is closed instead of reused. Default 60 s.
    public var idleTimeout: Duration = .seconds(60)
    /// A connection idle this long is pinged before it is handed out. Default 5 s.
    public var healthCheckAfter: Duration = .seconds(5)
    /// Longest wait to open a connection. Default 2 s.
    public var connectTimeout: Duration = .seconds(2)
    /// Longest a statement may run (the server's `max_statement_time`). Default 30 s.
    public var statementTimeout: Duration = .seconds(30)

    /// The defaults.
    public init() {}
}

/// A bounded pool of connections to one account. A caller that cannot get a
/// connection within the lease timeout gets `DatabaseError.unavailable`, never
/// a hang; connections that broke (the server went away) are dropped and new
/// ones are opened on demand, so the pool recovers by itself when the server returns.
actor ConnectionPool {
    private enum Grant {
        case existing(MySQLConnection)
        case create
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
    }

    nonisolated let name: String
    nonisolated let target: ConnectionTarget
    nonisolated let configuration: PoolConfiguration
    private let metrics: PoolMetrics
    private var idle: [MySQLConnection] = []
    private var open = 0
    private var leased = 0
    private var waiters: [Waiter] = []
    private var nextWaiter = 0
    private var closed = false
    private var drained: [CheckedContinuation<Void, Never>] = []

    init(name: String, target: ConnectionTarget, configuration: PoolConfiguration, metrics: DatabaseMetrics) {
        self.name = name
        self.target = target
        self.configuration = configuration
        self.metrics = metrics.pool(name)
    }

    /// Connections open now (leased and idle); never above `maxConnections`.
    var openConnections: Int { open }

    /// Runs `body` with a connection, returning it to the pool afterwards, even when `body` throws.
    nonisolated func withConnection<T: Sendable>(_ body: (MySQLConnection) async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        let connection = try await acquire()
        metrics.leased(wait: ContinuousClock.now - started)
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            if let error = error as? DatabaseError { metrics.failed(kind: error.kind) }
            await release(connection)
            throw error
        }
    }

    private nonisolated func acquire() async throws -> MySQLConnection {
        let deadline = ContinuousClock.now + configuration.leaseTimeout
        while true {
            switch try await lease(deadline: deadline) {
            case .existing(let connection):
                if ContinuousClock.now - connection.idleSince > configuration.healthCheckAfter, await !connection.ping() {
                    await discardLeased()
                    continue
                }
                return connection
            case .create:
                do {
                    return try await MySQLConnection.connect(
                        to: target, connectTimeout: configuration.connectTimeout, statementTimeout: configuration.statementTimeout)
                } catch {
                    await discardLeased()
                    if let error = error as? DatabaseError, error.kind != .unavailable, error.kind != .denied { throw error }
                    throw DatabaseError(.unavailable, "cannot connect to the database: \((error as? DatabaseError)?.message ?? "\(error)")")
                }
            }
        }
    }

    private func lease(deadline: ContinuousClock.Instant) async throws -> Grant {
        guard !closed else { throw DatabaseError(.unavailable, "the connection pool is shut down") }
        while let connection = idle.popLast() {
            if ContinuousClock.now - connection.idleSince > configuration.idleTimeout {
                open -= 1
                continue
            }
            leased += 1
            report()
            return .existing(connection)
        }
        if open < configuration.maxConnections {
            open += 1
            leased += 1
            report()
            return .create
        }
        nextWaiter += 1
        let id = nextWaiter
        let remaining = deadline - ContinuousClock.now
        return try await withCheckedThrowingContinuation { continuation in
            waiters.append(Waiter(id: id, continuation: continuation))
            report()
            Task { [weak self] in
                try? await Task.sleep(for: remaining)
                await self?.expire(id)
            }
        }
    }

    private func expire(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        report()
        waiter.continuation.resume(throwing: DatabaseError(.unavailable, "no database connection came free in time"))
    }

    private func release(_ connection: MySQLConnection) {
        guard !connection.isBroken, !closed else {
            discardLeased()
            return
        }
        connection.idleSince = ContinuousClock.now
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: .existing(connection))
            report()
            return
        }
        leased -= 1
        idle.append(connection)
        report()
        finishDrainIfDone()
    }

    /// A leased connection (or a slot reserved to open one) is gone: hand the slot on.
    private func discardLeased() {
        if !waiters.isEmpty, !closed {
            waiters.removeFirst().continuation.resume(returning: .create)
        } else {
            leased -= 1
            open -= 1
        }
        report()
        finishDrainIfDone()
    }

    /// Refuses new leases, fails waiters, closes idle connections and waits (bounded) for leased ones to come back.
    func close(timeout: Duration) async {
        closed = true
        for waiter in waiters {
            waiter.continuation.resume(throwing: DatabaseError(.unavailable, "the connection pool is shut down"))
        }
        waiters.removeAll()
        open -= idle.count
        idle.removeAll()
        report()
        guard leased > 0 else { return }
        Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.finishDrain()
        }
        await withCheckedContinuation { drained.append($0) }
    }

    private func finishDrainIfDone() {
        if closed, leased == 0 { finishDrain() }
    }

    private func finishDrain() {
        let waiting = drained
        drained.removeAll()
        for continuation in waiting { continuation.resume() }
    }

    private func report() {
        metrics.report(inUse: leased, open: open, waiting: waiters.count)
    }
}
