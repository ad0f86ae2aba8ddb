import Foundation
import QuikSDK

/// A file as the contract shows it, on its own and in a message's `files`.
public struct FileSummary: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var mime: String
    public var size: Int64
    public var sha256: String
    public var width: Int?
    public var height: Int?
    public var hasThumbnail: Bool
    public var uploaderId: String
    public var workspaceId: String
    public var createdAt: Date

    public init(
        id: String, name: String, mime: String, size: Int64, sha256: String, width: Int?, height: Int?, hasThumbnail: Bool, uploaderId: String,
        workspaceId: String, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.mime = mime
        self.size = size
        self.sha256 = sha256
        self.width = width
        self.height = height
        self.hasThumbnail = hasThumbnail
        self.uploaderId = uploaderId
        self.workspaceId = workspaceId
        self.createdAt = createdAt
    }

    /// `width`, `height` always present, `null` when unknown.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(mime, forKey: .mime)
        try container.encode(size, forKey: .size)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(hasThumbnail, forKey: .hasThumbnail)
        try container.encode(uploaderId, forKey: .uploaderId)
        try container.encode(workspaceId, forKey: .workspaceId)
        try container.encode(createdAt, forKey: .createdAt)
    }

    public static let schema = APISchema.object(
        [
            "id": .string, "name": .string, "mime": .string, "size": .integer(minimum: 0),
            "sha256": .string(pattern: "^[0-9a-f]{64}$"), "width": APISchema.integer.orNull, "height": APISchema.integer.orNull,
            "has_thumbnail": .boolean, "uploader_id": .string, "workspace_id": .string, "created_at": .dateTime,
        ],
        required: ["id", "name", "mime", "size", "sha256", "width", "height", "has_thumbnail", "uploader_id", "workspace_id", "created_at"])
}

/// `files.attachable`: the files a user may attach to a message in a workspace, in the order
/// given; `validation_failed` naming `file_ids` when one is not theirs to attach.
public struct AttachableQuery: Codable, Sendable {
    public var userId: String
    public var workspaceId: String
    public var fileIds: [String]

    public init(userId: String, workspaceId: String, fileIds: [String]) {
        self.userId = userId
        self.workspaceId = workspaceId
        self.fileIds = fileIds
    }
}

/// The reply of `files.attachable`.
public struct AttachableReply: Codable, Sendable {
    public var files: [FileSummary]

    public init(files: [FileSummary]) {
        self.files = files
    }
}

/// `files.attached` (after the message is stored) and the payload the files plugin reads
/// from `message.created`: these files are now in this message of this channel.
public struct AttachedFiles: Codable, Sendable {
    public var messageId: String
    public var channelId: String
    public var fileIds: [String]

    public init(messageId: String, channelId: String, fileIds: [String]) {
        self.messageId = messageId
        self.channelId = channelId
        self.fileIds = fileIds
    }
}

/// `files.find`: files of a workspace a user may read (theirs, or in a message of one of
/// `readableChannelIds`) whose name holds every one of `words` and none of `excluded`, newest first.
public struct FileSearchQuery: Codable, Sendable {
    public var workspaceId: String
    public var userId: String
    public var readableChannelIds: [String]
    public var words: [String]
    public var excluded: [String]
    /// Only files uploaded by one of these, when not `nil`.
    public var uploaderIds: [String]?
    /// Only files in messages of one of these channels, when not `nil`.
    public var channelIds: [String]?
    public var createdFrom: Date?
    public var createdBefore: Date?
    public var limit: Int
    public var cursor: String?

    public init(
        workspaceId: String, userId: String, readableChannelIds: [String], words: [String], excluded: [String], uploaderIds: [String]?,
        channelIds: [String]?, createdFrom: Date?, createdBefore: Date?, limit: Int, cursor: String?
    ) {
        self.workspaceId = workspaceId
        self.userId = userId
        self.readableChannelIds = readableChannelIds
        self.words = words
        self.excluded = excluded
        self.uploaderIds = uploaderIds
        self.channelIds = channelIds
        self.createdFrom = createdFrom
        self.createdBefore = createdBefore
        self.limit = limit
        self.cursor = cursor
    }
}

/// The reply of `files.find`.
public struct FileSearchReply: Codable, Sendable {
    public var files: [FileSummary]
    public var nextCursor: String?

    public init(files: [FileSummary], nextCursor: String?) {
        self.files = files
        self.nextCursor = nextCursor
    }
}
