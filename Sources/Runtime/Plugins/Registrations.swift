import QuikMariaDB
import QuikSDK
import QuikSupport

/// A route a plugin registered, with what every request needs of its options read
/// once here (the SDK's options are a resilient struct: each read copies all of it).
package struct PluginRoute: Sendable {
    package let method: RouteMethod
    package let pattern: RoutePattern
    package let options: RouteOptions
    package let handler: RouteHandler
    /// `/api/v1/<mount><pattern>`, for metrics and logs.
    package let label: String
    package let requiresAuthentication: Bool
    package let timeout: Duration?
    package let rateLimit: RateLimit?

    package init(method: RouteMethod, pattern: RoutePattern, options: RouteOptions, mount: String, handler: @escaping RouteHandler) {
        self.method = method
        self.pattern = pattern
        self.options = options
        self.handler = handler
        label = "/api/v1/\(mount)\(pattern.description == "/" ? "" : pattern.description)"
        requiresAuthentication = options.requiresAuthentication
        timeout = options.timeoutSeconds.map { .milliseconds(Int64($0 * 1000)) }
        rateLimit = options.rateLimit
    }
}

/// An interceptor a plugin registered for a hook.
package struct Interceptor: Sendable {
    package let hook: String
    package let order: Int
    package let plugin: String
    package let handler: HookHandler
}

/// What one plugin instance registered during setup. Sealed once setup returns:
/// the host activates all of it at once, and swaps all of it at once on reload.
package struct Registrations: Sendable {
    package var routes: [PluginRoute] = []
    package var frames: [String: FrameHandler] = [:]
    package var subscriptions: [EventBus.Subscription] = []
    package var services: [String: ServiceHandler] = [:]
    package var interceptors: [Interceptor] = []
    /// Durable job handlers by kind.
    package var jobs: [String: JobHandler] = [:]
    package var sealed = false

    /// Finds the route for `method` and the path segments below the mount.
    package func route(_ method: RouteMethod, _ parts: ArraySlice<Substring>) -> (PluginRoute, [String: String])? {
        var best: (PluginRoute, [String: String])?
        for route in routes where route.method == method {
            guard let parameters = route.pattern.match(parts) else { continue }
            if let current = best, !route.pattern.specificity.lexicographicallyPrecedes(current.0.pattern.specificity) {
                continue
            }
            best = (route, parameters)
        }
        return best
    }
}
