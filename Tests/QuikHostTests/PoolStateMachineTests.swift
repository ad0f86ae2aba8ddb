import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// The pool's decisions, without a server or a clock.
@Suite("Pool state machine")
struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String>

    let start = ContinuousClock.now
    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    func machine(max: Int = 2) -> Machine {
        Machine(limits: .init(maxConnections: max, idleTimeout: .seconds(60), healthCheckAfter: .seconds(5)))
    }

    func isConnect(_ action: Machine.LeaseAction) -> Bool {
        if case .grant(.connect) = action { return true }
        return false
    }

    @Test("free slots are reserved for opening until the bound; then callers wait")
    func boundedSlots() {
        var pool = machine(max: 2)
        let first = pool.lease(1, deadline: at(1), now: at(0)).0
        let second = pool.lease(2, deadline: at(1), now: at(0)).0
        #expect(isConnect(first))
        #expect(isConnect(second))
        guard case .wait = pool.lease(3, deadline: at(1), now: at(0)).0 else { Issue.record("third caller should wait"); return }
        #expect(pool.open == 2)
        #expect(pool.leased == 2)
        #expect(pool.waiting == 1)
    }

    @Test("a returned connection goes to the longest waiter, in arrival order")
    func waiterOrder() {
        var pool = machine(max: 1)
        _ = pool.lease(1, deadline: at(1), now: at(0))
        _ = pool.lease(2, deadline: at(1), now: at(0))
        _ = pool.lease(3, deadline: at(1), now: at(0))
        let first = pool.release("c1", now: at(0.1))
        #expect(first.resume?.waiter == 2)
        let second = pool.release("c1", now: at(0.2))
        #expect(second.resume?.waiter == 3)
        let last = pool.release("c1", now: at(0.3))
        #expect(last.resume == nil)
        #expect(pool.leased == 0)
        #expect(pool.idleCount == 1)
    }

    @Test("a waiter past its deadline fails; one still in time keeps waiting")
    func timeouts() {
        var pool = machine(max: 1)
        _ = pool.lease(1, deadline: at(1), now: at(0))
        _ = pool.lease(2, deadline: at(0.5), now: at(0))
        _ = pool.lease(3, deadline: at(2), now: at(0))
        let expired = pool.expire(now: at(0.6))
        #expect(expired.fail == [2])
        #expect(expired.failure == .timedOut)
        #expect(pool.waiting == 1)
        let handed = pool.release("c1", now: at(0.7))
        #expect(handed.resume?.waiter == 3)
    }

    @Test("a caller whose deadline already passed fails at once instead of waiting")
    func pastDeadline() {
        var pool = machine(max: 1)
        _ = pool.lease(1, deadline: at(1), now: at(0))
        guard case .fail(.timedOut) = pool.lease(2, deadline: at(1), now: at(1)).0 else {
            Issue.record("expected an immediate timeout")
            return
        }
        #expect(pool.waiting == 0)
    }

    @Test("a broken connection's slot passes to a waiter, who opens a new one; without waiters it is freed")
    func brokenConnections() {
        var pool = machine(max: 1)
        _ = pool.lease(1, deadline: at(1), now: at(0))
        _ = pool.lease(2, deadline: at(1), now: at(0))
        let handed = pool.discard()
        #expect(handed.resume?.waiter == 2)
        if case .connect? = handed.resume?.grant {} else { Issue.record("the waiter should open a connection") }
        #expect(pool.open == 1)
        _ = pool.discard()
        #expect(pool.open == 0)
        #expect(pool.leased == 0)
        let fresh = pool.lease(3, deadline: at(1), now: at(0)).0
        #expect(isConnect(fresh))
    }

    @Test("idle connections are reused newest first, pinged after a quiet spell, and closed past the idle timeout")
    func idleConnections() {
        var pool = machine(max: 2)
        _ = pool.lease(1, deadline: at(1), now: at(0))
        _ = pool.lease(2, deadline: at(1), now: at(0))
        _ = pool.release("old", now: at(0))
        _ = pool.release("new", now: at(10))
        guard case .grant(.existing(let newest, let ping)) = pool.lease(3, deadline: at(11), now: at(10)).0 else {
            Issue.record("expected an idle connection")
            return
        }
        #expect(newest == "new")
        #expect(!ping)
        _ = pool.release("new", now: at(10))
        guard case .grant(.existing(_, let stalePing)) = pool.lease(4, deadline: at(17), now: at(16)).0 else {
            Issue.record("expected an idle connection")
            return
        }
        #expect(stalePing, "idle for 6 s, past healthCheckAfter")
        let pruned = pool.pruneIdle(now: at(61))
        #expect(pruned == ["old"])
        #expect(pool.open == 1)
    }

    @Test("a cancelled waiter leaves the queue and is never handed a connection")
    func cancellation() {
        var pool = machine(max: 1)
        _ = pool.lease(1, deadline: at(1), now: at(0))
        _ = pool.lease(2, deadline: at(1), now: at(0))
        let cancelled = pool.cancel(2)
        let again = pool.cancel(2)
        #expect(cancelled)
        #expect(!again)
        let returned = pool.release("c1", now: at(0.1))
        #expect(returned.resume == nil)
    }

    @Test("closing fails waiters, closes idle connections and reports drained once the last lease returns")
    func drain() {
        var pool = machine(max: 2)
        _ = pool.lease(1, deadline: at(1), now: at(0))
        _ = pool.lease(2, deadline: at(1), now: at(0))
        _ = pool.release("idle", now: at(0))
        _ = pool.lease(3, deadline: at(1), now: at(0))
        _ = pool.lease(4, deadline: at(1), now: at(0))
        // Slots: one leased (1's "idle" went to 3), one leased by 2; 4 waits.
        let closing = pool.close()
        #expect(closing.fail == [4])
        #expect(closing.failure == .shutDown)
        #expect(!closing.drained)
        guard case .fail(.shutDown) = pool.lease(5, deadline: at(1), now: at(0)).0 else {
            Issue.record("a closed pool refuses leases")
            return
        }
        let first = pool.release("a", now: at(0.1))
        #expect(first.close == ["a"])
        #expect(!first.drained)
        let second = pool.release("b", now: at(0.1))
        #expect(second.drained)
        #expect(pool.open == 0)
    }
}
