import Synchronization

/// Thrown when work runs past its deadline.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "deadline of \(timeout) exceeded" }
}

/// Runs `operation` and returns its result, or throws ``DeadlineExceeded`` once
/// `timeout` passes, whichever comes first.
///
/// The operation runs in its own task and is cancelled at the deadline; the
/// caller does not wait for it to notice, so a handler that ignores
/// cancellation still cannot hold its request past the deadline.
func withDeadline<T: Sendable>(
    _ timeout: Duration,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation)
            let work = Task {
                do {
                    race.finish(.success(try await operation()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled, race.finish(.failure(DeadlineExceeded(timeout: timeout))) {
                    work.cancel()
                }
            }
            race.attach(work: work, timer: timer)
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
        race.cancelTasks()
    }
}

/// Resumes a continuation once, from whichever side finishes first.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var pending: Result<T, any Error>?
        var done = false
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let pending = state.withLock { state -> Result<T, any Error>? in
            if let pending = state.pending {
                state.pending = nil
                return pending
            }
            state.continuation = continuation
            return nil
        }
        if let pending { continuation.resume(with: pending) }
    }

    /// Returns whether this call was the one that finished the race.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (continuation, won, timer) = state.withLock { state -> (CheckedContinuation<T, any Error>?, Bool, Task<Void, Never>?) in
            guard !state.done else { return (nil, false, nil) }
            state.done = true
            let continuation = state.continuation
            state.continuation = nil
            if continuation == nil { state.pending = result }
            return (continuation, true, state.timer)
        }
        continuation?.resume(with: result)
        if won { timer?.cancel() }
        return won
    }

    func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let done = state.withLock { state in
            state.work = work
            state.timer = timer
            return state.done
        }
        if done { timer.cancel() }
    }

    func cancelTasks() {
        let (work, timer) = state.withLock { ($0.work, $0.timer) }
        work?.cancel()
        timer?.cancel()
    }
}
