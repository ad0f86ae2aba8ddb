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

/// A one-off timer on a Dispatch queue: no task, cancelled for the price of a flag.
// DispatchWorkItem is thread-safe (cancel is atomic) but not marked Sendable.
package struct DeadlineTimer: @unchecked Sendable {
    private let item: DispatchWorkItem

    /// Runs `action` once `deadline` has passed, unless cancelled first.
    package init(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) {
        item = DispatchWorkItem(block: action)
        let remaining = max(.zero, deadline - ContinuousClock.now)
        let (seconds, attoseconds) = remaining.components
        let nanoseconds = Int(clamping: seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue) + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds), execute: item)
    }

    package func cancel() { item.cancel() }
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
