import Foundation
import QuikSDK

/// A scheduled message as the API shows it.
struct ScheduledMessage: Codable, Sendable {
    struct Failure: Codable, Sendable {
        var code: String
        var message: String
    }

    var id: String
    var channelId: String
    var threadRootId: String?
    var text: String
    var fileIds: [String]
    var postAt: Date
    /// `pending`, `sent` or `failed` (`sending` shows as `pending`).
    var state: String
    var messageId: String?
    var error: Failure?
    var createdAt: Date

    static let columns = "id, user_id, channel_id, thread_root_id, text, file_ids, post_at, state, message_id, error_code, error_message, created_at"

    init(row: SQLRow) {
        id = row["id"].string ?? ""
        channelId = row["channel_id"].string ?? ""
        threadRootId = row["thread_root_id"].string
        text = row["text"].string ?? ""
        fileIds = (row["file_ids"].string).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        postAt = row["post_at"].date ?? Date()
        let stored = row["state"].string ?? "pending"
        state = stored == "sending" ? "pending" : stored
        messageId = row["message_id"].string
        error = row["error_code"].string.map { Failure(code: $0, message: row["error_message"].string ?? "") }
        createdAt = row["created_at"].date ?? Date()
    }

    /// Every key, `null`s included.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(channelId, forKey: .channelId)
        try container.encode(threadRootId, forKey: .threadRootId)
        try container.encode(text, forKey: .text)
        try container.encode(fileIds, forKey: .fileIds)
        try container.encode(postAt, forKey: .postAt)
        try container.encode(state, forKey: .state)
        try container.encode(messageId, forKey: .messageId)
        try container.encode(error, forKey: .error)
        try container.encode(createdAt, forKey: .createdAt)
    }

    static let schema: APISchema = {
        let failure = APISchema.object(["code": .string, "message": .string], required: ["code", "message"])
        return APISchema.object(
            [
                "id": .string, "channel_id": .string, "thread_root_id": APISchema.string.orNull, "text": .string,
                "file_ids": .array(.string), "post_at": .dateTime, "state": .string(values: ["pending", "sent", "failed"]),
                "message_id": APISchema.string.orNull, "error": failure.orNull,
                "created_at": .dateTime,
            ],
            required: ["id", "channel_id", "thread_root_id", "text", "file_ids", "post_at", "state", "message_id", "error", "created_at"])
    }()
}

/// `POST /scheduled`.
struct NewScheduled: Decodable {
    var channelId: String?
    var text: String?
    var postAt: String?
    var threadRootId: String?
    var fileIds: [String]?

    static let schema = APISchema.object(
        [
            "channel_id": .string, "text": .string(minLength: 1, maxLength: ScheduledStore.maximumText), "post_at": .dateTime,
            "thread_root_id": .string, "file_ids": .array(.string, maxItems: 10),
        ], required: ["channel_id", "text", "post_at"])
}

/// `PATCH /scheduled/{id}`.
struct ScheduledPatch: Decodable {
    var text: String?
    var postAt: String?

    static let schema = APISchema.object(["text": .string(minLength: 1, maxLength: ScheduledStore.maximumText), "post_at": .dateTime])
}

/// The job that posts a scheduled message.
struct SendScheduled: Codable {
    var id: String
}
