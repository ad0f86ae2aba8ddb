import Foundation
import QuikSDK

/// `message.thread`: a thread's root and replies, if the user may see its channel.
public struct ThreadQuery: Codable, Sendable {
    public var rootId: String
    public var userId: String

    public init(rootId: String, userId: String) {
        self.rootId = rootId
        self.userId = userId
    }
}

/// `message.post`: posts as `userId` by the ordinary path (the same checks, mentions, hooks,
/// files and `message.created` as `POST /messages`). Refusals come back as ``PluginError``
/// with the codes `POST /messages` answers: 403 not a member, 404 no such channel (or thread
/// root), 409 archived, 422 bad text, client_msg_id, files or poll.
public struct PostAsUser: Codable, Sendable {
    public var userId: String
    public var channelId: String
    public var text: String
    public var threadRootId: String?
    /// A repeat with the same id (per author) returns the first message, `created: false`.
    public var clientMsgId: String?
    public var fileIds: [String]?
    /// The poll's public JSON object (see API.md Polls), stored with the message; `nil` for none.
    @OptionalJSONDocument public var poll: Data?

    public init(
        userId: String, channelId: String, text: String, threadRootId: String? = nil, clientMsgId: String? = nil, fileIds: [String]? = nil,
        poll: Data? = nil
    ) {
        self.userId = userId
        self.channelId = channelId
        self.text = text
        self.threadRootId = threadRootId
        self.clientMsgId = clientMsgId
        self.fileIds = fileIds
        self.poll = poll
    }
}

/// The reply of `message.post`.
public struct PostedMessage: Codable, Sendable {
    /// The message JSON exactly as the REST API returns it.
    @JSONDocument public var message: Data
    /// `false` when `clientMsgId` repeated an earlier post, which `message` then is.
    public var created: Bool

    public init(message: Data, created: Bool) {
        self.message = message
        self.created = created
    }
}

/// `message.visible`: which of `messageIds` `userId` may read now (not deleted, channel
/// readable by them). At most 1,000 ids a call (more is `validation_failed`).
public struct VisibleMessagesQuery: Codable, Sendable {
    public var messageIds: [String]
    public var userId: String

    public init(messageIds: [String], userId: String) {
        self.messageIds = messageIds
        self.userId = userId
    }
}

/// One readable message of a ``VisibleMessages`` reply.
public struct VisibleMessage: Codable, Sendable {
    public var messageId: String
    public var channelId: String
    public var workspaceId: String
    /// The message JSON exactly as the REST API returns it.
    @JSONDocument public var message: Data

    public init(messageId: String, channelId: String, workspaceId: String, message: Data) {
        self.messageId = messageId
        self.channelId = channelId
        self.workspaceId = workspaceId
        self.message = message
    }
}

/// The reply of `message.visible`: the readable messages in request order; unknown,
/// deleted and unreadable ones (and repeats) are left out.
public struct VisibleMessages: Codable, Sendable {
    public var messages: [VisibleMessage]

    public init(messages: [VisibleMessage]) {
        self.messages = messages
    }
}

/// `message.set_poll`: replaces a message's poll JSON and publishes `message.updated`
/// (durably, in the transaction). Idempotent: a poll equal to the stored one changes
/// nothing and publishes nothing. The reply is ``PostedMessage`` with `created: false`:
/// the message as it now is. 404 for an unknown or deleted message.
public struct SetPoll: Codable, Sendable {
    public var messageId: String
    /// The poll's public JSON object.
    @JSONDocument public var poll: Data

    public init(messageId: String, poll: Data) {
        self.messageId = messageId
        self.poll = poll
    }
}

/// The OpenAPI shapes of a message's JSON, for plugins that answer with messages they got from
/// the message plugin (bookmarks, polls). The message plugin's own `Message.schema` is the full one.
public enum MessageSchemas {
    /// `{question, options: [{id, text, votes, user_ids}], multiple, anonymous, closed}`.
    public static let poll: APISchema = {
        let option = APISchema.object(
            ["id": .string, "text": .string, "votes": .integer(minimum: 0), "user_ids": APISchema.array(.string).described("[] when anonymous")],
            required: ["id", "text", "votes", "user_ids"])
        return .object(
            ["question": .string, "options": .array(option), "multiple": .boolean, "anonymous": .boolean, "closed": .boolean],
            required: ["question", "options", "multiple", "anonymous", "closed"])
    }()

    /// A message: every key present, `null` where there is no value.
    public static let message: APISchema = {
        let reaction = APISchema.object(
            ["emoji": .string, "count": .integer, "user_ids": .array(.string)], required: ["emoji", "count", "user_ids"])
        let fields: [String: APISchema] = [
            "id": .string, "channel_id": .string, "author_id": .string, "text": .string, "thread_root_id": APISchema.string.orNull,
            "reply_count": .integer(minimum: 0), "last_reply_at": APISchema.dateTime.orNull, "reactions": .array(reaction),
            "mentions": .array(.string), "files": .array(FileSummary.schema), "previews": .array(.anyValue), "pinned": .boolean,
            "edited_at": APISchema.dateTime.orNull, "created_at": .dateTime, "poll": poll.orNull.described("The poll the message carries, or null"),
        ]
        return .object(fields, required: Array(fields.keys))
    }()
}

/// `thread.followers`: who follows a thread.
public struct FollowersQuery: Codable, Sendable {
    public var rootId: String

    public init(rootId: String) {
        self.rootId = rootId
    }
}

/// The reply of `thread.followers`.
public struct Followers: Codable, Sendable {
    /// Those following now.
    public var userIds: [String]
    /// Those who chose to stop (a root's author follows unless among them).
    public var unfollowedIds: [String]

    public init(userIds: [String], unfollowedIds: [String]) {
        self.userIds = userIds
        self.unfollowedIds = unfollowedIds
    }
}
