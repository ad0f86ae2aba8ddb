import CoreMetrics
import Prometheus
import QuikSDK

/// Pool metrics: connections in use and open, callers waiting, lease wait time, errors.
struct DatabaseMetrics: Sendable {
    let factory: PrometheusMetricsFactory

    func pool(name: String, inUse: Int, open: Int, waiting: Int) {
        Gauge(label: "quik_db_connections_in_use", dimensions: [("pool", name)], factory: factory).record(inUse)
        Gauge(label: "quik_db_connections_open", dimensions: [("pool", name)], factory: factory).record(open)
        Gauge(label: "quik_db_lease_waiting", dimensions: [("pool", name)], factory: factory).record(waiting)
    }

    func leased(pool: String, wait: Duration) {
        let (seconds, attoseconds) = wait.components
        CoreMetrics.Timer(label: "quik_db_lease_seconds", dimensions: [("pool", pool)], factory: factory)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func failed(pool: String, kind: DatabaseError.Kind) {
        Counter(label: "quik_db_errors_total", dimensions: [("pool", pool), ("kind", kind.name)], factory: factory).increment()
    }
}
