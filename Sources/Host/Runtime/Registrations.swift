import QuikSDK

/// A route a plugin registered.
struct PluginRoute: Sendable {
    let method: RouteMethod
    let pattern: RoutePattern
    let options: RouteOptions
    let handler: RouteHandler
}

/// An interceptor a plugin registered for a hook.
struct Interceptor: Sendable {
    let hook: String
    let order: Int
    let plugin: String
    let handler: HookHandler
}

/// What one plugin instance registered during setup. Sealed once setup returns:
/// the host activates all of it at once, and swaps all of it at once on reload.
struct Registrations: Sendable {
    var routes: [PluginRoute] = []
    var frames: [String: FrameHandler] = [:]
    var subscriptions: [EventBus.Subscription] = []
    var services: [String: ServiceHandler] = [:]
    var interceptors: [Interceptor] = []
    var sealed = false

    /// Finds the route for `method` and the path segments below the mount.
    func route(_ method: RouteMethod, _ parts: ArraySlice<Substring>) -> (PluginRoute, [String: String])? {
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
