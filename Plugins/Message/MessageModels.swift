import Foundation
import QuikContracts
import QuikPluginKit
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
    /// The attached files, in the order given; `[]` when none.
    var files: [FileSummary] = []
    /// Previews of the first links in the text, once read; `[]` until then.
    var previews: [LinkPreview] = []
    var pinned: Bool
    var editedAt: Date?
    var createdAt: Date
    /// The poll the message carries (the polls plugin keeps its votes), or `nil`.
    var poll: Poll? = nil

    static let columns =
        "id, channel_id, author_id, text, thread_root_id, reply_count, last_reply_at, pinned, edited_at, created_at, previews_json, poll_json"

    init(row: SQLRow, reactions: [Reaction], mentions: [String], files: [FileSummary] = []) {
        self.files = files
        poll = row["poll_json"].string.flatMap { try? JSONDecoder.quik.decode(Poll.self, from: Data($0.utf8)) }
        previews = row["previews_json"].string.flatMap { try? JSONDecoder.quik.decode([LinkPreview].self, from: Data($0.utf8)) } ?? []
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
    init(
        id: String, channelId: String, authorId: String, text: String, threadRootId: String?, createdAt: Date, mentions: [String],
        files: [FileSummary] = [], poll: Poll? = nil
    ) {
        self.files = files
        self.poll = poll
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
        case id, channelId, authorId, text, threadRootId, replyCount, lastReplyAt, reactions, mentions, files, previews, pinned, editedAt, createdAt
        case poll
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
        try container.encode(files, forKey: .files)
        try container.encode(previews, forKey: .previews)
        try container.encode(pinned, forKey: .pinned)
        try container.encode(editedAt, forKey: .editedAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(poll, forKey: .poll)
    }

    /// What `encode(to:)` writes: every key, `null` where there is no value (the synthesized decoding would call them optional).
    static let schema: APISchema = {
        let properties: [String: APISchema] = [
            "id": .string, "channel_id": .string, "author_id": .string, "text": .string,
            "thread_root_id": APISchema.string.orNull.described("The thread's root, for a reply"), "reply_count": .integer(minimum: 0),
            "last_reply_at": APISchema.dateTime.orNull, "reactions": .array(.decoding(Reaction.self)), "mentions": .array(.string),
            "files": .array(FileSummary.schema), "previews": .array(LinkPreview.schema), "pinned": .boolean, "edited_at": APISchema.dateTime.orNull, "created_at": .dateTime,
            "poll": Poll.schema.orNull.described("The poll the message carries (plugin polls), or null"),
        ]
        return .object(properties, required: Array(properties.keys))
    }()
}

/// A message's poll as clients see it: `{question, options: [{id, text, votes, user_ids}], multiple, anonymous, closed}`.
/// The polls plugin computes it from its votes and hands it over whole (`message.post`, `message.set_poll`).
struct Poll: Codable, Sendable, Equatable {
    struct Option: Codable, Sendable, Equatable {
        var id: String
        var text: String
        var votes: Int
        /// Who voted for it, in the order they did; `[]` when the poll is anonymous.
        var userIds: [String]
    }

    var question: String
    var options: [Option]
    var multiple: Bool
    var anonymous: Bool
    var closed: Bool

    static let schema = MessageSchemas.poll

    /// The poll in `data`, or `validation_failed` naming `poll`.
    static func decoded(_ data: Data) throws -> Poll {
        guard let poll = try? JSONDecoder.quik.decode(Poll.self, from: data) else {
            throw PluginError(.validationFailed, "poll is not a poll object", details: ["poll": "malformed"])
        }
        return poll
    }

    /// The text stored in `poll_json`.
    func stored() throws -> String { String(decoding: try JSONEncoder.quik.encode(self), as: UTF8.self) }
}

/// `{message_id, channel_id, emoji, user_id}` for `reaction.*` events.
struct ReactionEvent: Codable, Sendable {
    var messageId: String
    var channelId: String
    var emoji: String
    var userId: String
}

/// The payload of `file.deleted`.
struct DeletedFile: Codable, Sendable {
    var fileId: String
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
    var fileIds: [String]?

    static let schema = APISchema.object(
        [
            "channel_id": Schemas.id, "text": Schemas.text,
            "thread_root_id": Schemas.id.described("A message of the same channel that is not itself a reply"),
            "client_msg_id": APISchema.string(maxLength: 64, pattern: Checks.textPattern).described("Posting it again returns the first message, with 200"),
            "file_ids": APISchema.array(Schemas.id, maxItems: 10).described("Up to 10 files the caller may read in the workspace; text may then be empty"),
        ], required: ["channel_id", "text"])
}

struct EditBody: Decodable {
    var text: String?

    static let schema = APISchema.object(["text": Schemas.text], required: ["text"])
}

struct EmojiBody: Decodable {
    var emoji: String?

    static let schema = APISchema.object(["emoji": ReactionName.schema], required: ["emoji"])
}

/// Schemas for the OpenAPI document that the handlers' own types cannot give.
enum Schemas {
    /// An id as `IDs.isPlausible` accepts it.
    static let id = APISchema.string(pattern: "^[A-Za-z0-9_-]{1,64}$")

    /// Message text as `MessageStore.checkText` accepts it: not only white space (`\s`, or U+0085, which Foundation
    /// also trims; the character itself, as not every validator reads `\u` escapes), at most 40 000 characters.
    static let text = APISchema.string(minLength: 1, maxLength: MessageStore.maximumText, pattern: Checks.notBlankPattern)

    /// `limit` and `cursor`, as `Page` reads them.
    static func page(defaultLimit: Int = 50) -> [APIParameter] {
        [
            .query("limit", .integer(minimum: 1, maximum: 200), "Items per page, \(defaultLimit) by default"),
            .query("cursor", .string, "The next_cursor of the page before"),
        ]
    }
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
