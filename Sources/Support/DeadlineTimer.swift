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
