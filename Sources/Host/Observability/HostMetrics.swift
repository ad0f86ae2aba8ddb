import CoreMetrics
import Foundation
import Prometheus
import QuikSDK
import Synchronization

/// The host's metrics, kept in its own Prometheus registry and served at `/metrics`.
///
/// Everything goes through swift-metrics with an explicit factory rather than the
/// global `MetricsSystem`, so several hosts (as in tests) never share counters.
public final class HostMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

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

    func request(route: String, method: String, status: Int, duration: Duration) {
        Counter(
            label: "quik_http_requests_total",
            dimensions: [("route", route), ("method", method), ("status", String(status))],
            factory: factory
        ).increment()
        CoreMetrics.Timer(label: "quik_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .record(duration: duration)
    }

    func eventPublished(topic: String) {
        Counter(label: "quik_events_published_total", dimensions: [("topic", topic)], factory: factory).increment()
    }

    func eventDropped(plugin: String) {
        Counter(label: "quik_events_dropped_total", dimensions: [("plugin", plugin)], factory: factory).increment()
    }

    func sockets(open: Int) {
        Gauge(label: "quik_realtime_sockets", factory: factory).record(open)
    }

    func socketClosedSlow() {
        Counter(label: "quik_realtime_slow_disconnects_total", factory: factory).increment()
    }

    func hookSkipped(hook: String, plugin: String) {
        Counter(label: "quik_hook_interceptors_skipped_total", dimensions: [("hook", hook), ("plugin", plugin)], factory: factory)
            .increment()
    }

    func pluginLoad(plugin: String, seconds: Double) {
        Gauge(label: "quik_plugin_load_seconds", dimensions: [("plugin", plugin)], factory: factory).record(seconds)
    }
}

extension CoreMetrics.Timer {
    fileprivate func record(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// A plugin's metrics, bridged to swift-metrics under `quik_plugin_<name>` with a `plugin` label.
struct PluginMetricsBridge: PluginMetrics {
    let plugin: String
    let factory: PrometheusMetricsFactory

    private func label(_ name: String) -> String {
        "quik_plugin_" + String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    private func dimensions(_ labels: [String: String]) -> [(String, String)] {
        [("plugin", plugin)] + labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func increment(_ name: String, by amount: Int64, labels: [String: String]) {
        Counter(label: label(name), dimensions: dimensions(labels), factory: factory).increment(by: amount)
    }

    func gauge(_ name: String, value: Double, labels: [String: String]) {
        Gauge(label: label(name), dimensions: dimensions(labels), factory: factory).record(value)
    }

    func record(_ name: String, value: Double, labels: [String: String]) {
        Recorder(label: label(name), dimensions: dimensions(labels), aggregate: true, factory: factory).record(value)
    }
}
