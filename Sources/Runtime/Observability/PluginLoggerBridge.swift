import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport

/// A plugin's logger, forwarded to the host's swift-log logger with `plugin` metadata.
package struct PluginLoggerBridge: PluginLogger {
    package let logger: Logger

    package init(plugin: String, base: Logger) {
        var logger = base
        logger[metadataKey: "plugin"] = .string(plugin)
        self.logger = logger
    }

    package func log(_ level: LogLevel, _ message: String, metadata: [String: String]) {
        logger.log(
            level: Logger.Level(level),
            Logger.Message(stringLiteral: message),
            metadata: metadata.mapValues { Logger.MetadataValue.string($0) })
    }
}

extension Logger.Level {
    package init(_ level: LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        @unknown default: self = .info
        }
    }
}
