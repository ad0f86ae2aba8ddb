import QuikSupport
import Synchronization

/// Counts the subscribers that still have to handle a set of durable events, so
/// the outbox relay marks them delivered only once every subscriber is done
/// with them: a crash before that delivers them again.
package final class DeliveryReceipt: Sendable {
    private struct State {
        var pending = 0
        var waiter: OnceContinuation<Bool>?
    }

    private let state = Mutex(State())

    package init() {}

    /// `count` more handlers must finish.
    package func expect(_ count: Int) {
        state.withLock { $0.pending += count }
    }

    /// One handler finished (or its copy of the event was dropped).
    package func acknowledge() {
        let waiter = state.withLock { state -> OnceContinuation<Bool>? in
            state.pending -= 1
            guard state.pending <= 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(true)
    }

    /// Whether every handler finished within `timeout` (`false` also when the task is cancelled).
    package func wait(atMost timeout: Duration) async -> Bool {
        let waiter = Mutex<OnceContinuation<Bool>?>(nil)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let once = OnceContinuation(continuation)
                waiter.withLock { $0 = once }
                let done = state.withLock { state -> Bool in
                    guard state.pending > 0 else { return true }
                    state.waiter = once
                    return false
                }
                if done || Task.isCancelled {
                    once.resume(done)
                    return
                }
                let timer = DeadlineTimer(at: .now + timeout) { once.resume(false) }
                _ = timer
            }
        } onCancel: {
            waiter.withLock { $0 }?.resume(false)
        }
    }
}
