import QuikRuntime
import QuikSDK
import QuikSupport
import ServiceLifecycle
import Synchronization

/// Token buckets per caller and route class, in this host's memory. Buckets that
/// have filled up again are forgotten now and then, so idle callers cost nothing.
package final class RateLimiter: Service, Sendable {
    package let configuration: RateLimitConfiguration
    private let buckets = Mutex<[String: TokenBucket]>([:])

    package init(configuration: RateLimitConfiguration) {
        self.configuration = configuration
    }

    /// Takes one request from `key`'s bucket under `limit`; `nil` when allowed, else
    /// the whole seconds to wait (at least 1), for `Retry-After`.
    package func admit(_ key: String, limit: RateLimit, now: ContinuousClock.Instant = .now) -> Int? {
        guard configuration.enabled else { return nil }
        let wait = buckets.withLock { buckets in
            var bucket = buckets[key] ?? TokenBucket(limit, now: now)
            defer { buckets[key] = bucket }
            return bucket.take(now: now)
        }
        guard let wait else { return nil }
        return max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
    }

    /// The limit and key of one HTTP request: the route's own limit if it has one, else
    /// its class's; per user, or per client address without one.
    package func check(method: RouteMethod, principal: Principal?, remoteAddress: String?, route: String, own: RateLimit?) throws(PluginError) {
        guard configuration.enabled else { return }
        let caller = principal.map { "u:" + $0.userId } ?? "a:" + (remoteAddress ?? "unknown")
        let (scope, limit): (String, RateLimit) =
            if let own { ("route " + route, own) }
            else if principal == nil { ("anonymous", configuration.anonymous) }
            else if ["GET", "HEAD", "OPTIONS"].contains(method.rawValue) { ("read", configuration.read) }
            else { ("write", configuration.write) }
        if let retryAfter = admit(scope + "|" + caller, limit: limit) {
            throw PluginError(.rateLimited, "too many requests; try again in \(retryAfter) s", retryAfterSeconds: retryAfter)
        }
    }

    /// Buckets held now.
    package var count: Int { buckets.withLock { $0.count } }

    /// Forgets full buckets every 30 s until shutdown.
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(30))
                self.forgetFull()
            }
        }
    }

    package func forgetFull(now: ContinuousClock.Instant = .now) {
        buckets.withLock { buckets in
            for (key, var bucket) in buckets where bucket.isFull(now: now) { buckets[key] = nil }
        }
    }
}
