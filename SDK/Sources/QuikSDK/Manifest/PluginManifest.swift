/// What a plugin is and what it asks of the host.
public struct PluginManifest: Sendable, Codable, Equatable {
    /// Unique plugin name: lowercase letters, digits and `-`; also its `plugins.yml` key.
    public var name: String
    /// The plugin's own version, shown in `/health`.
    public var version: String
    /// Path segment under `/api/v1/` that the plugin's routes live in; `nil` serves no HTTP.
    public var mount: String?
    /// Plugins that must be running before this one is set up.
    public var dependencies: [String]
    /// What the plugin may do beyond serving its mount.
    public var capabilities: PluginCapabilities
    /// The settings the plugin reads from its `plugins.yml` entry.
    public var settings: [SettingSpec]
    /// A one-line description for listings and the OpenAPI document.
    public var summary: String

    /// Creates a manifest; only `name` and `version` are required.
    public init(
        name: String,
        version: String,
        mount: String? = nil,
        dependencies: [String] = [],
        capabilities: PluginCapabilities = PluginCapabilities(),
        settings: [SettingSpec] = [],
        summary: String = ""
    ) {
        self.name = name
        self.version = version
        self.mount = mount
        self.dependencies = dependencies
        self.capabilities = capabilities
        self.settings = settings
        self.summary = summary
    }
}

/// The capabilities a plugin asks for; the host grants these and refuses the rest.
public struct PluginCapabilities: Sendable, Codable, Equatable {
    /// Whether the plugin wants its own database schema and account.
    public var database: Bool
    /// Topic namespaces the plugin publishes in: `"message"` allows `message.created`.
    /// Empty means the plugin's own name. A namespace belongs to one plugin only.
    public var publishes: [String]
    /// Hooks the plugin declares, at which others may intercept (`message.will_post`).
    public var declaresHooks: [String]
    /// Hooks of other plugins that this plugin intercepts.
    public var intercepts: [String]
    /// Realtime client frame types the plugin handles (`call.offer`, or `call.*`).
    public var frames: [String]
    /// Outside hosts the plugin may call.
    public var outboundHosts: [String]

    /// Creates a capability set; everything defaults to nothing.
    public init(
        database: Bool = false,
        publishes: [String] = [],
        declaresHooks: [String] = [],
        intercepts: [String] = [],
        frames: [String] = [],
        outboundHosts: [String] = []
    ) {
        self.database = database
        self.publishes = publishes
        self.declaresHooks = declaresHooks
        self.intercepts = intercepts
        self.frames = frames
        self.outboundHosts = outboundHosts
    }
}
