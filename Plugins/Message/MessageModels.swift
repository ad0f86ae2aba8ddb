import Foundation
import QuikSDK

/// A message as the REST API returns it and as `message.*` events carry it.
struct Message: Codable, Sendable {
    struct Reaction: Codable, Sendable {
        var emoji: String
        var count: Int
        var userIds: [String]
    }

    var id: String
    var channelId: String
    var authorId: String
    var text: String
    var threadRootId: String?
    var replyCount: Int
    var lastReplyAt: Date?
    var reactions: [Reaction]
    var mentions: [String]
    var pinned: Bool
    var editedAt: Date?
    var createdAt: Date

    static let columns = "id, channel_id, author_id, text, thread_root_id, reply_count, last_reply_at, pinned, edited_at, created_at"

    init(row: SQLRow, reactions: [Reaction], mentions: [String]) {
        id = row["id"].string ?? ""
        channelId = row["channel_id"].string ?? ""
        authorId = row["author_id"].string ?? ""
        text = row["text"].string ?? ""
        threadRootId = row["thread_root_id"].string
        replyCount = Int(row["reply_count"].int ?? 0)
        lastReplyAt = row["last_reply_at"].date
        self.reactions = reactions
        self.mentions = mentions
        pinned = (row["pinned"].int ?? 0) != 0
        editedAt = row["edited_at"].date
        createdAt = row["created_at"].date ?? Date(timeIntervalSince1970: 0)
    }

    /// A message just posted: no replies, reactions, pin or edit yet.
    init(id: String, channelId: String, authorId: String, text: String, threadRootId: String?, createdAt: Date, mentions: [String]) {
        self.id = id
        self.channelId = channelId
        self.authorId = authorId
        self.text = text
        self.threadRootId = threadRootId
        replyCount = 0
        lastReplyAt = nil
        reactions = []
        self.mentions = mentions
        pinned = false
        editedAt = nil
        self.createdAt = createdAt
    }

    private enum CodingKeys: String, CodingKey {
        case id, channelId, authorId, text, threadRootId, replyCount, lastReplyAt, reactions, mentions, pinned, editedAt, createdAt
    }

    /// Writes every field, `null`s included, so clients see one fixed shape.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(channelId, forKey: .channelId)
        try container.encode(authorId, forKey: .authorId)
        try container.encode(text, forKey: .text)
        try container.encode(threadRootId, forKey: .threadRootId)
        try container.encode(replyCount, forKey: .replyCount)
        try container.encode(lastReplyAt, forKey: .lastReplyAt)
        try container.encode(reactions, forKey: .reactions)
        try container.encode(mentions, forKey: .mentions)
        try container.encode(pinned, forKey: .pinned)
        try container.encode(editedAt, forKey: .editedAt)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// `{message_id, channel_id, emoji, user_id}` for `reaction.*` events.
struct ReactionEvent: Codable, Sendable {
    var messageId: String
    var channelId: String
    var emoji: String
    var userId: String
}

/// What the `message.will_post` hook sees and may rewrite.
struct WillPost: Codable, Sendable {
    var channelId: String
    var authorId: String
    var text: String
    var threadRootId: String?
}

struct PostBody: Decodable {
    var channelId: String?
    var text: String?
    var threadRootId: String?
    var clientMsgId: String?
}

struct EditBody: Decodable {
    var text: String?
}

struct EmojiBody: Decodable {
    var emoji: String?
}

struct ThreadReply: Codable, Sendable {
    var root: Message
    var replies: [Message]
}

/// `channel.member_*` events, as far as the access cache needs them.
struct ChannelMemberEvent: Decodable {
    var channelId: String
    var userId: String?
}
