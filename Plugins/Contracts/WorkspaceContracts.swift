/// `workspace.membership`: a user's role in a workspace.
public struct MembershipQuery: Codable, Sendable {
    public var workspaceId: String
    public var userId: String

    public init(workspaceId: String, userId: String) {
        self.workspaceId = workspaceId
        self.userId = userId
    }
}

/// The reply of `workspace.membership`: `nil` for a non-member.
public struct MembershipReply: Codable, Sendable {
    public var role: String?

    public init(role: String?) {
        self.role = role
    }
}

/// `workspace.peers`: everyone who shares a workspace with a user.
public struct PeersQuery: Codable, Sendable {
    public var userId: String

    public init(userId: String) {
        self.userId = userId
    }
}

/// The reply of `workspace.peers`.
public struct PeersReply: Codable, Sendable {
    public var userIds: [String]

    public init(userIds: [String]) {
        self.userIds = userIds
    }
}

/// `workspace.shares`: whether two users have a workspace in common.
public struct SharedWorkspaceQuery: Codable, Sendable {
    public var userId: String
    public var otherId: String

    public init(userId: String, otherId: String) {
        self.userId = userId
        self.otherId = otherId
    }
}

/// The reply of `workspace.shares`.
public struct SharedWorkspaceReply: Codable, Sendable {
    public var shared: Bool

    public init(shared: Bool) {
        self.shared = shared
    }
}

/// The payload of `workspace.member_joined`, `workspace.member_updated` and `workspace.member_removed`.
public struct MembershipChange: Codable, Sendable {
    public var workspaceId: String
    public var userId: String
    public var role: String?
    public var actor: String?

    public init(workspaceId: String, userId: String, role: String?, actor: String?) {
        self.workspaceId = workspaceId
        self.userId = userId
        self.role = role
        self.actor = actor
    }
}
