import QuikMariaDB
import QuikSDK
import QuikStorage
import QuikSupport

/// Everything the host needs to start, read from `plugins.yml` and the command line.
public struct HostConfiguration: Sendable {
    /// Address to listen on. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one. Default 8080.
    public var port: Int = 8080
    /// Deadline for one HTTP request or service call; past it the request is answered 503. Default 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// Largest request body accepted; larger ones get 413. Default 1 MiB.
    public var maxBodyBytes: Int = 1 << 20
    /// Deadline for each hook interceptor; one past it is skipped. Default 250 ms.
    public var hookTimeout: Duration = .milliseconds(250)
    /// Deadline for one plugin's `setup`. Default 30 s.
    public var setupTimeout: Duration = .seconds(30)
    /// Events queued per subscription before new ones are dropped for it. Default 1024.
    public var eventQueueCapacity: Int = 1024
    /// Frames written to a socket but not yet flushed before it is closed as too slow. Default 256.
    public var socketQueueCapacity: Int = 256
    /// How often every realtime socket gets a heartbeat frame, so a peer gone without
    /// closing is noticed when the write fails. Default 30 s.
    public var socketHeartbeat: Duration = .seconds(30)
    /// Realtime sockets one user may hold open at once; one more is closed with 4429.
    /// Clients open one per tab or device. Default 16.
    public var maxSocketsPerUser: Int = 16
    /// Largest client frame accepted over the realtime socket. Default 64 KiB.
    public var maxFrameBytes: Int = 64 << 10
    /// How long shutdown and a reload's retirement of the old version wait for in-flight work. Default 10 s.
    public var drainTimeout: Duration = .seconds(10)
    /// Where plugin libraries are found by default: `lib<name>.so` in this folder.
    /// Default: the folder of the running executable.
    public var pluginDirectory: String?
    /// Folder for runtime state (reload copies, later the embedded database). Default `.quikapp`.
    public var stateDirectory: String = ".quikapp"
    /// The plugin that may sign access tokens for users. Default `auth`.
    public var tokenIssuer: String = "auth"
    /// The plugins that may administer roles and deactivate users (``AccessControl``).
    /// Default `auth`, `user`, `permission`, `admin`, `workspace`.
    public var accessManagers: [String] = ["auth", "user", "permission", "admin", "workspace"]
    /// How mail is sent.
    public var mail = MailConfiguration()
    /// The base URL clients reach this deployment at, for links plugins make (`server.public_url`).
    /// Default `nil`: plugins fall back to their own settings.
    public var publicURL: String?
    /// Where file bytes are kept (`storage:`). Default: `<state_dir>/files` on this host's disk.
    public var storage = StorageConfiguration()
    /// What plugins' outbound HTTP may reach (`outbound:`).
    public var outbound = OutboundConfiguration()
    /// Rate limits per caller and route class (`server.rate_limits`).
    public var rateLimits = RateLimitConfiguration()
    /// Timeouts, head size and the connection cap (`server.connections`).
    public var connections = ConnectionLimits()
    /// Durable jobs: polling, concurrency, timeouts.
    public var jobs = JobsConfiguration()
    /// The bearer token that opens `GET /metrics` on the main port (`server.metrics_token`).
    /// Default none: without it (and without ``metricsAddress``) `/metrics` answers 401.
    public var metricsToken: SecretText?
    /// A second listener that serves only `/metrics`, with no token (`server.metrics_address`,
    /// `host:port`; port 0 picks a free one). Default none.
    public var metricsAddress: ListenAddress?
    /// Development mode: watch plugin libraries and reload them when they change.
    public var devMode: Bool = false
    /// How often dev mode looks at plugin libraries. Default 300 ms.
    public var reloadPollInterval: Duration = .milliseconds(300)
    /// The database: the embedded server by default.
    public var database = DatabaseConfiguration()
    /// The plugins listed in `plugins.yml`, enabled or not, in file order.
    public var plugins: [PluginEntry] = []
    /// The file the configuration came from, for messages.
    public var sourceFile: String = "plugins.yml"

    /// A configuration with every default and no plugins.
    public init() {}

    /// The plugins that are enabled.
    public var enabledPlugins: [PluginEntry] { plugins.filter(\.enabled) }
}

/// One plugin's entry in `plugins.yml`.
public struct PluginEntry: Sendable {
    /// The plugin name (the entry's key).
    public var name: String
    /// Whether the deployment runs it. Default `true`.
    public var enabled: Bool = true
    /// Explicit path of its shared library; `nil` means `lib<name>.so` in the plugin directory.
    public var path: String?
    /// Its `settings:` map as written.
    public var settings: [String: SettingValue] = [:]
    /// Where each setting key was written, for error messages.
    public var settingLocations: [String: SourceLocation] = [:]
    /// Where the entry starts.
    public var location: SourceLocation

    /// Creates an entry.
    public init(name: String, enabled: Bool = true, path: String? = nil, settings: [String: SettingValue] = [:], location: SourceLocation) {
        self.name = name
        self.enabled = enabled
        self.path = path
        self.settings = settings
        self.location = location
    }
}
