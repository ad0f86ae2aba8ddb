import Foundation

/// Everything a plugin may do, handed to ``QuikPlugin/setup(_:)``.
///
/// Registration calls (`addRoute`, `onFrame`, `subscribe`, `provideService`,
/// `intercept`) are made during setup; the host activates them together once
/// setup returns, and swaps them together on a hot reload. Later SDK versions
/// add requirements here with default implementations, so plugins built
/// against this version keep working.
public protocol PluginContext: Sendable {
    /// The plugin's name from its manifest.
    var pluginName: String { get }
    /// The plugin's settings from `plugins.yml`, defaults filled in.
    var settings: PluginSettings { get }
    /// The plugin's logger.
    var logger: any PluginLogger { get }
    /// The plugin's metrics.
    var metrics: any PluginMetrics { get }

    /// Serves `method path` under `/api/v1/<mount>`; `path` is relative to the mount
    /// (`"/"`, `"/{id}"`, `"/{id}/pins"`). A path outside the mount is refused.
    func addRoute(_ method: RouteMethod, _ path: String, options: RouteOptions, handler: @escaping RouteHandler) throws

    /// Handles realtime client frames of `type`, which the manifest must list in `frames`.
    func onFrame(_ type: String, handler: @escaping FrameHandler) throws

    /// Pushes an event to the sockets of `audience`.
    func send(_ event: RealtimeEvent, to audience: Audience) async

    /// Adds users to a realtime group (such as `channel:<id>`); their sockets receive its events.
    func joinGroup(_ group: String, userIds: [String]) async

    /// Removes users from a realtime group; their sockets stop receiving its events at once.
    func leaveGroup(_ group: String, userIds: [String]) async

    /// Publishes an event; the topic must lie in a namespace the manifest claims.
    /// Returns the event's id.
    @discardableResult
    func publish(_ topic: String, payload: Data) async throws -> String

    /// Receives events whose topic matches `pattern`: `*` stands for one segment,
    /// a trailing `**` for any number (`message.*`, `channel.**`, `**`).
    func subscribe(_ pattern: String, handler: @escaping EventHandler) throws

    /// Offers a service others call with ``callService(plugin:service:payload:)``.
    func provideService(_ name: String, handler: @escaping ServiceHandler) throws

    /// Calls another plugin's service; the plugin must be in the manifest's dependencies
    /// and running. Errors it throws as ``PluginError`` come back as such.
    func callService(plugin: String, service: String, payload: Data) async throws -> Data

    /// Takes part in another plugin's hook, which the manifest must list in `intercepts`.
    /// Lower `order` runs first.
    func intercept(_ hook: String, order: Int, handler: @escaping HookHandler) throws

    /// Runs a hook this plugin declared through its interceptors, each under the host's deadline.
    func runHook(_ hook: String, payload: Data) async throws -> HookOutcome

    /// The plugin's own database, when its manifest asks for one (`capabilities.database`). Since SDK 1.1.
    var database: (any PluginDatabase)? { get }

    /// Signs an access token for a user. Only the deployment's token issuer
    /// (`server.token_issuer`, default `auth`) may; others get `forbidden`. Since SDK 1.2.
    func issueAccessToken(userId: String, sessionId: String?, roles: [String]) async throws -> AccessToken

    /// Whether `principal` holds `permission` in `scope`, answered from the host's
    /// role cache, which role changes clear at once. Since SDK 1.3.
    func isAllowed(_ permission: String, in scope: PermissionScope, for principal: Principal) async -> Bool

    /// Role and user administration, for the plugins `server.access_managers` names; `nil` for others. Since SDK 1.3.
    var accessControl: (any AccessControl)? { get }

    /// Sends an email through the host's mailer (SMTP, or `.eml` files in development). Since SDK 1.3.
    func sendMail(_ message: MailMessage) async throws

    /// Runs `body` in the background for as long as this version of the plugin runs,
    /// such as a periodic sweep. The host cancels it and waits for it to end when the
    /// version stops (shutdown, or a reload replacing it), before `shutdown()`;
    /// `body` should return soon after cancellation. `name` appears in the host's logs. Since SDK 1.4.
    func run(_ name: String, _ body: @escaping @Sendable () async -> Void) throws

    /// The deployment's blob storage, seen through this plugin's own key space:
    /// no plugin reaches another's objects. Since SDK 1.4.
    var blobs: (any BlobStore)? { get }

    /// Guarded HTTP to the outside world, for the hosts the manifest lists. Since SDK 1.4.
    var outbound: (any OutboundHTTP)? { get }

