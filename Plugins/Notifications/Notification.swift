import Foundation
import QuikSDK

/// A notification as the API shows it.
struct Notification: Codable, Sendable {
    var id: String
    var type: String
    var workspaceId: String?
    var channelId: String?
    var messageId: String?
    var reminderId: String?
    var callId: String?
    var actorId: String?
    var text: String
    var read: Bool
    var createdAt: Date

    static let types = ["mention", "dm", "thread_reply", "reminder", "call_missed", "warning"]
    static let columns = "id, user_id, type, workspace_id, channel_id, message_id, reminder_id, call_id, actor_id, text, is_read, created_at"
    /// The most of a message's (or reminder's) text a notification keeps.
    static let textLimit = 200

    init(
        id: String, type: String, workspaceId: String?, channelId: String?, messageId: String?, reminderId: String? = nil, callId: String? = nil,
        actorId: String?, text: String, read: Bool = false, createdAt: Date
    ) {
        self.id = id
        self.type = type
        self.workspaceId = workspaceId
        self.channelId = channelId
        self.messageId = messageId
        self.reminderId = reminderId
        self.callId = callId
        self.actorId = actorId
        self.text = String(text.prefix(Self.textLimit))
        self.read = read
        self.createdAt = createdAt
    }

    init(row: SQLRow) {
        self.init(
            id: row["id"].string ?? "", type: row["type"].string ?? "", workspaceId: row["workspace_id"].string, channelId: row["channel_id"].string,
            messageId: row["message_id"].string, reminderId: row["reminder_id"].string, callId: row["call_id"].string,
            actorId: row["actor_id"].string, text: row["text"].string ?? "", read: row["is_read"].int == 1,
            createdAt: row["created_at"].date ?? Date())
    }

    /// Every key, `null`s included.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(workspaceId, forKey: .workspaceId)
        try container.encode(channelId, forKey: .channelId)
        try container.encode(messageId, forKey: .messageId)
        try container.encode(reminderId, forKey: .reminderId)
        try container.encode(callId, forKey: .callId)
        try container.encode(actorId, forKey: .actorId)
        try container.encode(text, forKey: .text)
        try container.encode(read, forKey: .read)
        try container.encode(createdAt, forKey: .createdAt)
    }

    static let schema: APISchema = {
        let nullable: [String: APISchema] = [
            "workspace_id": APISchema.string.orNull, "channel_id": APISchema.string.orNull, "message_id": APISchema.string.orNull,
            "reminder_id": APISchema.string.orNull, "call_id": APISchema.string.orNull, "actor_id": APISchema.string.orNull,
        ]
        let fields = nullable.merging([
            "id": .string, "type": .string(values: types), "text": .string, "read": .boolean, "created_at": .dateTime,
        ]) { $1 }
        return APISchema.object(fields, required: Array(fields.keys))
    }()
}
