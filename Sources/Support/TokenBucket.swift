import QuikSDK

/// A token bucket: `rate` tokens a second, holding at most `capacity`.
package struct TokenBucket: Sendable {
    package let rate: Double
    package let capacity: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    package init(rate: Double, capacity: Double, now: ContinuousClock.Instant) {
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now
    }

    /// A full bucket for `limit`: its average rate, holding its burst.
    package init(_ limit: RateLimit, now: ContinuousClock.Instant) {
        self.init(rate: Double(limit.requests) / limit.perSeconds, capacity: Double(limit.burst), now: now)
    }

    /// Takes a token if there is one; otherwise returns how long until there will be.
    package mutating func take(now: ContinuousClock.Instant) -> Duration? {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return .milliseconds(Int64(((1 - tokens) / rate * 1000).rounded(.up)))
    }

    /// Whether it has filled up again, so that forgetting it changes nothing.
    package mutating func isFull(now: ContinuousClock.Instant) -> Bool {
        refill(now: now)
        return tokens >= capacity
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(capacity, tokens + max(0, seconds) * rate)
        updated = now
    }
}
