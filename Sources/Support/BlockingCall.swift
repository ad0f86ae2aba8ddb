import Dispatch

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
