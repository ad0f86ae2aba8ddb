import Foundation
import QuikPluginKit
import QuikSDK

/// A reminder as the API shows it.
struct Reminder: Codable, Sendable {
    var id: String
    var text: String?
    var messageId: String?
    var channelId: String?
    var time: Date
    /// `pending`, `fired` or `completed`.
    var state: String
    var createdAt: Date
    var completedAt: Date?

    static let columns = "id, user_id, text, message_id, channel_id, time, state, created_at, completed_at"

    init(row: SQLRow) {
        id = row["id"].string ?? ""
        text = row["text"].string
        messageId = row["message_id"].string
        channelId = row["channel_id"].string
        time = row["time"].date ?? Date()
        state = row["state"].string ?? "pending"
        createdAt = row["created_at"].date ?? Date()
        completedAt = row["completed_at"].date
    }

    /// Every key, `null`s included.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(text, forKey: .text)
        try container.encode(messageId, forKey: .messageId)
        try container.encode(channelId, forKey: .channelId)
        try container.encode(time, forKey: .time)
        try container.encode(state, forKey: .state)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(completedAt, forKey: .completedAt)
    }

    static let schema = APISchema.object(
        [
            "id": .string, "text": APISchema.string.orNull, "message_id": APISchema.string.orNull, "channel_id": APISchema.string.orNull,
            "time": .dateTime, "state": .string(values: ["pending", "fired", "completed"]), "created_at": .dateTime,
            "completed_at": APISchema.dateTime.orNull,
        ], required: ["id", "text", "message_id", "channel_id", "time", "state", "created_at", "completed_at"])
}

/// `POST /reminders`.
struct NewReminder: Decodable {
    var text: String?
    var messageId: String?
    var time: String?

    static let schema = APISchema.object(
        [
            "text": .string(maxLength: ReminderStore.maximumText, pattern: "^[^\u{0}]*$"), "message_id": .string,
            "time": When.schema,
        ], required: ["time"])
}

/// `POST /reminders/{id}/snooze`.
struct Snooze: Decodable {
    var time: String?

    static let schema = APISchema.object(["time": When.schema], required: ["time"])
}

/// The job that fires a reminder.
struct FireReminder: Codable {
    var id: String
}
