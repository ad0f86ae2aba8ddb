import QuikSupport
import QuikMariaDB

/// The `database:` section of `plugins.yml`.
public struct DatabaseConfiguration: Sendable {
    /// `mysql://user:password@host:port` or an absolute socket path. `nil` starts the
    /// embedded server under the state directory. The account must be allowed to
    /// create schemas and accounts and to grant privileges on them.
    public var url: String?
    /// Prefix of every schema and account the host creates. Default `quik_`.
    public var schemaPrefix: String = "quik_"
    /// Each plugin's pool, and the host's own.
    public var pool = PoolConfiguration()
    /// How often the outbox relay looks for undelivered durable events (it is also woken on every commit). Default 500 ms.
    public var outboxPollInterval: Duration = .milliseconds(500)
    /// Whether commits wake the outbox relay at once. Default `true`; tests turn it off
    /// to hold events between commit and delivery.
    public var outboxDeliversOnCommit = true

    /// The defaults: embedded server, prefix `quik_`.
    public init() {}

    /// The host's own schema: `<prefix>_host` (plugin names start with a letter, so none can take it).
    package var hostSchema: String { schemaPrefix + "_host" }

    /// The schema and account of a plugin.
    package func schema(for plugin: String) -> String {
        schemaPrefix + plugin.replacingOccurrences(of: "-", with: "_")
    }
}
