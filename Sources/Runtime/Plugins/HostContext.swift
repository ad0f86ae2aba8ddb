import Foundation
import QuikMariaDB
import QuikSDK
import QuikStorage
import QuikSupport

/// The ``PluginContext`` of one plugin instance.
///
/// Registration calls collect into the instance's ``Registrations`` and are
/// checked against its manifest; the host activates them after setup returns.
package struct HostContext: PluginContext {
    package let runtime: HostRuntime
    package let instance: PluginInstance
    package let logger: any PluginLogger
    package let metrics: any PluginMetrics

    package init(runtime: HostRuntime, instance: PluginInstance) {
        self.runtime = runtime
        self.instance = instance
        self.logger = PluginLoggerBridge(plugin: instance.name, base: runtime.logger)
        self.metrics = PluginMetricsBridge(plugin: instance.name, metrics: runtime.metrics)
    }

    package var pluginName: String { instance.name }
    package var settings: PluginSettings { instance.settings }
    package var database: (any PluginDatabase)? { instance.database }

    private func register(_ what: String, _ change: (inout Registrations) throws(PluginError) -> Void) throws(PluginError) {
        try instance.registrations.withLock { registrations throws(PluginError) in
            guard !registrations.sealed else {
                throw PluginError(.forbidden, "\(what) must be registered during setup")
            }
            try change(&registrations)
        }
    }

    package func addRoute(_ method: RouteMethod, _ path: String, options: RouteOptions, handler: @escaping RouteHandler) throws {
        guard let mount = instance.manifest.mount else {
            throw PluginError(.forbidden, "plugin '\(pluginName)' has no mount in its manifest, so it cannot serve routes")
        }
        let pattern = try RoutePattern(path)
        try register("routes") { registrations throws(PluginError) in
            if registrations.routes.contains(where: { $0.method == method && $0.pattern == pattern }) {
                throw PluginError(.conflict, "route \(method) \(pattern) is registered twice")
            }
            registrations.routes.append(PluginRoute(method: method, pattern: pattern, options: options, mount: mount, handler: handler))
        }
    }

    package func run(_ name: String, _ body: @escaping @Sendable () async -> Void) throws {
        let logger = runtime.logger
        let plugin = pluginName
        runtime.backgroundTasks.submit({
            logger.debug("plugin task started", metadata: ["plugin": "\(plugin)", "task": "\(name)"])
            await body()
            logger.debug("plugin task ended", metadata: ["plugin": "\(plugin)", "task": "\(name)"])
        }, for: instance.tasks)
    }

    package func onFrame(_ type: String, handler: @escaping FrameHandler) throws {
        guard type != "ping", Topic.isValid(type) || !type.contains(".") && !type.isEmpty else {
            throw PluginError(.forbidden, "frame type '\(type)' is reserved or malformed")
        }
        let allowed = instance.manifest.capabilities.frames.contains { pattern in
            (try? TopicPattern(pattern))?.matches(type) ?? (pattern == type)
        }
        guard allowed else {
            throw PluginError(.forbidden, "frame type '\(type)' is not in the manifest's frames")
        }
        try register("frame handlers") { registrations throws(PluginError) in
            guard registrations.frames[type] == nil else {
                throw PluginError(.conflict, "frame type '\(type)' is registered twice")
            }
            registrations.frames[type] = handler
        }
    }

    package func connectionOwner(_ connectionId: String) async -> String? {
        runtime.realtime.owner(ofConnection: connectionId)
    }

    package func send(_ event: RealtimeEvent, to audience: Audience) async {
        runtime.realtime.send(event, to: audience)
    }

    package func joinGroup(_ group: String, userIds: [String]) async {
        runtime.realtime.join(group, userIds: userIds)
    }

    package func leaveGroup(_ group: String, userIds: [String]) async {
        runtime.realtime.leave(group, userIds: userIds)
    }

    @discardableResult
    package func publish(_ topic: String, payload: Data) async throws -> String {
        try runtime.publish(topic, payload: payload, from: instance)
    }

    package func subscribe(_ pattern: String, handler: @escaping EventHandler) throws {
        let parsed: TopicPattern
        do {
            parsed = try TopicPattern(pattern)
        } catch {
            throw PluginError(.badRequest, error.description)
        }
        try register("subscriptions") { registrations in
            registrations.subscriptions.append(EventBus.Subscription(pattern: parsed, plugin: pluginName, handler: handler))
        }
    }

    package func provideService(_ name: String, handler: @escaping ServiceHandler) throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }) else {
            throw PluginError(.badRequest, "service name '\(name)' is malformed")
        }
        try register("services") { registrations throws(PluginError) in
            guard registrations.services[name] == nil else {
                throw PluginError(.conflict, "service '\(name)' is registered twice")
            }
            registrations.services[name] = handler
        }
    }

    package func callService(plugin: String, service: String, payload: Data) async throws -> Data {
        try await runtime.callService(plugin: plugin, service: service, payload: payload, from: instance)
    }

    package func intercept(_ hook: String, order: Int, handler: @escaping HookHandler) throws {
        guard instance.manifest.capabilities.intercepts.contains(hook) else {
            throw PluginError(.forbidden, "hook '\(hook)' is not in the manifest's intercepts")
        }
        try register("interceptors") { registrations in
            registrations.interceptors.append(Interceptor(hook: hook, order: order, plugin: pluginName, handler: handler))
        }
    }

    package func issueAccessToken(userId: String, sessionId: String?, roles: [String]) async throws -> AccessToken {
        guard pluginName == runtime.configuration.tokenIssuer else {
            throw PluginError(.forbidden, "only the token issuer plugin '\(runtime.configuration.tokenIssuer)' may sign access tokens")
        }
        return try await runtime.tokens.issue(userId: userId, sessionId: sessionId, roles: roles)
    }

    package func isAllowed(_ permission: String, in scope: PermissionScope, for principal: Principal) async -> Bool {
        do {
            return try await runtime.access.isAllowed(permission, in: scope, for: principal)
        } catch {
            runtime.logger.warning("permission check failed; denying", metadata: ["plugin": "\(pluginName)", "error": "\(error)"])
            return false
        }
    }

    package var accessControl: (any AccessControl)? {
        runtime.configuration.accessManagers.contains(pluginName) ? PluginAccessControl(access: runtime.access) : nil
    }

    package var publicURL: String? { runtime.configuration.publicURL }

    package var outbound: (any OutboundHTTP)? {
        let permitted = instance.manifest.capabilities.outboundHosts
        guard !permitted.isEmpty else { return nil }
        return GuardedHTTPClient(
            configuration: runtime.configuration.outbound, permitted: permitted, plugin: pluginName, logger: runtime.logger,
            clients: runtime.outboundClients)
    }

    package var blobs: (any BlobStore)? {
        runtime.blobs.map { PrefixedBlobStore($0, prefix: pluginName) }
    }

    package func sendMail(_ message: MailMessage) async throws {
        try await runtime.mailer.send(message, from: pluginName)
    }

    package var jobs: (any JobQueue)? {
        guard let database = instance.database else { return nil }
        let signal = runtime.jobSignal
        return JobStore(executor: database) { _ in signal.ring() }
    }

    package func onJob(_ kind: String, handler: @escaping JobHandler) throws {
        guard instance.database != nil else {
            throw PluginError(.forbidden, "plugin '\(pluginName)' has no database for its jobs: set capabilities.database in its manifest")
        }
        guard !kind.isEmpty, kind.utf8.count <= JobStore.kindLimit else {
            throw PluginError(.badRequest, "job kind '\(kind)' must be 1 to \(JobStore.kindLimit) bytes")
        }
        try register("job handlers") { registrations throws(PluginError) in
            guard registrations.jobs[kind] == nil else {
                throw PluginError(.conflict, "job kind '\(kind)' is registered twice")
            }
            registrations.jobs[kind] = handler
        }
    }

    package func runHook(_ hook: String, payload: Data) async throws -> HookOutcome {
        try await runtime.runHook(hook, payload: payload, from: instance)
    }
}
