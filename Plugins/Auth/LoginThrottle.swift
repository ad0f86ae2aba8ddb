import Foundation

/// Failed sign-ins, counted so that an attacker is slowed without locking the
/// victim out:
/// - per (account, address) pair: past `perPair` failures that address may not try that account;
/// - per address: past `perAddress` failures it may not try any account;
/// - per account, from any address: past `backoffAfter` failures each further try waits
///   1 s, 2 s, 4 s … (at most `maximumBackoff`) after the latest failure, so a distributed
///   guesser gets a few tries a minute while the owner, at a clean address, still signs in.
///
/// Accounts are keyed by ``EmailAddress/folded(_:)`` whether or not an account has the
/// email, so a throttled answer says nothing about which emails exist.
actor LoginThrottle {
    struct Limits: Sendable {
        /// Failures of one address on one account within the window. Default 5.
        var perPair = 5
        /// Failures per address within the window. Default 20.
        var perAddress = 20
        /// Failures on one account, from anywhere, before the backoff starts. Default 10.
        var backoffAfter = 10
        /// The longest backoff, in seconds. Default 60.
        var maximumBackoff = 60
        /// The window, in seconds. Default 900 (15 minutes).
        var window: TimeInterval = 900
    }

    private let limits: Limits
    private let failures: AttemptCounter

    init(limits: Limits) {
        self.limits = limits
        failures = AttemptCounter(window: limits.window)
    }

    private static func pair(_ account: String, _ address: String) -> String { "p:" + address + "|" + account }

    /// Seconds until `address` may try `account`, or `nil` when it may now.
    func retryAfter(account: String, address: String, now: Date = Date()) async -> Int? {
        var waits = [
            await failures.wait(Self.pair(account, address), limit: limits.perPair, now: now),
            await failures.wait("i:" + address, limit: limits.perAddress, now: now),
        ]
        let onAccount = await failures.recent("a:" + account, now: now)
        if onAccount.count >= limits.backoffAfter, let latest = onAccount.last {
            let backoff = min(Double(limits.maximumBackoff), pow(2, Double(onAccount.count - limits.backoffAfter)))
            let left = backoff - now.timeIntervalSince(latest)
            if left > 0 { waits.append(max(1, Int(left.rounded(.up)))) }
        }
        return waits.compactMap { $0 }.max()
    }

    func recordFailure(account: String, address: String, now: Date = Date()) async {
        for key in [Self.pair(account, address), "i:" + address, "a:" + account] {
            await failures.record(key, now: now)
        }
    }

    /// A successful sign-in clears its pair's count (not the address's, nor the account's backoff).
    func recordSuccess(account: String, address: String) async {
        await failures.clear(Self.pair(account, address))
    }
}
