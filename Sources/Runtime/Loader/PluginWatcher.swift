import Foundation
import Logging
import QuikMariaDB
import QuikSupport
import ServiceLifecycle

/// Dev mode: watches each enabled plugin's library and reloads the plugin when
/// the file changes and has stayed the same for one poll (so a half-written
/// file from the linker is never loaded).
package final class PluginWatcher: Service, Sendable {
    private struct Signature: Equatable {
        let size: Int
        let modified: Date
        let inode: Int
    }

    private let manager: PluginManager
    private let configuration: HostConfiguration
    private let logger: Logger

    package init(manager: PluginManager, configuration: HostConfiguration, logger: Logger) {
        self.manager = manager
        self.configuration = configuration
        self.logger = logger
    }

    private func signature(_ path: String) -> Signature? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int,
            let modified = attributes[.modificationDate] as? Date
        else { return nil }
        return Signature(size: size, modified: modified, inode: (attributes[.systemFileNumber] as? Int) ?? 0)
    }

    package func run() async throws {
        let entries = configuration.enabledPlugins
        var loaded = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, signature(manager.libraryPath(for: $0))) })
        var pending: [String: Signature] = [:]
        // Ends on graceful shutdown and on cancellation alike.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            // A long poll interval must not hold up shutdown.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.configuration.reloadPollInterval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            for entry in entries {
                let current = signature(manager.libraryPath(for: entry))
                guard let current, current != loaded[entry.name] else {
                    pending[entry.name] = nil
                    continue
                }
                guard pending[entry.name] == current else {
                    pending[entry.name] = current
                    continue
                }
                pending[entry.name] = nil
                loaded[entry.name] = current
                logger.info("plugin library changed; reloading", metadata: ["plugin": "\(entry.name)"])
                _ = try? await manager.reload(entry.name)
            }
        }
    }
}
