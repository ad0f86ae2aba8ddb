import NIOCore
import QuikRuntime
import Synchronization

/// What every guarded connection of one host shares, whichever listener and event
/// loop accepted it: the limits, the count of open connections against the cap, and metrics.
package final class ConnectionGate: Sendable {
    /// The limits, in NIO's units.
    package struct Settings: Sendable {
        package var headTimeout: TimeAmount
        package var bodyStallTimeout: TimeAmount
        package var idleTimeout: TimeAmount
        package var closeLinger: TimeAmount
        package var maxHeaderBytes: Int

        package init(_ limits: ConnectionLimits) {
            headTimeout = Self.amount(limits.headTimeout)
            bodyStallTimeout = Self.amount(limits.bodyStallTimeout)
            idleTimeout = Self.amount(limits.idleTimeout)
            closeLinger = Self.amount(limits.closeLinger)
            maxHeaderBytes = limits.maxHeaderBytes
        }

        private static func amount(_ duration: Duration) -> TimeAmount {
            let (seconds, attoseconds) = duration.components
            return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
    }

    /// Why the guard closed a connection, as the metrics name it.
    package enum Cut: String, Sendable {
        case headTimeout = "head_timeout"
        case headTooLarge = "head_too_large"
        case bodyStall = "body_stall"
        case idle
    }

    package let settings: Settings
    /// Most connections open at once.
    package let cap: Int
    private let metrics: HostMetrics?
    private let open = Atomic<Int>(0)
    private let lingering = Atomic<Int>(0)
    /// Refused or cut connections still being read before their close. They hold a
    /// descriptor each beyond the cap, so past this many they are closed at once.
    private let maxLingering: Int

    package init(settings: Settings, cap: Int, fileDescriptorReserve: Int, metrics: HostMetrics?) {
        self.settings = settings
        self.cap = cap
        self.metrics = metrics
        maxLingering = max(16, fileDescriptorReserve / 2)
    }

    /// Connections open now.
    package var openConnections: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection in; `false` (and not counted) when the cap is reached.
    package func admit() -> Bool {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= cap else {
            open.wrappingSubtract(1, ordering: .relaxed)
            metrics?.connectionRefused()
            return false
        }
        metrics?.connections(open: count)
        return true
    }

    /// Counts an admitted connection out once it has closed.
    package func release() {
        let count = open.wrappingSubtract(1, ordering: .relaxed).newValue
        metrics?.connections(open: count)
    }

    /// Takes one of the lingering places; `false` when they are all taken.
    package func startLingering() -> Bool {
        let count = lingering.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= maxLingering else {
            lingering.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    package func stopLingering() {
        lingering.wrappingSubtract(1, ordering: .relaxed)
    }

    package func cut(_ reason: Cut) {
        metrics?.connectionCut(reason: reason.rawValue)
    }
}
