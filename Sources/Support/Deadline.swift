import Synchronization

/// Thrown when work runs past its deadline.
package struct DeadlineExceeded: Error, CustomStringConvertible {
    package let timeout: Duration
    package var description: String { "deadline of \(timeout) exceeded" }
}

/// Runs `operation` and returns its result, or throws ``DeadlineExceeded`` once
/// `timeout` passes, whichever comes first.
///
/// The operation runs in one task of its own, and the deadline is a Dispatch
/// timer rather than a second task. At the deadline the operation is cancelled
/// and the caller answered at once, so a handler that ignores cancellation
/// still cannot hold its request; `onEnd` runs when the operation really ends,
/// which is how a plugin instance stays counted busy until then.
package func withDeadline<T: Sendable>(
    _ timeout: Duration,
    onEnd: (@Sendable () -> Void)? = nil,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            guard race.start(continuation) else {
                onEnd?()
                return
            }
            let timer = DeadlineTimer(at: .now + timeout) {
                if race.finish(.failure(DeadlineExceeded(timeout: timeout))) { race.cancelWork() }
            }
            race.attach(work: Task {
                defer { onEnd?() }
                do {
                    let value = try await operation()
                    timer.cancel()
                    race.finish(.success(value))
                } catch {
                    timer.cancel()
                    race.finish(.failure(error))
                }
            })
        }
    } onCancel: {
        if race.finish(.failure(CancellationError())) { race.cancelWork() }
    }
}

/// Resumes a continuation once, from whichever side finishes first.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var done = false
        var work: Task<Void, Never>?
        var cancelRequested = false
    }

    private let state = Mutex(State())

    /// Returns `false` (having answered the caller) when the race was cancelled before it started.
    func start(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            if state.done { return true }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// Returns whether this call was the one that finished the race.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (continuation, won) = state.withLock { state -> (CheckedContinuation<T, any Error>?, Bool) in
            guard !state.done else { return (nil, false) }
            state.done = true
            defer { state.continuation = nil }
            return (state.continuation, true)
        }
        continuation?.resume(with: result)
        return won
    }

    func attach(work: Task<Void, Never>) {
        let cancel = state.withLock { state in
            state.work = work
            return state.cancelRequested
        }
        if cancel { work.cancel() }
    }

    func cancelWork() {
        let work = state.withLock { state in
            state.cancelRequested = true
            return state.work
        }
        work?.cancel()
    }
}
