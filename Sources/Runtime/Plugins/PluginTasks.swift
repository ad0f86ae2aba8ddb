import QuikSDK
import QuikSupport
import Synchronization

/// The background tasks of one plugin version (`context.run`). They run in the
/// plugin manager's service, and are cancelled and awaited when the version stops,
/// on shutdown or when a reload replaces it.
package final class PluginTasks: Sendable {
    private struct State {
        var stopping = false
        var running = 0
        var nextSignal = 0
        /// Tasks waiting to be told the version stops.
        var stopSignals: [Int: CheckedContinuation<Void, Never>] = [:]
        /// ``stop(timeout:)`` callers waiting for the running tasks to end.
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    package init() {}

    /// Tasks running now.
    package var running: Int { state.withLock { $0.running } }

    /// Runs one task until it returns or the version stops; nothing once stopping.
    package func execute(_ body: @escaping @Sendable () async -> Void) async {
        let started = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.running += 1
            return true
        }
        guard started else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await body() }
            group.addTask { await self.untilStopping() }
            await group.next()
            group.cancelAll()
        }
        let idle = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.idle.removeAll() }
            return state.idle
        }
        for continuation in idle { continuation.resume() }
    }

    /// Returns when the version stops, or when the calling task is cancelled.
    private func untilStopping() async {
        let id = state.withLock { state in
            state.nextSignal += 1
            return state.nextSignal
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.stopping || Task.isCancelled { return true }
                    state.stopSignals[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.stopSignals.removeValue(forKey: id) }?.resume()
        }
    }

    /// Cancels every task, refuses new ones, and waits (at most `timeout`) for the running ones to end.
    package func stop(timeout: Duration) async {
        let signals = state.withLock { state in
            state.stopping = true
            defer { state.stopSignals.removeAll() }
            return Array(state.stopSignals.values)
        }
        for signal in signals { signal.resume() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                guard state.running > 0 else { return true }
                state.idle.append(continuation)
                return false
            }
            if done { return continuation.resume() }
            _ = DeadlineTimer(at: .now + timeout) { self.giveUpWaiting() }
        }
    }

    private func giveUpWaiting() {
        let idle = state.withLock { state in
            defer { state.idle.removeAll() }
            return state.idle
        }
        for continuation in idle { continuation.resume() }
    }
}

/// Carries plugins' background tasks into the plugin manager's service, which runs them.
package final class PluginTaskRunner: Sendable {
    private struct Job: Sendable {
        let tasks: PluginTasks
        let body: @Sendable () async -> Void
    }

    private let jobs = AsyncStream.makeStream(of: Job.self)

    package init() {}

    /// Queues a task of one plugin version; it starts once ``run()`` runs.
    package func submit(_ body: @escaping @Sendable () async -> Void, for tasks: PluginTasks) {
        jobs.continuation.yield(Job(tasks: tasks, body: body))
    }

    /// Runs queued tasks until ``finish()``, then waits for those still running.
    package func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs.stream {
                group.addTask { await job.tasks.execute(job.body) }
            }
        }
    }

    /// Takes no more tasks.
    package func finish() {
        jobs.continuation.finish()
    }
}
