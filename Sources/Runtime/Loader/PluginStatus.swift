import Foundation
import QuikMariaDB
import QuikSDK
import QuikSupport

/// What the host knows of one enabled plugin, as `/health` and the admin API show it.
public struct PluginStatus: Sendable, Codable, Equatable {
    /// Where the plugin stands.
    public enum State: String, Sendable, Codable {
        /// Set up and serving.
        case running
        /// Could not be loaded or set up.
        case failed
        /// Held back because a dependency is disabled, missing or failed.
        case blocked
    }

    /// The plugin name.
    public var name: String
    /// The plugin's version, once its manifest was read.
    public var version: String?
    /// Running, failed or blocked.
    public var state: State
    /// Why it is not running.
    public var error: String?
    /// The SDK version it was built against.
    public var sdkVersion: String?
    /// Its mount under `/api/v1/`.
    public var mount: String?
    /// The library it was loaded from.
    public var path: String?
    /// How long loading and setup took, in milliseconds.
    public var loadMs: Double?
    /// When the running version was loaded.
    public var loadedAt: Date?
    /// How many times it was reloaded.
    public var reloads: Int
    /// Why the last reload failed, while the previous version kept serving.
    public var lastReloadError: String?

    package init(name: String, state: State, error: String? = nil) {
        self.name = name
        self.state = state
        self.error = error
        self.reloads = 0
    }
}
