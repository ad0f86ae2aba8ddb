import CoreMetrics
import Foundation
import Prometheus
import QuikMariaDB
import QuikSDK
import QuikSupport
import Synchronization

/// The host's metrics, kept in its own Prometheus registry and served at `/metrics`.
///
/// Everything goes through swift-metrics with an explicit factory rather than the
/// global `MetricsSystem`, so several hosts (as in tests) never share counters.
public final class HostMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    package let factory: PrometheusMetricsFactory

    /// Creates an empty registry.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        self.factory = factory
    }

    /// Prometheus text exposition.
    public func render() -> String { registry.emitToString() }

    // MARK: Handles

    /// swift-metrics handles by label and dimensions. Making one goes through the
    /// registry's lock and a lookup; these are touched on every request and event.
    private struct Handles {
        var counters: [String: CoreMetrics.Counter] = [:]
        var timers: [String: CoreMetrics.Timer] = [:]
        var gauges: [String: CoreMetrics.Gauge] = [:]
        var recorders: [String: CoreMetrics.Recorder] = [:]
    }

    private let handles = Mutex(Handles())

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(into: label) { $0 += "\u{0}\($1.0)=\($1.1)" }
    }

    /// The handle for `label` and `dimensions` in `table`, made once with `make`.
    private func memoized<Handle: Sendable>(
        _ table: WritableKeyPath<Handles, [String: Handle]>, _ label: String, _ dimensions: [(String, String)], make: () -> Handle
    ) -> Handle {
        let key = Self.key(label, dimensions)
        return handles.withLock { handles in
            if let handle = handles[keyPath: table][key] { return handle }
            let handle = make()
            handles[keyPath: table][key] = handle
            return handle
        }
    }

    package func counter(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        memoized(\.counters, label, dimensions) { CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    package func timer(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Timer {
        memoized(\.timers, label, dimensions) { CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory) }
    }

    package func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        memoized(\.gauges, label, dimensions) { CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory) }
    }

    package func recorder(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Recorder {
        memoized(\.recorders, label, dimensions) {
            CoreMetrics.Recorder(label: label, dimensions: dimensions, aggregate: true, factory: factory)
        }
    }

    // MARK: The host's metrics

    package func request(route: String, method: String, status: Int, duration: Duration) {
        counter("quik_http_requests_total", [("route", route), ("method", method), ("status", String(status))]).increment()
        timer("quik_http_request_duration_seconds", [("route", route)]).record(duration: duration)
    }

    package func eventPublished(topic: String) {
        counter("quik_events_published_total", [("topic", topic)]).increment()
    }

    package func eventDropped(plugin: String) {
        counter("quik_events_dropped_total", [("plugin", plugin)]).increment()
    }

    package func sockets(open: Int) {
        gauge("quik_realtime_sockets").record(open)
    }

    package func socketClosedSlow() {
        counter("quik_realtime_slow_disconnects_total").increment()
    }

    /// TCP connections open now, over every listener.
    package func connections(open: Int) {
        gauge("quik_connections_open").record(open)
    }

    /// A connection refused at accept because the cap was reached.
    package func connectionRefused() {
        counter("quik_connections_refused_total").increment()
    }

    /// A connection the guard closed: `head_timeout`, `head_too_large`, `body_stall` or `idle`.
    package func connectionCut(reason: String) {
        counter("quik_connections_cut_total", [("reason", reason)]).increment()
    }

    package func hookSkipped(hook: String, plugin: String) {
        counter("quik_hook_interceptors_skipped_total", [("hook", hook), ("plugin", plugin)]).increment()
    }

    package func pluginLoad(plugin: String, seconds: Double) {
        gauge("quik_plugin_load_seconds", [("plugin", plugin)]).record(seconds)
    }
}

extension CoreMetrics.Timer {
    /// Records a Swift `Duration`.
    package func record(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// A plugin's metrics, bridged to swift-metrics under `quik_plugin_<name>` with a `plugin` label.
package struct PluginMetricsBridge: PluginMetrics {
    package let plugin: String
    package let metrics: HostMetrics

    private func label(_ name: String) -> String {
        "quik_plugin_" + String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    private func dimensions(_ labels: [String: String]) -> [(String, String)] {
        [("plugin", plugin)] + labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    package func increment(_ name: String, by amount: Int64, labels: [String: String]) {
        metrics.counter(label(name), dimensions(labels)).increment(by: amount)
    }

    package func gauge(_ name: String, value: Double, labels: [String: String]) {
        metrics.gauge(label(name), dimensions(labels)).record(value)
    }

    package func record(_ name: String, value: Double, labels: [String: String]) {
        metrics.recorder(label(name), dimensions(labels)).record(value)
    }
}

extension HostMetrics {
    /// A plugin's jobs by state (`due`, `running`, `failed`), as last counted.
    package func jobs(plugin: String, state: String, count: Int) {
        gauge("quik_jobs", [("plugin", plugin), ("state", state)]).record(count)
    }

    /// One run of a job ended: `done`, `retry` or `failed`.
    package func jobRan(plugin: String, kind: String, outcome: String) {
        counter("quik_job_runs_total", [("plugin", plugin), ("kind", kind), ("outcome", outcome)]).increment()
    }

    /// How late a job started after it fell due.
    package func jobDelay(plugin: String, _ delay: Duration) {
        timer("quik_job_start_delay_seconds", [("plugin", plugin)]).record(duration: delay)
    }
}
