import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikStorage
import QuikSupport
import Synchronization

/// The live state every request, frame and plugin call reads: which instance of
/// each plugin is active, and what it serves. Activation replaces one plugin's
/// entries in a single step, so a request sees either the old version or the new.
package final class HostRuntime: Sendable {
    package struct Tables: Sendable {
        /// Active instance per plugin name.
        package var active: [String: PluginInstance] = [:]
        /// Plugin name per mount.
        package var mounts: [String: String] = [:]
        /// Plugin name per realtime frame type.
        package var frames: [String: String] = [:]
        /// Interceptors per hook, in run order.
        package var hooks: [String: [Interceptor]] = [:]
    }

    package let configuration: HostConfiguration
    package let metrics: HostMetrics
    package let logger: Logger
    package let bus: EventBus
    /// The realtime gateway, seen through what the runtime needs of it.
    package let realtime: any RealtimeHub
    package let database: HostDatabase
    package let tokens: TokenService
    package let access: HostAccess
    package let mailer: any Mailer
    /// The deployment's blob store; plugins see it through ``PrefixedBlobStore``. `nil` when it could not be opened.
    package let blobs: (any BlobStore)?
    /// Plugins' background tasks, run by the plugin manager's service.
    package let backgroundTasks = PluginTaskRunner()
    /// Outbound HTTP clients shared by plugins' requests (a service of the group).
    package let outboundClients = OutboundClients()
    /// Rung when a job is scheduled or a running one ends, so the job runner looks at once.
    package let jobSignal = Doorbell()
    let tables = Mutex(Tables())

    package init(
        configuration: HostConfiguration, database: HostDatabase, metrics: HostMetrics, bus: EventBus, realtime: any RealtimeHub, logger: Logger
    ) {
        self.database = database
        self.tokens = TokenService(database: database, logger: logger)
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.bus = bus
        self.realtime = realtime
        self.access = HostAccess(database: database, gateway: realtime, logger: logger)
        if let relay = configuration.mail.smtpURL.flatMap(SMTPMailer.parse) {
            self.mailer = SMTPMailer(host: relay.host, port: relay.port, from: configuration.mail.from, logger: logger)
        } else {
            self.mailer = FileMailer(
                directory: configuration.mail.directory ?? configuration.stateDirectory + "/mail", from: configuration.mail.from, logger: logger)
        }
        do {
            self.blobs = try configuration.storage.makeStore(stateDirectory: configuration.stateDirectory)
        } catch {
            logger.error("blob storage unavailable; plugins that keep files will answer 503", metadata: ["error": "\(error)"])
            self.blobs = nil
        }
    }

    package var snapshot: Tables { tables.withLock { $0 } }

    package func instance(named name: String) -> PluginInstance? {
        tables.withLock { $0.active[name] }
    }

    /// Runs `body` on the active instance `pick` chooses, counted as in-flight work
    /// of that instance. The count starts under the same lock a reload swaps
    /// under, so a retiring version never stops while it still has work it took.
    /// Returns `nil` when `pick` finds no instance.
    package func withInstance<T: Sendable>(
        _ pick: (Tables) -> PluginInstance?,
        _ body: (PluginInstance) async throws -> T
    ) async rethrows -> T? {
        guard let instance = tables.withLock({ tables -> PluginInstance? in
            let instance = pick(tables)
            instance?.enter()
            return instance
        }) else { return nil }
        defer { instance.leave() }
        return try await body(instance)
    }

    /// Checks what a manifest claims against the plugins already active (other than
    /// an older version of itself): mount and topic namespaces belong to one plugin.
    package func checkClaims(of manifest: PluginManifest) throws(PluginLoadError) {
        let tables = snapshot
        for (name, instance) in tables.active where name != manifest.name {
            if let mount = manifest.mount, instance.manifest.mount == mount {
                throw PluginLoadError(.manifestRefused, "mount '\(mount)' already belongs to plugin '\(name)'")
            }
            let theirs = Set(instance.manifest.namespaces)
            if let clash = manifest.namespaces.first(where: theirs.contains) {
                throw PluginLoadError(.manifestRefused, "event namespace '\(clash)' already belongs to plugin '\(name)'")
            }
        }
    }

    /// Makes `instance` the active version of its plugin, replacing `previous`:
    /// routes, frame handlers, services and hooks in one step, then its subscriptions.
    package func activate(_ instance: PluginInstance, replacing previous: PluginInstance?) throws(PluginLoadError) {
        let registrations = instance.sealed
        try tables.withLock { tables throws(PluginLoadError) in
            for type in registrations.frames.keys {
                if let owner = tables.frames[type], owner != instance.name {
                    throw PluginLoadError(.setupFailed, "frame type '\(type)' already belongs to plugin '\(owner)'")
                }
            }
            if let mount = instance.manifest.mount, let owner = tables.mounts[mount], owner != instance.name {
                throw PluginLoadError(.manifestRefused, "mount '\(mount)' already belongs to plugin '\(owner)'")
            }
            tables.frames = tables.frames.filter { $0.value != instance.name }
            for type in registrations.frames.keys { tables.frames[type] = instance.name }
            tables.mounts = tables.mounts.filter { $0.value != instance.name }
            if let mount = instance.manifest.mount { tables.mounts[mount] = instance.name }
            var hooks = tables.hooks.mapValues { $0.filter { $0.plugin != instance.name } }
            for interceptor in registrations.interceptors { hooks[interceptor.hook, default: []].append(interceptor) }
            tables.hooks = hooks.mapValues { $0.sorted { ($0.order, $0.plugin) < ($1.order, $1.plugin) } }
            tables.active[instance.name] = instance
        }
        access.declare(instance.manifest.permissions, plugin: instance.name)
        bus.replace(owner: previous?.id, with: instance.id, subscriptions: registrations.subscriptions)
        if let handle = instance.database {
            let bus = self.bus
            database.relay.register(plugin: instance.name, pool: handle.pool) { bus.publish($0, receipt: $1) }
        }
    }

    /// Removes a plugin's instance from service (its paths answer 404 from now on).
    package func deactivate(_ instance: PluginInstance) {
        let removed = tables.withLock { tables -> Bool in
            guard tables.active[instance.name] === instance else { return false }
            tables.active[instance.name] = nil
            tables.mounts = tables.mounts.filter { $0.value != instance.name }
            tables.frames = tables.frames.filter { $0.value != instance.name }
            tables.hooks = tables.hooks.mapValues { $0.filter { $0.plugin != instance.name } }
            return true
        }
        if removed {
            access.withdraw(plugin: instance.name)
            bus.replace(owner: instance.id, with: nil, subscriptions: [])
        }
    }
}

extension PluginManifest {
    /// The topic namespaces the plugin publishes in; its own name when it lists none.
    package var namespaces: [String] {
        capabilities.publishes.isEmpty ? [name] : capabilities.publishes
    }
}
