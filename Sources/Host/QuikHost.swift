import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport
import QuikTransport
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The QuikApp host: loads the plugins of `plugins.yml` and serves HTTP and the
/// realtime socket until it is shut down.
///
/// ```swift
/// let host = QuikHost(configuration: try PluginsFile.load(path: "plugins.yml"), logger: logger)
/// try await host.run()
/// ```
public final class QuikHost: Sendable {
    let core: HostCore
    /// The realtime gateway: the runtime reaches it as a ``RealtimeHub``, the server serves sockets through it.
    let gateway: RealtimeGateway
    private let group = Mutex<ServiceGroup?>(nil)
    private let shutdownRequested = Mutex(false)
    private let listening = Mutex<Int?>(nil)
    /// The metrics address's port, once it listens.
    let metricsListening = Mutex<Int?>(nil)

    /// Creates a host. Nothing is started, loaded or bound until ``start()`` or
    /// ``run(gracefulShutdownSignals:onListening:)``. Throws for a malformed `database.url`.
    /// Without an `authenticator`, callers are authenticated by the host's own access tokens.
    public init(
        configuration: HostConfiguration,
        authenticator: (any Authenticator)? = nil,
        builtinRoutes: [BuiltinRoute] = [],
        logger: Logger
    ) throws(ConfigurationError) {
        var made: RealtimeGateway?
        core = try HostCore(configuration: configuration, authenticator: authenticator, builtinRoutes: builtinRoutes, logger: logger) {
            bus, metrics, logger in
            let gateway = RealtimeGateway(configuration: configuration, metrics: metrics, bus: bus, logger: logger)
            made = gateway
            return gateway
        }
        gateway = made!
    }

    /// The configuration in force.
    public var configuration: HostConfiguration { core.configuration }

    /// The enabled plugins and where each stands.
    public var pluginStatuses: [PluginStatus] { core.manager.statuses }

    /// Realtime sockets open now.
    public var openSockets: Int { gateway.connectionCount }

    /// The port the server listens on, once it does.
    public var port: Int? { listening.withLock { $0 } }

    /// The port of the metrics address (`server.metrics_address`), once it listens.
    public var metricsPort: Int? { metricsListening.withLock { $0 } }

    /// Starts the embedded database when there is no `database.url`, prepares the
    /// host's schema, and loads and sets up every enabled plugin, without serving.
    /// Throws for a configuration error or an embedded server that cannot start;
    /// plugin failures, and a configured database that is down, are reported in
    /// ``pluginStatuses`` and `/health` instead.
    public func start() async throws {
        try await start(serving: false)
    }

    /// `serving`: this host will serve HTTP, so it takes the embedded server's folder for itself.
    private func start(serving: Bool) async throws {
        if let embedded = core.embedded { try await embedded.start(serving: serving) }
        do {
            try await prepareDatabase()
        } catch {
            core.logger.error(
                "the database is not reachable; plugins that need it fail and tokens cannot be verified",
                metadata: ["error": "\(error)"])
        }
        core.runtime.bus.replace(owner: nil, with: HostCore.busOwner, subscriptions: core.runtime.access.subscriptions)
        try await core.manager.loadAll()
        // Only now: an event pending from before a restart must reach every subscriber, not only those loaded first.
        core.database.relay.open()
    }

    /// Makes a new signing key; the previous one keeps verifying its tokens until they expire.
    /// Returns the new key's id. A running host signs with it within 30 seconds.
    public func rotateSigningKeys() async throws -> String {
        if let embedded = core.embedded { try await embedded.start() }
        let kid: String
        do {
            try await prepareDatabase()
            kid = try await core.runtime.tokens.rotate()
        } catch {
            await releaseDatabase()
            throw error
        }
        await releaseDatabase()
        return kid
    }

    /// The host's schema and its signing keys.
    private func prepareDatabase() async throws {
        try await core.database.prepare()
        try await core.runtime.tokens.prepare()
        try await core.runtime.access.prepare()
        let bus = core.runtime.bus
        core.database.relay.register(plugin: HostCore.outboxSource, pool: core.database.hostPool) { bus.publish($0, receipt: $1) }
    }

    /// Drains the pools and stops the embedded server if this process owns it.
    private func releaseDatabase() async {
        await core.database.closeAll()
        await core.embedded?.stop()
    }

