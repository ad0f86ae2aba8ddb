import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport

/// A route the host serves itself at an exact path.
public struct BuiltinRoute: Sendable {
    /// The method it answers.
    public var method: RouteMethod
    /// The exact path, such as `/api/v1/bench/hello`.
    public var path: String
    /// Authentication and documentation.
    public var options: RouteOptions
    /// The handler, with the same request and response values a plugin route has.
    public var handler: RouteHandler

    /// Creates a built-in route.
    public init(method: RouteMethod, path: String, options: RouteOptions = RouteOptions(), handler: @escaping RouteHandler) {
        self.method = method
        self.path = path
        self.options = options
        self.handler = handler
    }
}

/// What every part of a running host shares.
package final class HostCore: Sendable {
    package static let version = "0.1.0"

    package let configuration: HostConfiguration
    package let logger: Logger
    package let metrics: HostMetrics
    package let runtime: HostRuntime
    package let manager: PluginManager
    /// Runs plugins' durable jobs.
    package let jobs: JobRunner
    package let authenticator: any Authenticator
    package let builtinRoutes: [BuiltinRoute]
    /// The private server, when `database.url` is not set.
    package let embedded: EmbeddedMariaDB?
    package let database: HostDatabase
    package let startedAt = ContinuousClock.now

    /// `authenticator` replaces the host's own token verification (tests use a fixed-token one);
    /// `realtime` makes the gateway, which lives in the transport layer, from the event bus.
    package init(
        configuration: HostConfiguration, authenticator: (any Authenticator)?, builtinRoutes: [BuiltinRoute], logger: Logger,
        realtime: (EventBus, HostMetrics, Logger) -> any RealtimeHub
    ) throws(ConfigurationError) {
        // One wrapped logger for the host and its plugins: a failure retried every second logs once per window.
        let logger = logger.limitingRepeats()
        self.configuration = configuration
        self.logger = logger
        self.metrics = HostMetrics()
        let target: ConnectionTarget
        if let url = configuration.database.url {
            target = try ConnectionTarget.parse(url)
            embedded = nil
        } else {
            let server = EmbeddedMariaDB(directory: configuration.stateDirectory + "/db", logger: logger)
            target = ConnectionTarget(socket: server.socketPath, user: OSUser.name)
            embedded = server
        }
        database = HostDatabase(
            configuration: configuration.database, target: target, hostMetrics: metrics, drainTimeout: configuration.drainTimeout,
            logger: logger)
        let bus = EventBus(
            capacity: configuration.eventQueueCapacity, drainTimeout: configuration.drainTimeout, metrics: metrics, logger: logger)
        self.runtime = HostRuntime(
            configuration: configuration, database: database, metrics: metrics, bus: bus, realtime: realtime(bus, metrics, logger),
            logger: logger)
        self.manager = PluginManager(runtime: runtime)
        self.jobs = JobRunner(runtime: runtime)
        self.authenticator = authenticator ?? runtime.tokens
        self.builtinRoutes = builtinRoutes
    }

    package struct Health: Encodable {
        package let status: String
        package let version: String
        package let uptimeS: Int
        package let database: String
        package let plugins: [PluginHealth]
    }

    package struct PluginHealth: Encodable {
        package let name: String
        package let version: String?
        package let state: PluginStatus.State
        package let error: String?

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(version, forKey: .version)
            try container.encode(state, forKey: .state)
            try container.encode(error, forKey: .error)
        }

        package enum CodingKeys: String, CodingKey { case name, version, state, error }
    }

    /// The bus owner id of the host's own subscriptions (plugin instances count from 1).
    package static let busOwner = 0

    /// The relay's name for the host's own outbox (no plugin may be called `host`).
    package static let outboxSource = "host"

    /// The principal a bearer token stands for, as the host trusts it now: `nil` for
    /// a token that does not verify or a deactivated user; roles from RBAC.
    /// Throws `unavailable` when the user's standing cannot be read.
    package func admit(bearer token: String) async throws -> Principal? {
        guard let principal = await authenticator.authenticate(bearer: token) else { return nil }
        do {
            return try await runtime.access.admit(principal)
        } catch {
            logger.warning("cannot read a user's standing", metadata: ["error": "\(error)"])
            throw PluginError(.unavailable, "the database is unavailable; try again shortly")
        }
    }

    package func health() async -> Health {
        let plugins = manager.statuses.map { PluginHealth(name: $0.name, version: $0.version, state: $0.state, error: $0.error) }
        let databaseUp = await database.isHealthy()
        return Health(
            status: databaseUp && plugins.allSatisfy { $0.state == .running } ? "ok" : "degraded",
            version: Self.version,
            uptimeS: Int((ContinuousClock.now - startedAt).components.seconds),
            database: databaseUp ? "ok" : "down",
            plugins: plugins)
    }

}
