import Synchronization

/// Wakes one waiting loop early: a ring while nobody waits is kept for the next wait.
package final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: OnceContinuation<Void>?
        var timer: DeadlineTimer?
    }

    private let state = Mutex(State())

    package init() {}

    /// Wakes the waiter, or the next one.
    package func ring() {
        let (waiter, timer) = state.withLock { state -> (OnceContinuation<Void>?, DeadlineTimer?) in
            guard let waiter = state.waiter else {
                state.rung = true
                return (nil, nil)
            }
            defer { (state.waiter, state.timer) = (nil, nil) }
            return (waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume(())
    }

    /// Returns after `timeout` or at a ring, whichever comes first.
    package func wait(atMost timeout: Duration) async {
        guard timeout > .zero else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceContinuation(continuation)
            let rung = state.withLock { state -> Bool in
                if state.rung {
                    state.rung = false
                    return true
                }
                state.waiter = once
                // The timer's action never runs on this thread, so taking the lock there is safe.
                state.timer = DeadlineTimer(at: .now + timeout) {
                    self.state.withLock { if $0.waiter === once { ($0.waiter, $0.timer) = (nil, nil) } }
                    once.resume(())
                }
                return false
            }
            if rung { once.resume(()) }
        }
    }
}
