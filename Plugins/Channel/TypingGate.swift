import Foundation
import Synchronization

/// At most one `typing` event per user and channel every ``interval``, as the
/// contract says; what a client sends in between is dropped. Each host keeps its
/// own: a user typing through sockets on two hosts may be told twice.
final class TypingGate: Sendable {
    static let interval: TimeInterval = 3
    static let limit = 100_000

    private let lastSent = Mutex<[String: Date]>([:])

    private static func key(_ user: String, _ channel: String) -> String { user + "|" + channel }

    /// Whether a `typing` from `user` in `channel` may go out now; if so, the interval starts.
    func pass(user: String, channel: String, now: Date = Date()) -> Bool {
        lastSent.withLock { entries in
            let key = Self.key(user, channel)
            if let last = entries[key], now.timeIntervalSince(last) < Self.interval { return false }
            if entries.count >= Self.limit {
                entries = entries.filter { now.timeIntervalSince($0.value) < Self.interval }
            }
            entries[key] = now
            return true
        }
    }

    /// Forgets a pass that did not go out (the user may not type there).
    func forget(user: String, channel: String) {
        _ = lastSent.withLock { $0.removeValue(forKey: Self.key(user, channel)) }
    }
}