    /// The base URL clients reach the deployment at (`server.public_url`), without a
    /// trailing slash, for links in mail and signed URLs; `nil` when not configured. Since SDK 1.4.
    var publicURL: String? { get }

    /// The plugin's durable jobs (in its own database); `nil` without one. Since SDK 1.5.
    var jobs: (any JobQueue)? { get }

    /// Runs the jobs of `kind` when they fall due, on whichever host claims them. Since SDK 1.5.
    func onJob(_ kind: String, handler: @escaping JobHandler) throws

    /// The user whose realtime socket `connectionId` is, while it is open on this host; `nil` otherwise. Since SDK 1.5.
    func connectionOwner(_ connectionId: String) async -> String?
}

extension PluginContext {
    /// No database, as for a host older than SDK 1.1.
    public var database: (any PluginDatabase)? { nil }

    /// Refuses, as a host older than SDK 1.2 would.
    public func issueAccessToken(userId: String, sessionId: String?, roles: [String]) async throws -> AccessToken {
        throw PluginError(.forbidden, "this host does not issue access tokens to plugins")
    }

    /// Nothing is allowed, as on a host older than SDK 1.3.
    public func isAllowed(_ permission: String, in scope: PermissionScope, for principal: Principal) async -> Bool { false }

    /// None, as on a host older than SDK 1.3.
    public var accessControl: (any AccessControl)? { nil }

    /// Refuses, as a host older than SDK 1.3 would.
    public func sendMail(_ message: MailMessage) async throws {
        throw PluginError(.unavailable, "this host has no mailer")
    }

    /// Refuses, as a host older than SDK 1.4 would.
    public func run(_ name: String, _ body: @escaping @Sendable () async -> Void) throws {
        throw PluginError(.unavailable, "this host does not run plugin tasks")
    }

    /// None, as on a host older than SDK 1.4.
    public var blobs: (any BlobStore)? { nil }

    /// None, as on a host older than SDK 1.4.
    public var outbound: (any OutboundHTTP)? { nil }

    /// Not configured, as on a host older than SDK 1.4.
    public var publicURL: String? { nil }

    /// None, as on a host older than SDK 1.5.
    public var jobs: (any JobQueue)? { nil }

    /// Refuses, as a host older than SDK 1.5 would.
    public func onJob(_ kind: String, handler: @escaping JobHandler) throws {
        throw PluginError(.unavailable, "this host does not run durable jobs")
    }

    /// None, as on a host older than SDK 1.5.
    public func connectionOwner(_ connectionId: String) async -> String? { nil }

    /// The plugin's durable jobs, or `unavailable`.
    public func requireJobs() throws -> any JobQueue {
        guard let jobs else { throw PluginError(.unavailable, "this host has no durable jobs for plugin '\(pluginName)'") }
        return jobs
    }

    /// The deployment's blob storage, or `unavailable`.
    public func requireBlobs() throws -> any BlobStore {
        guard let blobs else { throw PluginError(.unavailable, "this host has no blob storage") }
        return blobs
    }

    /// Throws `forbidden` unless `principal` holds `permission` in `scope`.
    public func require(_ permission: String, in scope: PermissionScope, for principal: Principal) async throws {
        guard await isAllowed(permission, in: scope, for: principal) else {
            throw PluginError(.forbidden, "this needs the permission '\(permission)'", details: ["permission": permission])
        }
    }

    /// The plugin's database, or an error saying the manifest did not ask for one.
    public func requireDatabase() throws -> any PluginDatabase {
        guard let database else {
            throw PluginError(.internalError, "plugin '\(pluginName)' has no database: set capabilities.database in its manifest")
        }
        return database
    }

    /// Serves a route with default options (authentication required).
    public func addRoute(_ method: RouteMethod, _ path: String, handler: @escaping RouteHandler) throws {
        try addRoute(method, path, options: RouteOptions(), handler: handler)
    }

    /// Publishes `value` encoded with the contract's encoder.
    @discardableResult
    public func publish<T: Encodable>(_ topic: String, _ value: T) async throws -> String {
        try await publish(topic, payload: JSONEncoder.quik.encode(value))
    }

    /// Calls a service with Codable values in and out.
    public func call<Request: Encodable, Reply: Decodable>(
        _ plugin: String,
        _ service: String,
        _ request: Request,
        as reply: Reply.Type
    ) async throws -> Reply {
        let data = try await callService(plugin: plugin, service: service, payload: JSONEncoder.quik.encode(request))
        return try JSONDecoder.quik.decode(reply, from: data)
    }
}
