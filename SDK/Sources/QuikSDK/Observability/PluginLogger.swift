/// Severity of a log line.
public enum LogLevel: String, Sendable, Codable, Comparable {
    /// Fine detail for debugging.
    case trace
    /// Detail for debugging.
    case debug
    /// Normal operation.
    case info
    /// Worth noticing.
    case notice
    /// Something went wrong but work goes on.
    case warning
    /// An operation failed.
    case error
    /// The plugin cannot go on.
    case critical

    private var rank: Int {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }

    /// Orders by severity.
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// The plugin's logger; the host forwards it to its own logging with the plugin's name attached.
public protocol PluginLogger: Sendable {
    /// Writes one line. Never pass secrets in `message` or `metadata`.
    func log(_ level: LogLevel, _ message: String, metadata: [String: String])
}

extension PluginLogger {
    /// Writes a `debug` line.
    public func debug(_ message: String, metadata: [String: String] = [:]) { log(.debug, message, metadata: metadata) }
    /// Writes an `info` line.
    public func info(_ message: String, metadata: [String: String] = [:]) { log(.info, message, metadata: metadata) }
    /// Writes a `warning` line.
    public func warning(_ message: String, metadata: [String: String] = [:]) { log(.warning, message, metadata: metadata) }
    /// Writes an `error` line.
    public func error(_ message: String, metadata: [String: String] = [:]) { log(.error, message, metadata: metadata) }
}

/// The plugin's metrics; the host prefixes names with `quik_plugin_` and adds a `plugin` label.
public protocol PluginMetrics: Sendable {
    /// Adds `amount` to a counter.
    func increment(_ name: String, by amount: Int64, labels: [String: String])
    /// Sets a gauge.
    func gauge(_ name: String, value: Double, labels: [String: String])
    /// Records one observation in a histogram (durations in seconds).
    func record(_ name: String, value: Double, labels: [String: String])
}

extension PluginMetrics {
    /// Adds one to a counter.
    public func increment(_ name: String, labels: [String: String] = [:]) {
        increment(name, by: 1, labels: labels)
    }
}
