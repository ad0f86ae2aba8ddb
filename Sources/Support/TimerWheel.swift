import Foundation
import Synchronization

/// Deadlines by the tick, for the many timers that are almost always cancelled
/// (request deadlines, lease timeouts). One thread, started on first use and
/// kept for the life of the process as an event loop would be, wakes each tick
/// and runs what fell due. Scheduling and cancelling take one lock each: far
/// cheaper than a task or a system timer per request.
package final class TimerWheel: Sendable {
    package static let shared = TimerWheel(tick: .milliseconds(5))

    private struct State {
        var entries: [UInt64: @Sendable () -> Void] = [:]
        /// Ids by the tick they fall due in; cancelled ids are skipped when their tick comes.
        var buckets: [Int64: [UInt64]] = [:]
        var nextID: UInt64 = 0
        /// The last tick whose bucket was run.
        var processed: Int64 = 0
        var started = false
    }

    private let tick: Duration
    private let origin = ContinuousClock.now
    private let state = Mutex(State())

    init(tick: Duration) {
        self.tick = tick
    }

    /// Timers pending now.
    package var pending: Int { state.withLock { $0.entries.count } }

    /// Runs `action` on the wheel's thread in the first tick at or after `deadline`.
    package func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        let due = tickIndex(deadline, roundingUp: true)
        let start = state.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        if start { startThread() }
        return state.withLock { state in
            state.nextID += 1
            // Never in a tick already run: the thread runs it next time round.
            let tick = max(due, state.processed + 1)
            state.entries[state.nextID] = action
            state.buckets[tick, default: []].append(state.nextID)
            return state.nextID
        }
    }

    /// Forgets a timer; its action will not run (unless it already has).
    package func cancel(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    private func tickIndex(_ instant: ContinuousClock.Instant, roundingUp: Bool) -> Int64 {
        let elapsed = instant - origin
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        let width = tick.components.seconds * 1_000_000_000 + tick.components.attoseconds / 1_000_000_000
        let (quotient, remainder) = nanoseconds.quotientAndRemainder(dividingBy: width)
        return quotient + (roundingUp && remainder > 0 ? 1 : 0)
    }

    private func startThread() {
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: Double(tick.components.attoseconds) / 1e18 + Double(tick.components.seconds))
                runDue()
            }
        }
        thread.name = "quikapp.timers"
        thread.start()
    }

    private func runDue() {
        let now = tickIndex(.now, roundingUp: false)
        let due = state.withLock { state -> [@Sendable () -> Void] in
            guard now > state.processed else { return [] }
            var actions: [@Sendable () -> Void] = []
            for tick in (state.processed + 1)...now {
                guard let ids = state.buckets.removeValue(forKey: tick) else { continue }
                for id in ids {
                    if let action = state.entries.removeValue(forKey: id) { actions.append(action) }
                }
            }
            state.processed = now
            return actions
        }
        for action in due { action() }
    }
}
