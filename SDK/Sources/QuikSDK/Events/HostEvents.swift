/// The topics the host itself publishes. Their payloads are the types beside
/// this one, so plugins decode them instead of re-declaring them. Since SDK 1.4.
public enum HostTopic {
    /// A realtime socket opened (``SocketEvent``).
    public static let realtimeConnected = "realtime.connected"
    /// A realtime socket closed (``SocketEvent``).
    public static let realtimeDisconnected = "realtime.disconnected"
    /// A client sent a frame: a sign of life (``SocketEvent``, `userConnections` 0).
    public static let realtimeActivity = "realtime.activity"
    /// A plugin was loaded and set up (``PluginLifecycleEvent``).
    public static let pluginLoaded = "host.plugin_loaded"
    /// A plugin failed to load (``PluginLifecycleEvent``).
    public static let pluginFailed = "host.plugin_failed"
    /// A plugin was reloaded (``PluginLifecycleEvent``).
    public static let pluginReloaded = "host.plugin_reloaded"
    /// A reload failed; the previous version keeps serving (``PluginLifecycleEvent``).
    public static let pluginReloadFailed = "host.plugin_reload_failed"
    /// A role was defined or redefined (``AccessChangeEvent``).
    public static let roleDefined = "access.role_defined"
    /// A role was assigned (``AccessChangeEvent``).
    public static let roleAssigned = "access.role_assigned"
    /// A role assignment was removed (``AccessChangeEvent``).
    public static let roleRemoved = "access.role_removed"
    /// A user was deactivated (``AccessChangeEvent``).
    public static let userDeactivated = "access.user_deactivated"
    /// A user was reactivated (``AccessChangeEvent``).
    public static let userReactivated = "access.user_reactivated"
    /// Sign-in sessions ended; their access tokens are refused from now on (``AccessChangeEvent``, `sessionIds`).
    public static let sessionsRevoked = "access.sessions_revoked"
}

/// The payload of `realtime.*`: one socket of one user. Since SDK 1.4.
public struct SocketEvent: Codable, Sendable, Equatable {
    /// The socket's user.
    public var userId: String
    /// The socket.
    public var connectionId: String
    /// The user's open sockets after this change (0 for activity).
    public var userConnections: Int

    /// Creates a payload.
    public init(userId: String, connectionId: String, userConnections: Int) {
        self.userId = userId
        self.connectionId = connectionId
        self.userConnections = userConnections
    }
}

/// The payload of `host.plugin_*`. Since SDK 1.4.
public struct PluginLifecycleEvent: Codable, Sendable, Equatable {
    /// The plugin's name.
    public var name: String
    /// The version now serving, when one is.
    public var version: String?
    /// `running` or `failed`.
    public var state: String
    /// Why it failed, when it did.
    public var error: String?

    /// Creates a payload.
    public init(name: String, version: String?, state: String, error: String?) {
        self.name = name
        self.version = version
        self.state = state
        self.error = error
    }
}

/// The payload of `access.*`: what changed in roles or a user's standing. Since SDK 1.4.
public struct AccessChangeEvent: Codable, Sendable, Equatable {
    /// The user concerned, for assignments and (de)activation.
    public var userId: String?
    /// The role concerned.
    public var role: String?
    /// The scope, as `system` or `workspace:<id>`.
    public var scope: String?
    /// Who made the change.
    public var actor: String?
    /// The role's permissions, for `access.role_defined`.
    public var permissions: [String]?
    /// The sessions ended, for `access.sessions_revoked`.
    public var sessionIds: [String]?

    /// Creates a payload.
    public init(userId: String?, role: String?, scope: String?, actor: String?, permissions: [String]? = nil, sessionIds: [String]? = nil) {
        self.userId = userId
        self.role = role
        self.scope = scope
        self.actor = actor
        self.permissions = permissions
        self.sessionIds = sessionIds
    }
}
