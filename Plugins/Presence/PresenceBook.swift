import Foundation

/// Who is online, from the host's socket events, and what each has chosen.
///
/// Online while any socket is open; `away` after the idle period without a
/// client frame, or `away`/`dnd` when the user says so; `offline` once the last
/// socket has been closed for the grace period.
actor PresenceBook {
    struct Entry: Sendable {
        var connections = 0
        /// `away` or `dnd` as chosen; `nil` is plain online.
        var choice: String?
        var status = "offline"
        var lastSeen: Date?
        /// No client frame for the idle period: shown `away` unless a status was chosen.
        var idle = false
        var lastActive = Date()
        /// When the grace period after the last socket closed ends; `nil` while connected.
        var offlineAt: Date?
    }

    private var entries: [String: Entry] = [:]

    private static func status(of entry: Entry) -> String {
        entry.connections > 0 ? (entry.choice ?? (entry.idle ? "away" : "online")) : entry.status
    }

    /// A socket opened; returns the new status when it changed.
    func connected(_ user: String, connections: Int) -> String? {
        var entry = entries[user] ?? Entry()
        let before = entry.status
        entry.connections = max(connections, 1)
        entry.offlineAt = nil
        entry.idle = false
        entry.lastActive = Date()
        entry.lastSeen = Date()
        entry.status = Self.status(of: entry)
        entries[user] = entry
        return entry.status == before ? nil : entry.status
    }

    /// A socket closed; when it was the last, the user goes offline after `grace` unless one comes back.
    func disconnected(_ user: String, remaining: Int, grace: TimeInterval, now: Date = Date()) {
        guard var entry = entries[user] else { return }
        entry.connections = remaining
        entry.lastSeen = now
        if remaining == 0 { entry.offlineAt = now.addingTimeInterval(grace) }
        entries[user] = entry
    }

    /// Users whose grace period has ended: now offline.
    func expire(now: Date = Date()) -> [String] {
        var expired: [String] = []
        for (user, var entry) in entries {
            guard let offlineAt = entry.offlineAt, offlineAt <= now, entry.connections == 0 else { continue }
            entry.offlineAt = nil
            guard entry.status != "offline" else {
                entries[user] = entry
                continue
            }
            entry.status = "offline"
            entry.choice = nil
            entries[user] = entry
            expired.append(user)
        }
        return expired
    }

    /// A client frame arrived; returns the new status when an idle user came back.
    func active(_ user: String) -> String? {
        guard var entry = entries[user], entry.connections > 0 else { return nil }
        let before = entry.status
        entry.lastActive = Date()
        entry.idle = false
        entry.status = Self.status(of: entry)
        entries[user] = entry
        return entry.status == before ? nil : entry.status
    }

    /// Users connected but silent for `idleAfter` become away; returns who changed.
    func sweep(idleAfter: TimeInterval, now: Date = Date()) -> [(user: String, status: String)] {
        var changed: [(String, String)] = []
        for (user, var entry) in entries where entry.connections > 0 && !entry.idle && now.timeIntervalSince(entry.lastActive) >= idleAfter {
            let before = entry.status
            entry.idle = true
            entry.status = Self.status(of: entry)
            entries[user] = entry
            if entry.status != before { changed.append((user, entry.status)) }
        }
        return changed
    }

    /// The user chose a status; returns it when it changed.
    func choose(_ user: String, status: String) -> String? {
        guard var entry = entries[user], entry.connections > 0 else { return nil }
        let before = entry.status
        entry.choice = status == "online" ? nil : status
        entry.status = Self.status(of: entry)
        entry.lastSeen = Date()
        entries[user] = entry
        return entry.status == before ? nil : entry.status
    }

    /// The status and whether a socket is open now.
    func state(_ user: String) -> (status: String, connected: Bool) {
        guard let entry = entries[user] else { return ("offline", false) }
        return (entry.status, entry.connections > 0)
    }

    func lookup(_ user: String) -> (status: String, lastSeen: Date?) {
        guard let entry = entries[user] else { return ("offline", nil) }
        return (entry.status, entry.connections > 0 ? Date() : entry.lastSeen)
    }
}
