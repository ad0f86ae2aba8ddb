import Foundation

/// Attempts per key in a sliding window. Counts live in memory: one node's
/// view, reset by a restart.
actor AttemptCounter {
    let window: TimeInterval
    private var attempts: [String: [Date]] = [:]

    init(window: TimeInterval) {
        self.window = window
    }

    /// The attempts of `key` still inside the window, oldest first.
    func recent(_ key: String, now: Date = Date()) -> [Date] {
        let recent = (attempts[key] ?? []).filter { now.timeIntervalSince($0) < window }
        attempts[key] = recent.isEmpty ? nil : recent
        return recent
    }

    /// Seconds until `key` is under `limit` again, or `nil` when it is now.
    func wait(_ key: String, limit: Int, now: Date = Date()) -> Int? {
        let recent = recent(key, now: now)
        guard recent.count >= limit, let oldest = recent.suffix(limit).first else { return nil }
        return max(1, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
    }

    func record(_ key: String, now: Date = Date()) {
        attempts[key, default: []].append(now)
        if attempts.count > 100_000 { prune(now: now) }
    }

    func clear(_ key: String) {
        attempts[key] = nil
    }

    private func prune(now: Date) {
        attempts = attempts.compactMapValues { dates in
            let recent = dates.filter { now.timeIntervalSince($0) < window }
            return recent.isEmpty ? nil : recent
        }
    }
}
