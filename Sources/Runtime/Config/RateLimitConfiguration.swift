import QuikSDK

/// Requests per caller and route class (`server.rate_limits` in plugins.yml),
/// counted per host; a route may set its own (`RouteOptions.rateLimit`).
public struct RateLimitConfiguration: Sendable {
    /// Whether requests and frames are limited at all. Default `true`.
    public var enabled: Bool = true
    /// Reads (GET, HEAD, OPTIONS) by a signed-in user. Default 50/s, bursts of 100.
    public var read = RateLimit(requests: 50, perSeconds: 1, burst: 100)
    /// Writes (every other method) by a signed-in user. Default 20/s, bursts of 40.
    public var write = RateLimit(requests: 20, perSeconds: 1, burst: 40)
    /// Any request without a signed-in user, per client address (sign-in, registration). Default 10/s, bursts of 30.
    public var anonymous = RateLimit(requests: 10, perSeconds: 1, burst: 30)
    /// Client frames per realtime socket; a socket past it is read more slowly. Default 20/s, bursts of 50.
    public var frames = RateLimit(requests: 20, perSeconds: 1, burst: 50)

    /// The defaults.
    public init() {}
}
