import Foundation
import Logging
import QuikSDK
import QuikSupport
import Synchronization

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
/// working connection within the lease timeout gets `DatabaseError.unavailable`,
/// never a hang, even from a server that stopped answering; connections that
/// broke (the server went away) are dropped and new ones are opened on demand,
/// so the pool recovers by itself when the server returns.
///
/// The decisions are ``PoolStateMachine``'s; this shell does the I/O it asks
/// for under one lock, with a ``DeadlineTimer`` per waiting caller (no task).
package final class ConnectionPool: Sendable {
    private typealias Machine = PoolStateMachine<MySQLConnection>

    private struct State {
        var machine: Machine
        var waiters: [Machine.WaiterID: CheckedContinuation<Machine.Grant, any Error>] = [:]
        var timers: [Machine.WaiterID: DeadlineTimer] = [:]
        var nextWaiter = 0
        var drained: [CheckedContinuation<Void, Never>] = []
    }

    package let name: String
    package let target: ConnectionTarget
    package let configuration: PoolConfiguration
    private let metrics: PoolMetrics
    private let state: Mutex<State>

    package init(name: String, target: ConnectionTarget, configuration: PoolConfiguration, metrics: DatabaseMetrics) {
        self.name = name
        self.target = target
        self.configuration = configuration
        self.metrics = metrics.pool(name)
        state = Mutex(State(machine: Machine(limits: .init(
            maxConnections: configuration.maxConnections, idleTimeout: configuration.idleTimeout,
            healthCheckAfter: configuration.healthCheckAfter))))
    }

    /// Connections open now (leased and idle); never above `maxConnections`.
    package var openConnections: Int { state.withLock { $0.machine.open } }

    /// Runs `body` with a connection, returning it to the pool afterwards, even when `body` throws.
    /// `leaseTimeout` bounds the wait for a working connection (default: the pool's).
    package func withConnection<T: Sendable>(leaseTimeout: Duration? = nil, _ body: (MySQLConnection) async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        let connection = try await acquire(deadline: started + (leaseTimeout ?? configuration.leaseTimeout))
        metrics.leased(wait: ContinuousClock.now - started)
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            if let error = error as? DatabaseError { metrics.failed(kind: error.kind) }
            release(connection)
            throw error
        }
    }

    /// Whether a connection can be leased and answers a ping by `deadline`.
    package func probe(until deadline: ContinuousClock.Instant) async -> Bool {
        guard let connection = try? await acquire(deadline: deadline) else { return false }
        guard let alive = await connection.ping(until: deadline, late: { _ in self.release(connection) }) else { return false }
        release(connection)
        return alive
    }

    private func acquire(deadline: ContinuousClock.Instant) async throws -> MySQLConnection {
        while true {
            switch try await grant(deadline: deadline) {
            case .existing(let connection, ping: false):
                return connection
            case .existing(let connection, ping: true):
                // A ping that outlives the deadline still holds the slot; it is freed when the ping ends.
                switch await connection.ping(until: deadline, late: { _ in self.discardSlot() }) {
                case true?: return connection
                case false?: discardSlot()
                case nil: throw DatabaseError(.unavailable, "the database did not answer in time")
                }
            case .connect:
                do {
                    return try await MySQLConnection.connect(
                        to: target, connectTimeout: configuration.connectTimeout, statementTimeout: configuration.statementTimeout,
                        until: deadline)
                } catch {
                    discardSlot()
                    if let error = error as? DatabaseError, error.kind != .unavailable, error.kind != .denied { throw error }
                    throw DatabaseError(.unavailable, "cannot connect to the database: \((error as? DatabaseError)?.message ?? "\(error)")")
                }
            }
        }
    }

    /// A connection or a slot from the state machine, waiting (bounded by `deadline`, and by cancellation) when none is free.
    private func grant(deadline: ContinuousClock.Instant) async throws -> Machine.Grant {
        // The common case takes the lock once and allocates no continuation.
        let now = ContinuousClock.now
        let (action, id, counts) = state.withLock { state in
            state.nextWaiter += 1
            let action = state.machine.lease(state.nextWaiter, deadline: deadline, now: now, mayWait: false).0
            return (action, state.nextWaiter, Self.counts(state.machine))
        }
        switch action {
        case .grant(let grant):
            report(counts)
            return grant
        case .fail(let failure):
            throw Self.error(failure)
        case .wait:
            break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Decided and stored under one lock: a release, the timer or a cancellation
                // that comes later finds the continuation.
                let (action, counts) = state.withLock { state -> (Machine.LeaseAction, Counts) in
                    guard !Task.isCancelled else { return (.fail(.timedOut), Self.counts(state.machine)) }
                    let action = state.machine.lease(id, deadline: deadline, now: ContinuousClock.now, mayWait: true).0
                    if case .wait = action {
                        state.waiters[id] = continuation
                        state.timers[id] = DeadlineTimer(at: deadline) { self.expire() }
                    }
                    return (action, Self.counts(state.machine))
                }
                switch action {
                case .grant(let grant): continuation.resume(returning: grant)
                case .fail where Task.isCancelled: continuation.resume(throwing: CancellationError())
                case .fail(let failure): continuation.resume(throwing: Self.error(failure))
                case .wait: break
                }
                report(counts)
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Machine.Grant, any Error>? in
                guard state.machine.cancel(id) else { return nil }
                state.timers.removeValue(forKey: id)?.cancel()
                return state.waiters.removeValue(forKey: id)
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// A leased slot is lost (its connection broke or never opened).
    private func discardSlot() {
        perform(state.withLock { $0.machine.discard() })
    }

    private func expire() {
        perform(state.withLock { $0.machine.expire(now: ContinuousClock.now) })
    }

    private func release(_ connection: MySQLConnection) {
        let now = ContinuousClock.now
        perform(state.withLock { state in
            connection.isBroken ? state.machine.discard() : state.machine.release(connection, now: now)
        })
    }

    /// Carries out what the state machine decided, outside its lock.
    private func perform(_ actions: Machine.Actions) {
        var resumes: [(CheckedContinuation<Machine.Grant, any Error>, Machine.Grant)] = []
        var failures: [CheckedContinuation<Machine.Grant, any Error>] = []
        var counts: Counts = (0, 0, 0)
        let drained = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            counts = Self.counts(state.machine)
            if let (id, grant) = actions.resume {
                state.timers.removeValue(forKey: id)?.cancel()
                if let continuation = state.waiters.removeValue(forKey: id) { resumes.append((continuation, grant)) }
            }
            for id in actions.fail {
                state.timers.removeValue(forKey: id)?.cancel()
                if let continuation = state.waiters.removeValue(forKey: id) { failures.append(continuation) }
            }
            guard actions.drained else { return [] }
            defer { state.drained.removeAll() }
            return state.drained
        }
        for (continuation, grant) in resumes { continuation.resume(returning: grant) }
        for continuation in failures { continuation.resume(throwing: Self.error(actions.failure)) }
        for continuation in drained { continuation.resume() }
        report(counts)
    }

    /// Closes connections idle past the idle timeout; the database layer's service calls it now and then.
    package func pruneIdle() {
        let (closing, counts) = state.withLock { ($0.machine.pruneIdle(now: ContinuousClock.now), Self.counts($0.machine)) }
        if !closing.isEmpty { report(counts) }
    }

    /// Refuses new leases, fails waiters, closes idle connections and waits (bounded) for leased ones to come back.
    package func close(timeout: Duration) async {
        let actions = state.withLock { $0.machine.close() }
        perform(actions)
        guard !actions.drained else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { state -> Bool in
                guard state.machine.leased > 0 else { return false }
                state.drained.append(continuation)
                return true
            }
            guard waiting else { return continuation.resume() }
            _ = DeadlineTimer(at: ContinuousClock.now + timeout) { self.giveUpDraining() }
        }
    }

    private func giveUpDraining() {
        let waiting = state.withLock { state in defer { state.drained.removeAll() }; return state.drained }
        for continuation in waiting { continuation.resume() }
    }

    private typealias Counts = (inUse: Int, open: Int, waiting: Int)

    /// Read under the lock that changed them, recorded after it.
    private static func counts(_ machine: Machine) -> Counts {
        (machine.leased, machine.open, machine.waiting)
    }

    private func report(_ counts: Counts) {
        metrics.report(inUse: counts.inUse, open: counts.open, waiting: counts.waiting)
    }

    private static func error(_ failure: PoolFailure) -> DatabaseError {
        switch failure {
        case .timedOut: DatabaseError(.unavailable, "no database connection came free in time")
        case .shutDown: DatabaseError(.unavailable, "the connection pool is shut down")
        }
    }
}
