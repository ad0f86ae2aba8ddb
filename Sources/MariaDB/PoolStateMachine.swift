import QuikSupport

/// The bookkeeping of a connection pool as a value: each event (a lease asked
/// for, a connection returned or lost, a deadline passed, shutdown) updates the
/// counts and returns what the caller must do. It does no I/O and keeps no
/// time of its own, so it is tested without a server or a clock.
///
/// A slot is one connection the pool may have open: idle, leased, or being
/// opened for a lease. `open` counts slots, never above `maxConnections`.
package struct PoolStateMachine<Connection> {
    /// Identifies a caller waiting for a lease; chosen by the shell.
    package typealias WaiterID = Int

    /// What a lease gets.
    package enum Grant {
        /// An idle connection; `ping` when it sat idle past `healthCheckAfter`.
        case existing(Connection, ping: Bool)
        /// A reserved slot: the caller opens a connection for it.
        case connect
    }

    /// The answer to ``lease(_:deadline:now:)``.
    package enum LeaseAction {
        case grant(Grant)
        /// No slot is free; the caller waits until a ``Actions/resume`` or a failure names it.
        case wait
        case fail(PoolFailure)
    }

    /// Work for the shell after an event, in this order: close, resume, fail, drained.
    package struct Actions {
        /// Connections to close (idle too long, broken, or the pool shut down).
        package var close: [Connection] = []
        /// A waiter to hand a connection or a slot to.
        package var resume: (waiter: WaiterID, grant: Grant)?
        /// Waiters to fail, and why.
        package var fail: [WaiterID] = []
        package var failure: PoolFailure = .timedOut
        /// The pool is shut down and no slot is leased any more.
        package var drained = false
    }

    /// Sizes and ages the state machine decides by.
    package struct Limits {
        package var maxConnections: Int
        package var idleTimeout: Duration
        package var healthCheckAfter: Duration
    }

    private struct Idle {
        let connection: Connection
        let since: ContinuousClock.Instant
    }

    private struct Waiter {
        let id: WaiterID
        let deadline: ContinuousClock.Instant
    }

    package let limits: Limits
    private var idle: [Idle] = []
    private var waiters: [Waiter] = []
    /// Slots in use: idle, leased or being opened.
    package private(set) var open = 0
    /// Slots handed out: leased connections and connections being opened.
    package private(set) var leased = 0
    package private(set) var isClosed = false

    package init(limits: Limits) {
        self.limits = limits
    }

    package var waiting: Int { waiters.count }
    package var idleCount: Int { idle.count }

    /// A caller asks for a connection. Idle connections are reused newest first
    /// (those past `idleTimeout` are closed on the way); else a free slot is
    /// reserved; else the caller waits, first come first served (with `mayWait`
    /// false it is only told to come back ready to wait).
    package mutating func lease(
        _ id: WaiterID, deadline: ContinuousClock.Instant, now: ContinuousClock.Instant, mayWait: Bool = true
    ) -> (LeaseAction, close: [Connection]) {
        guard !isClosed else { return (.fail(.shutDown), []) }
        var close: [Connection] = []
        while let entry = idle.popLast() {
            if now - entry.since > limits.idleTimeout {
                open -= 1
                close.append(entry.connection)
                continue
            }
            leased += 1
            return (.grant(.existing(entry.connection, ping: now - entry.since > limits.healthCheckAfter)), close)
        }
        if open < limits.maxConnections {
            open += 1
            leased += 1
            return (.grant(.connect), close)
        }
        guard now < deadline else { return (.fail(.timedOut), close) }
        guard mayWait else { return (.wait, close) }
        waiters.append(Waiter(id: id, deadline: deadline))
        return (.wait, close)
    }

    /// A leased connection comes back healthy: it goes to the longest waiter, or idles.
    package mutating func release(_ connection: Connection, now: ContinuousClock.Instant) -> Actions {
        guard !isClosed else {
            var actions = discard()
            actions.close.append(connection)
            return actions
        }
        if !waiters.isEmpty {
            return Actions(resume: (waiters.removeFirst().id, .existing(connection, ping: false)))
        }
        leased -= 1
        idle.append(Idle(connection: connection, since: now))
        return Actions()
    }

    /// A leased slot is lost: its connection broke, failed its ping, or could not be
    /// opened. The slot passes to the longest waiter, who opens a new connection;
    /// without one it is freed. The shell closes the connection itself, if any.
    package mutating func discard() -> Actions {
        if !isClosed, !waiters.isEmpty {
            return Actions(resume: (waiters.removeFirst().id, .connect))
        }
        leased -= 1
        open -= 1
        return Actions(drained: isClosed && leased == 0)
    }

    /// Fails every waiter whose deadline has passed.
    package mutating func expire(now: ContinuousClock.Instant) -> Actions {
        var actions = Actions(failure: .timedOut)
        waiters.removeAll { waiter in
            guard waiter.deadline <= now else { return false }
            actions.fail.append(waiter.id)
            return true
        }
        return actions
    }

    /// A waiter gave up (its task was cancelled). Returns whether it was still waiting.
    package mutating func cancel(_ id: WaiterID) -> Bool {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Closes connections idle past `idleTimeout`.
    package mutating func pruneIdle(now: ContinuousClock.Instant) -> [Connection] {
        var close: [Connection] = []
        idle.removeAll { entry in
            guard now - entry.since > limits.idleTimeout else { return false }
            close.append(entry.connection)
            return true
        }
        open -= close.count
        return close
    }

    /// Refuses new leases, fails the waiters and closes idle connections;
    /// `drained` once no slot is leased.
    package mutating func close() -> Actions {
        guard !isClosed else { return Actions(drained: leased == 0) }
        isClosed = true
        var actions = Actions(close: idle.map(\.connection), fail: waiters.map(\.id), failure: .shutDown)
        open -= idle.count
        idle.removeAll()
        waiters.removeAll()
        actions.drained = leased == 0
        return actions
    }
}

/// Why a lease failed.
package enum PoolFailure: Equatable, Sendable {
    /// No connection came free before the lease deadline.
    case timedOut
    /// The pool is shut down.
    case shutDown
}

extension PoolStateMachine.Grant: Sendable where Connection: Sendable {}
