import CoreMetrics
import Metrics
import QuikSDK
import QuikSupport

/// Makes the metrics of each pool, through any swift-metrics factory.
package struct DatabaseMetrics: Sendable {
    package let factory: any MetricsFactory

    package init(factory: any MetricsFactory) {
        self.factory = factory
    }

    package func pool(_ name: String) -> PoolMetrics {
        PoolMetrics(name: name, factory: factory)
    }
}

/// One pool's metrics: connections in use and open, callers waiting, lease wait time, errors.
/// The handles are made once, since they are touched on every lease.
package struct PoolMetrics: Sendable {
    private let name: String
    private let factory: any MetricsFactory
    private let inUse: CoreMetrics.Gauge
    private let open: CoreMetrics.Gauge
    private let waiting: CoreMetrics.Gauge
    private let leaseTime: CoreMetrics.Timer

    package init(name: String, factory: any MetricsFactory) {
        self.name = name
        self.factory = factory
        inUse = CoreMetrics.Gauge(label: "quik_db_connections_in_use", dimensions: [("pool", name)], factory: factory)
        open = CoreMetrics.Gauge(label: "quik_db_connections_open", dimensions: [("pool", name)], factory: factory)
        waiting = CoreMetrics.Gauge(label: "quik_db_lease_waiting", dimensions: [("pool", name)], factory: factory)
        leaseTime = CoreMetrics.Timer(label: "quik_db_lease_seconds", dimensions: [("pool", name)], factory: factory)
    }

    package func report(inUse: Int, open: Int, waiting: Int) {
        self.inUse.record(inUse)
        self.open.record(open)
        self.waiting.record(waiting)
    }

    package func leased(wait: Duration) {
        leaseTime.record(duration: wait)
    }

    package func failed(kind: DatabaseError.Kind) {
        CoreMetrics.Counter(label: "quik_db_errors_total", dimensions: [("pool", name), ("kind", kind.name)], factory: factory).increment()
    }
}
