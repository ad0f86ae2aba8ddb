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
    /// The permissions the plugin checks, and the built-in roles that hold them. Since SDK 1.3.
    public var permissions: [PermissionSpec] = []
    /// Plugins whose services this one calls when the deployment runs them: they are set
    /// up first when present, and this plugin starts without them. Since SDK 1.4.
    public var optionalDependencies: [String] = []

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

    /// Creates a manifest that declares permissions. Since SDK 1.3.
    public init(
        name: String,
        version: String,
        mount: String? = nil,
        dependencies: [String] = [],
        capabilities: PluginCapabilities = PluginCapabilities(),
        settings: [SettingSpec] = [],
        summary: String = "",
        permissions: [PermissionSpec]
    ) {
        self.init(
            name: name, version: version, mount: mount, dependencies: dependencies, capabilities: capabilities,
            settings: settings, summary: summary)
        self.permissions = permissions
    }

    private enum CodingKeys: String, CodingKey {
        case name, version, mount, dependencies, capabilities, settings, summary, permissions, optionalDependencies
    }

    /// Decodes a manifest; `permissions` may be absent (manifests older than SDK 1.3).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            version: try container.decode(String.self, forKey: .version),
            mount: try container.decodeIfPresent(String.self, forKey: .mount),
            dependencies: try container.decode([String].self, forKey: .dependencies),
            capabilities: try container.decode(PluginCapabilities.self, forKey: .capabilities),
            settings: try container.decode([SettingSpec].self, forKey: .settings),
            summary: try container.decode(String.self, forKey: .summary))
        permissions = try container.decodeIfPresent([PermissionSpec].self, forKey: .permissions) ?? []
        optionalDependencies = try container.decodeIfPresent([String].self, forKey: .optionalDependencies) ?? []
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
