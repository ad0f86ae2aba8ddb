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

/// `channel.readable`: the channels of a workspace a user may read now (public ones
/// unless a guest, and the private and direct ones they belong to), archived included.
public struct ReadableChannelsQuery: Codable, Sendable {
    public var workspaceId: String
    public var userId: String

    public init(workspaceId: String, userId: String) {
        self.workspaceId = workspaceId
        self.userId = userId
    }
}

/// One channel of `channel.readable`.
public struct ReadableChannel: Codable, Sendable {
    public var id: String
    public var name: String
    public var kind: String
    public var topic: String
    public var archived: Bool
    public var memberCount: Int

    public init(id: String, name: String, kind: String, topic: String, archived: Bool, memberCount: Int) {
        self.id = id
        self.name = name
        self.kind = kind
        self.topic = topic
        self.archived = archived
        self.memberCount = memberCount
    }
}

/// The reply of `channel.readable`; `workspaceRole` `nil` when the user is not in the workspace (and no channels).
public struct ReadableChannels: Codable, Sendable {
    public var workspaceRole: String?
    public var channels: [ReadableChannel]

    public init(workspaceRole: String?, channels: [ReadableChannel]) {
        self.workspaceRole = workspaceRole
        self.channels = channels
    }
}

/// `channel.members`: a channel's kind, workspace and members (for notification routing).
public struct ChannelMembersQuery: Codable, Sendable {
    public var channelId: String

    public init(channelId: String) {
        self.channelId = channelId
    }
}

/// The reply of `channel.members`; `nil` fields and no members for an unknown channel.
public struct ChannelMembers: Codable, Sendable {
    public var workspaceId: String?
    public var kind: String?
    public var name: String?
    public var memberIds: [String]

    public init(workspaceId: String?, kind: String?, name: String?, memberIds: [String]) {
        self.workspaceId = workspaceId
        self.kind = kind
        self.name = name
        self.memberIds = memberIds
    }
}

/// The payload of `channel.read`: a member's read mark moved up to `messageId`.
public struct ChannelRead: Codable, Sendable {
    public var channelId: String
    public var workspaceId: String
    public var userId: String
    public var messageId: String

    public init(channelId: String, workspaceId: String, userId: String, messageId: String) {
        self.channelId = channelId
        self.workspaceId = workspaceId
        self.userId = userId
        self.messageId = messageId
    }
}
