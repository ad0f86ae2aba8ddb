import Foundation

/// Failed sign-ins counted per account and per address in a sliding window.
///
/// Keys are the email as typed (lower-cased) whether or not an account has it,
/// so a locked answer says nothing about which emails exist. Counts live in
/// memory: one node's view, reset by a restart.
actor LoginThrottle {
    struct Limits: Sendable {
        /// Failures per account within the window before sign-in is refused. Default 5.
        var perAccount = 5
        /// Failures per address within the window. Default 20.
        var perAddress = 20
        /// The window, in seconds. Default 900 (15 minutes).
        var window: TimeInterval = 900
    }

    private let limits: Limits
    private var failures: [String: [Date]] = [:]

    init(limits: Limits) {
        self.limits = limits
    }

    /// Seconds until `account` or `address` may try again, or `nil` when they may now.
    func retryAfter(account: String, address: String, now: Date = Date()) -> Int? {
        let waits = [
            wait(for: "a:" + account, limit: limits.perAccount, now: now),
            wait(for: "i:" + address, limit: limits.perAddress, now: now),
        ].compactMap { $0 }
        return waits.max()
    }

    func recordFailure(account: String, address: String, now: Date = Date()) {
        for key in ["a:" + account, "i:" + address] {
            failures[key, default: []].append(now)
        }
        if failures.count > 100_000 { prune(now: now) }
    }

    /// A successful sign-in clears the account's count (not the address's).
    func recordSuccess(account: String) {
        failures["a:" + account] = nil
    }

    private func wait(for key: String, limit: Int, now: Date) -> Int? {
        let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < limits.window }
        failures[key] = recent.isEmpty ? nil : recent
        guard recent.count >= limit, let oldest = recent.suffix(limit).first else { return nil }
        return max(1, Int((limits.window - now.timeIntervalSince(oldest)).rounded(.up)))
    }

    private func prune(now: Date) {
        failures = failures.compactMapValues { dates in
            let recent = dates.filter { now.timeIntervalSince($0) < limits.window }
            return recent.isEmpty ? nil : recent
        }
    }
}
