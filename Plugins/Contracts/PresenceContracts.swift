/// `presence.statuses`: what people are doing now, for deciding whether to push.
public struct PresenceQuery: Codable, Sendable {
    public var userIds: [String]

    public init(userIds: [String]) {
        self.userIds = userIds
    }
}

/// One person of `presence.statuses`.
public struct PresenceState: Codable, Sendable {
    public var userId: String
    /// `online`, `away`, `dnd` or `offline`.
    public var status: String
    /// Whether a socket of theirs is open now (a user stays `online` for a grace period after the last closes).
    public var connected: Bool

    public init(userId: String, status: String, connected: Bool) {
        self.userId = userId
        self.status = status
        self.connected = connected
    }
}

/// The reply of `presence.statuses`.
public struct PresenceStates: Codable, Sendable {
    public var states: [PresenceState]

    public init(states: [PresenceState]) {
        self.states = states
    }
}
