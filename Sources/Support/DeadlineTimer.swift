import Dispatch
import Synchronization

/// Resumes a continuation once, from whichever of several racing sides comes first.
package final class OnceContinuation<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    package init(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation = Mutex(continuation)
    }

    /// Resumes with `value` unless another side already did; returns whether this call did.
    @discardableResult
    package func resume(_ value: T) -> Bool {
        guard let continuation = continuation.withLock({ stored in defer { stored = nil }; return stored }) else { return false }
        continuation.resume(returning: value)
        return true
    }
}

/// A one-off timer on the shared ``TimerWheel``: no task and no system timer per
/// deadline; cancelling it is a dictionary removal.
package struct DeadlineTimer: Sendable {
    private let id: UInt64

    /// Runs `action` once `deadline` has passed (within a tick, 5 ms), unless cancelled first.
    /// `action` never runs on the caller's thread, so it may take locks the caller holds.
    package init(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) {
        id = TimerWheel.shared.schedule(at: deadline, action)
    }

    package func cancel() { TimerWheel.shared.cancel(id) }
}

/// Runs blocking `work` on `queue` and waits for it until `deadline`. Past the
/// deadline the caller gets `nil` at once; the blocking call cannot be
/// interrupted, so `late` receives its result when it finally ends.
package func runBlocking<T: Sendable>(
    on queue: DispatchQueue,
    until deadline: ContinuousClock.Instant,
    _ work: @escaping @Sendable () -> T,
    late: @escaping @Sendable (T) -> Void
) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = OnceContinuation(continuation)
        let timer = DeadlineTimer(at: deadline) { once.resume(nil) }
        queue.async {
            let result = work()
            timer.cancel()
            if !once.resume(result) { late(result) }
        }
    }
}
