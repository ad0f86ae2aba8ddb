/// `channel.access`: what a user may do in a channel.
public struct ChannelAccessQuery: Codable, Sendable {
    public var channelId: String
    public var userId: String

    public init(channelId: String, userId: String) {
        self.channelId = channelId
        self.userId = userId
    }
}

/// The reply of `channel.access`.
public struct ChannelAccessReply: Codable, Sendable {
    /// Whether the user may see the channel at all (else it is 404 to them).
    public var visible: Bool
    public var member: Bool
    public var archived: Bool
    public var workspaceId: String?
    public var kind: String?

    public init(visible: Bool, member: Bool, archived: Bool, workspaceId: String?, kind: String?) {
        self.visible = visible
        self.member = member
        self.archived = archived
        self.workspaceId = workspaceId
        self.kind = kind
    }
}

/// The payload of `channel.member_joined` and `channel.member_left`.
public struct ChannelMemberChange: Codable, Sendable {
    public var channelId: String
    public var workspaceId: String
    public var userId: String
    public var actor: String?

    public init(channelId: String, workspaceId: String, userId: String, actor: String?) {
        self.channelId = channelId
        self.workspaceId = workspaceId
        self.userId = userId
        self.actor = actor
    }
}
