import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import ServiceLifecycle
import Synchronization

/// Loads the enabled plugins, sets them up in dependency order, reloads them,
/// and stops them: the host's plugin lifecycle.
///
/// A plugin that fails to load or set up is reported and its dependents are
/// held back; everything else serves.
package final class PluginManager: Service, Sendable {
    private struct State {
        var statuses: [String: PluginStatus] = [:]
        var order: [String] = []
        var reloading: Set<String> = []
        var copies = 0
    }

    private let runtime: HostRuntime
    private let configuration: HostConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    private let retired: AsyncStream<PluginInstance>
    private let retire: AsyncStream<PluginInstance>.Continuation

    package init(runtime: HostRuntime) {
        self.runtime = runtime
        self.configuration = runtime.configuration
        self.logger = runtime.logger
        (retired, retire) = AsyncStream.makeStream(of: PluginInstance.self)
    }

    /// Statuses of the enabled plugins, in `plugins.yml` order.
    package var statuses: [PluginStatus] {
        state.withLock { state in configuration.enabledPlugins.compactMap { state.statuses[$0.name] } }
    }

    // MARK: Start-up

    /// Loads and sets up every enabled plugin. Throws only for a configuration
    /// error (an unknown or mistyped setting), which stops start-up.
    package func loadAll() async throws(ConfigurationError) {
        var loaded: [String: Loaded] = [:]
        for entry in configuration.enabledPlugins {
            let started = ContinuousClock.now
            do throws(PluginLoadError) {
                loaded[entry.name] = try open(entry, copy: configuration.devMode, started: started)
            } catch {
                fail(entry.name, error)
            }
        }
        for entry in configuration.enabledPlugins {
            guard let plugin = loaded[entry.name] else { continue }
            loaded[entry.name]?.settings = try SettingsResolver.resolve(entry: entry, schema: plugin.manifest.settings)
        }
        let enabled = Set(configuration.enabledPlugins.map(\.name))
        for name in DependencyOrder.sort(loaded.mapValues { $0.manifest.dependencies + $0.manifest.optionalDependencies }, fallback: configuration.enabledPlugins.map(\.name)) {
            guard let plugin = loaded[name] else { continue }
            if let reason = blockingReason(for: plugin.manifest, enabled: enabled) {
                block(name, reason, manifest: plugin.manifest)
                continue
            }
            do throws(PluginLoadError) {
                let setupStarted = ContinuousClock.now
                let instance = try await setUp(plugin)
                try runtime.activate(instance, replacing: nil)
                running(instance, loadTime: plugin.openTime + (ContinuousClock.now - setupStarted))
            } catch {
                fail(name, error, manifest: plugin.manifest)
            }
        }
        // Announced once every plugin has subscribed, so an auditor set up late still hears of the early ones.
        for status in statuses {
            runtime.publishHostEvent(
                status.state == .running ? HostTopic.pluginLoaded : HostTopic.pluginFailed,
                PluginLifecycleEvent(name: status.name, version: status.version, state: status.state.rawValue, error: status.error))
        }
    }

    private func blockingReason(for manifest: PluginManifest, enabled: Set<String>) -> String? {
        for dependency in manifest.dependencies {
            guard enabled.contains(dependency) else {
                let listed = configuration.plugins.contains { $0.name == dependency }
                return "depends on '\(dependency)', which is \(listed ? "disabled" : "not in \(configuration.sourceFile)")"
            }
            guard runtime.instance(named: dependency) != nil else {
                return "depends on '\(dependency)', which is not running"
            }
        }
        return nil
    }

    // MARK: Reload

    /// Loads the plugin's library again, sets the new version up beside the old
    /// one and swaps it in; the old version finishes its in-flight work and is
    /// stopped. A reload that fails leaves the old version serving.
    @discardableResult
    package func reload(_ name: String) async throws(PluginLoadError) -> PluginStatus {
        guard let entry = configuration.enabledPlugins.first(where: { $0.name == name }) else {
            throw PluginLoadError(.missingLibrary, "plugin '\(name)' is not enabled in \(configuration.sourceFile)")
        }
        let claimed = state.withLock { $0.reloading.insert(name).inserted }
        guard claimed else { throw PluginLoadError(.setupFailed, "plugin '\(name)' is already being reloaded") }
        defer { _ = state.withLock { $0.reloading.remove(name) } }

        let started = ContinuousClock.now
        let previous = runtime.instance(named: name)
        do throws(PluginLoadError) {
            var plugin = try open(entry, copy: true, started: started)
            do {
                plugin.settings = try SettingsResolver.resolve(entry: entry, schema: plugin.manifest.settings)
            } catch {
                throw PluginLoadError(.manifestRefused, error.description)
            }
            if let reason = blockingReason(for: plugin.manifest, enabled: Set(configuration.enabledPlugins.map(\.name))) {
                throw PluginLoadError(.blocked, reason)
            }
            let instance = try await setUp(plugin)
            try runtime.activate(instance, replacing: previous)
            running(instance, loadTime: ContinuousClock.now - started, reloaded: previous != nil)
            if let previous { retire.yield(previous) }
            logger.info("plugin reloaded", metadata: ["plugin": "\(name)", "version": "\(instance.manifest.version)"])
            runtime.publishHostEvent(
                HostTopic.pluginReloaded, PluginLifecycleEvent(name: name, version: instance.manifest.version, state: "running", error: nil))
            return state.withLock { $0.statuses[name]! }
        } catch {
            logger.error("plugin reload failed; the previous version keeps serving", metadata: ["plugin": "\(name)", "error": "\(error)"])
            runtime.publishHostEvent(
                HostTopic.pluginReloadFailed, PluginLifecycleEvent(name: name, version: nil, state: "failed", error: error.message))
            state.withLock { state in
                if previous != nil {
                    state.statuses[name]?.lastReloadError = error.message
                } else {
                    state.statuses[name] = PluginStatus(name: name, state: .failed, error: error.message)
                }
            }
            throw error
        }
    }

    // MARK: Loading one plugin

    private struct Loaded {
        let entry: PluginEntry
        let library: PluginLibrary
        let plugin: any QuikPlugin
        let manifest: PluginManifest
        var settings = PluginSettings()
        let started: ContinuousClock.Instant
        /// Time to open the library and read the manifest.
        let openTime: Duration
    }

    /// The library file a plugin entry names.
    package func libraryPath(for entry: PluginEntry) -> String {
        if let path = entry.path { return path }
        let directory = configuration.pluginDirectory ?? Bundle.main.executableURL?.deletingLastPathComponent().path ?? "."
        return "\(directory)/lib\(entry.name).so"
    }

    private func open(_ entry: PluginEntry, copy: Bool, started: ContinuousClock.Instant) throws(PluginLoadError) -> Loaded {
        let source = libraryPath(for: entry)
        let path = copy ? try copyForLoading(source, name: entry.name) : source
        defer { if copy { try? FileManager.default.removeItem(atPath: path) } }
        let library = try PluginLibrary.open(path: path)
        let plugin = try library.makePlugin()
        let manifest = plugin.manifest
        try ManifestRules.check(manifest, entryName: entry.name)
        return Loaded(
            entry: entry, library: library, plugin: plugin, manifest: manifest, started: started, openTime: ContinuousClock.now - started)
    }

    /// Copies a library to a fresh path, since `dlopen` of a path already open
    /// returns the old image. The copy is unlinked once opened; the mapping stays.
    private func copyForLoading(_ source: String, name: String) throws(PluginLoadError) -> String {
        guard FileManager.default.fileExists(atPath: source) else {
            throw PluginLoadError(.missingLibrary, "no plugin library at \(source)")
        }
        let directory = "\(configuration.stateDirectory)/loaded"
        let serial = state.withLock { state in
            state.copies += 1
            return state.copies
        }
        let path = "\(directory)/\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(serial).so"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: source, toPath: path)
        } catch {
            throw PluginLoadError(.openFailed, "cannot copy \(source) for loading: \(error.localizedDescription)")
        }
        return path
    }

    private func setUp(_ loaded: Loaded) async throws(PluginLoadError) -> PluginInstance {
        try runtime.checkClaims(of: loaded.manifest)
        var database: PluginDatabaseHandle?
        if loaded.manifest.capabilities.database {
            let host = runtime.database
            let pool: ConnectionPool
            do {
                pool = try await host.provision(plugin: loaded.manifest.name)
            } catch {
                throw PluginLoadError(.setupFailed, "cannot prepare its database: \((error as? DatabaseError)?.message ?? "\(error)")")
            }
            try await host.migrate(plugin: loaded.manifest.name, migrations: loaded.plugin.migrations, pool: pool)
            database = PluginDatabaseHandle(
                plugin: loaded.manifest.name, namespaces: loaded.manifest.namespaces, pool: pool, relay: host.relay,
                deliverOnCommit: host.configuration.outboxDeliversOnCommit)
            database?.jobSignal = runtime.jobSignal
        }
        let instance = PluginInstance(
            plugin: loaded.plugin, manifest: loaded.manifest, library: loaded.library, settings: loaded.settings, database: database)
        let context = HostContext(runtime: runtime, instance: instance)
        let plugin = loaded.plugin
        do {
            try await withDeadline(configuration.setupTimeout) { try await plugin.setup(context) }
        } catch let error as DeadlineExceeded {
            await instance.tasks.stop(timeout: configuration.drainTimeout)
            throw PluginLoadError(.setupFailed, "setup did not finish: \(error)")
        } catch let error as PluginError {
            await instance.tasks.stop(timeout: configuration.drainTimeout)
            throw PluginLoadError(.setupFailed, "setup refused: \(error.message)")
        } catch {
            await instance.tasks.stop(timeout: configuration.drainTimeout)
            throw PluginLoadError(.setupFailed, "setup threw: \(error)")
        }
        instance.registrations.withLock { $0.sealed = true }
        return instance
    }

    // MARK: Status

    private func running(_ instance: PluginInstance, loadTime: Duration, reloaded: Bool = false) {
        let milliseconds = Double(loadTime.components.seconds) * 1000 + Double(loadTime.components.attoseconds) / 1e15
        runtime.metrics.pluginLoad(plugin: instance.name, seconds: milliseconds / 1000)
        state.withLock { state in
            var status = PluginStatus(name: instance.name, state: .running)
            status.reloads = (state.statuses[instance.name]?.reloads ?? 0) + (reloaded ? 1 : 0)
            status.version = instance.manifest.version
            status.sdkVersion = instance.library.builtAgainst.description
            status.mount = instance.manifest.mount
            status.path = libraryPath(for: configuration.enabledPlugins.first { $0.name == instance.name }!)
            status.loadMs = milliseconds
            status.loadedAt = instance.loadedAt
            state.statuses[instance.name] = status
            if !state.order.contains(instance.name) { state.order.append(instance.name) }
        }
        logger.info(
            "plugin running",
            metadata: ["plugin": "\(instance.name)", "version": "\(instance.manifest.version)", "load_ms": "\(milliseconds)"])
    }

    private func fail(_ name: String, _ error: PluginLoadError, manifest: PluginManifest? = nil) {
        record(name, state: error.kind == .blocked ? .blocked : .failed, error.message, manifest: manifest)
        logger.error("plugin failed", metadata: ["plugin": "\(name)", "reason": "\(error.kind.rawValue)", "error": "\(error.message)"])
    }

    private func block(_ name: String, _ reason: String, manifest: PluginManifest) {
        record(name, state: .blocked, reason, manifest: manifest)
        logger.warning("plugin blocked", metadata: ["plugin": "\(name)", "error": "\(reason)"])
    }

    private func record(_ name: String, state newState: PluginStatus.State, _ message: String, manifest: PluginManifest?) {
        state.withLock { state in
            var status = PluginStatus(name: name, state: newState, error: message)
            status.version = manifest?.version
            status.mount = manifest?.mount
            state.statuses[name] = status
        }
    }

    // MARK: Service

    /// Retires replaced versions as reloads happen; on shutdown stops every
    /// plugin in reverse set-up order once its in-flight work is done.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runtime.backgroundTasks.run() }
            await withDiscardingTaskGroup { retiring in
                retiring.addTask {
                    try? await gracefulShutdown()
                    self.retire.finish()
                }
                for await instance in retired {
                    retiring.addTask { await self.drainAndStop(instance) }
                }
            }
            let order = state.withLock { $0.order }
            for name in order.reversed() {
                guard let instance = runtime.instance(named: name) else { continue }
                runtime.deactivate(instance)
                await drainAndStop(instance)
            }
            runtime.backgroundTasks.finish()
        }
    }

    /// Waits (bounded) for the version's in-flight work, stops its background tasks, then calls `shutdown()`.
    package func drainAndStop(_ instance: PluginInstance) async {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while instance.inflight > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        await instance.tasks.stop(timeout: configuration.drainTimeout)
        await instance.plugin.shutdown()
        logger.debug("plugin version stopped", metadata: ["plugin": "\(instance.name)", "version": "\(instance.manifest.version)"])
    }
}