    /// Loads the plugins, runs the event bus and the outbox relay (no HTTP) while
    /// `body` acts through them, then drains and stops, so the events `body`
    /// causes are delivered (to the audit log, say). For commands such as `quikapp admin create`.
    public func withPlugins<T: Sendable>(_ body: @escaping @Sendable (QuikHost) async throws -> T) async throws -> T {
        try await start()
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                // Stopped in reverse order: the relay delivers what is pending before the bus drains.
                services: [.init(service: core.runtime.bus), .init(service: core.database.relay), .init(service: core.runtime.outboundClients)], logger: core.logger))
        let outcome = await withTaskGroup(of: Result<T, any Error>?.self) { tasks in
            tasks.addTask {
                try? await services.run()
                return nil
            }
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body(self))
            } catch {
                outcome = .failure(error)
            }
            await services.triggerGracefulShutdown()
            for await _ in tasks {}
            return outcome
        }
        await stop()
        return try outcome.get()
    }

    /// Calls a running plugin's service as the host, for commands such as `quikapp admin create`.
    public func callService(plugin: String, service: String, payload: Data) async throws -> Data {
        try await core.runtime.callService(plugin: plugin, service: service, payload: payload, caller: "host")
    }

    /// Stops what ``start()`` started, for a host that never ran (`plugins check`).
    public func stop() async {
        for status in core.manager.statuses where status.state == .running {
            if let instance = core.runtime.instance(named: status.name) {
                core.runtime.deactivate(instance)
                await core.manager.drainAndStop(instance)
            }
        }
        await releaseDatabase()
    }

    /// Reloads one plugin from its library; the previous version keeps serving if this fails.
    @discardableResult
    public func reload(_ name: String) async throws(PluginLoadError) -> PluginStatus {
        try await core.manager.reload(name)
    }

    /// Loads the plugins, serves until a shutdown signal or ``shutdown()``, then
    /// drains: sockets are closed with 1001, in-flight requests finish, plugins stop.
    /// Every part, start-up included, is a service of one `ServiceGroup`.
    public func run(
        gracefulShutdownSignals: [UnixSignal] = [],
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let core = self.core
        let gateway = self.gateway
        let configuration = core.configuration
        let limiter = RateLimiter(configuration: configuration.rateLimits)
        let gate = Self.connectionGate(configuration: configuration, metrics: core.metrics, logger: core.logger)
        // The gateway sends its own heartbeats from one loop; a ping task per socket costs memory.
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: Self.http1Configuration(configuration.connections),
            ws: .init(maxFrameSize: configuration.maxFrameBytes, autoPing: .disabled))
        let application = Application(
            responder: HostResponder(host: core, limiter: limiter),
            server: HTTPServerBuilder { responder in
                let upgrading = HTTP1WebSocketUpgradeChannel(responder: responder, configuration: channelConfiguration) { head, channel, _ in
                    guard head.path.map(Self.pathOnly) == "/api/v1/realtime" else { return .dontUpgrade }
                    let token = BearerToken.from(head.headerFields[.authorization]) ?? Self.queryToken(head.path)
                    let principal = if let token { try? await core.admit(bearer: token) } else { Principal?.none }
                    return .upgrade([:]) { inbound, outbound, _ in
                        let stillAdmitted: @Sendable () async -> Bool = {
                            guard let token else { return false }
                            // A database too slow to say leaves the socket open, as it was admitted.
                            do { return try await core.admit(bearer: token) != nil } catch { return true }
                        }
                        await gateway.serve(
                            principal: principal, inbound: inbound, outbound: outbound, channel: channel, stillAdmitted: stillAdmitted
                        ) { frame in
                            try await core.runtime.dispatchFrame(frame)
                        }
                    }
                }
                return GuardedChildChannel(inner: upgrading, gate: gate)
            },
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), backlog: configuration.connections.backlog),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                self.listening.withLock { $0 = port }
                core.logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
                await onListening(port)
            },
            logger: core.logger
        )
        // Start-up runs inside the group; the HTTP server and the watcher wait for it.
        let startup = HostStartup { try await self.start(serving: true) }
        var services: [any Service] = []
        if let embedded = core.embedded { services.append(embedded) }
        // Stopped in reverse order: jobs, plugins, then the relay (delivering what they committed), then the bus drains.
        services += [core.database, core.runtime.bus, core.database.relay, core.runtime.outboundClients, core.manager, core.jobs, limiter, startup]
        if configuration.devMode {
            services.append(AfterStartup(startup: startup, service: PluginWatcher(manager: core.manager, configuration: configuration, logger: core.logger)))
        }
        if let address = configuration.metricsAddress {
            // Not after start-up: the metrics of a slow start are worth reading.
            services.append(metricsListener(address: address, gate: gate))
        }
        services += [AfterStartup(startup: startup, service: application), gateway]
        var groupConfiguration = ServiceGroupConfiguration(
            // A start-up that fails (and the services that then never begin) shut the group
            // down gracefully, in order, rather than cancelling everything at once.
            services: services.map { service in
                service is HostStartup || service is AfterStartup
                    ? .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
                    : .init(service: service)
            },
            gracefulShutdownSignals: gracefulShutdownSignals,
            logger: core.logger)
        // Shutdown is bounded: past these the group cancels, then stops waiting.
        groupConfiguration.maximumGracefulShutdownDuration = configuration.drainTimeout * 3
        groupConfiguration.maximumCancellationDuration = configuration.drainTimeout
        let serviceGroup = ServiceGroup(configuration: groupConfiguration)
        let stopAtOnce = group.withLock { stored in
            stored = serviceGroup
            return shutdownRequested.withLock { $0 }
        }
        if stopAtOnce { await serviceGroup.triggerGracefulShutdown() }
        try await serviceGroup.run()
    }

    /// Starts a graceful shutdown; ``run(gracefulShutdownSignals:onListening:)`` returns when it is done.
    public func shutdown() async {
        let serviceGroup = group.withLock { stored in
            shutdownRequested.withLock { $0 = true }
            return stored
        }
        await serviceGroup?.triggerGracefulShutdown()
    }

    private static func pathOnly(_ path: String) -> String {
        String(path.prefix { $0 != "?" })
    }

    private static func queryToken(_ path: String?) -> String? {
        guard let path, let mark = path.firstIndex(of: "?") else { return nil }
        let value = QueryString.parse(String(path[path.index(after: mark)...])).first { $0.name == "token" }?.value
        return value?.isEmpty == false ? value : nil
    }
}
