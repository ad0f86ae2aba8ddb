/// How often one caller (a user, or an address when anonymous) may call a route:
/// on average `requests` every `perSeconds`, in bursts of up to `burst`. Past it
/// the host answers `429 rate_limited` with `Retry-After`. Since SDK 1.4.
public struct RateLimit: Sendable, Equatable {
    /// Requests allowed per period, on average.
    public var requests: Int
    /// The period, in seconds.
    public var perSeconds: Double
    /// Requests allowed at once after a quiet spell.
    public var burst: Int

    /// Creates a limit; the burst defaults to `requests`.
    public init(requests: Int, perSeconds: Double = 1, burst: Int? = nil) {
        self.requests = max(1, requests)
        self.perSeconds = perSeconds > 0 ? perSeconds : 1
        self.burst = max(1, burst ?? requests)
    }
}
