import Foundation
import QuikPluginKit
import QuikSDK

/// A channel as the API shows it; lists add the caller's read state.
struct Channel: Codable, Sendable {
    var id: String
    var workspaceId: String
    var name: String
    var kind: String
    var topic: String
    var memberCount: Int
    var archived: Bool
    var createdAt: Date
    var unreadCount: Int?
    var lastReadId: String?

    init(row: SQLRow) {
        id = row["id"].string ?? ""
        workspaceId = row["workspace_id"].string ?? ""
        name = row["name"].string ?? ""
        kind = row["kind"].string ?? "public"
        topic = row["topic"].string ?? ""
        memberCount = Int(row["member_count"].int ?? 0)
        archived = (row["archived"].int ?? 0) != 0
        createdAt = row["created_at"].date ?? Date(timeIntervalSince1970: 0)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(workspaceId, forKey: .workspaceId)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encode(topic, forKey: .topic)
        try container.encode(memberCount, forKey: .memberCount)
        try container.encode(archived, forKey: .archived)
        try container.encode(createdAt, forKey: .createdAt)
        if let unreadCount {
            try container.encode(unreadCount, forKey: .unreadCount)
            try container.encode(lastReadId, forKey: .lastReadId)
        }
    }

    /// What `encode(to:)` writes; `listed` adds the read state, which only `GET /` fills in (`last_read_id` as `null` when unset).
    static func schema(listed: Bool = false) -> APISchema {
        var properties: [String: APISchema] = [
            "id": .string, "workspace_id": .string, "name": APISchema.string.described("Empty for direct channels"),
            "kind": .string(values: ["public", "private", "direct"]), "topic": .string, "member_count": .integer(minimum: 0),
            "archived": .boolean, "created_at": .dateTime,
        ]
        if listed {
            properties["unread_count"] = .integer(minimum: 0)
            properties["last_read_id"] = APISchema.string.orNull
        }
        return .object(properties, required: Array(properties.keys))
    }
}

struct CreateBody: Decodable {
    var workspaceId: String?
    var name: String?
    var kind: String?
    var topic: String?

    /// What `ChannelStore.create` accepts (the topic is trimmed before its check; the name is taken as written).
    static let schema = APISchema.object(
        [
            "workspace_id": Schemas.id, "name": Schemas.name,
            "kind": APISchema.string(values: ["public", "private"]).described("public by default"), "topic": .string(maxLength: 250, pattern: Checks.textPattern),
        ], required: ["workspace_id", "name"])
}

struct DirectBody: Decodable {
    var workspaceId: String?
    var userIds: [String]?

    /// The caller is always a member; at most 8 others.
    static let schema = APISchema.object(
        ["workspace_id": Schemas.id, "user_ids": .array(Schemas.id, maxItems: 8)], required: ["workspace_id"])
}

struct PatchBody: Decodable {
    var name: String?
    var topic: String?

    static let schema = APISchema.object(
        ["name": Schemas.name.described("Admins only; direct channels have none"), "topic": .string(maxLength: 250, pattern: Checks.textPattern)])
}

struct UserBody: Decodable {
    var userId: String?

    static let schema = APISchema.object(["user_id": Schemas.id], required: ["user_id"])
}

struct ReadBody: Decodable {
    var messageId: String?

    static let schema = APISchema.object(["message_id": Schemas.id], required: ["message_id"])
}

/// Schemas for the OpenAPI document that the handlers' own types cannot give.
enum Schemas {
    /// An id as `IDs.isPlausible` accepts it.
    static let id = APISchema.string(pattern: "^[A-Za-z0-9_-]{1,64}$")

    /// A channel name as `ChannelStore.checkName` accepts it.
    static let name = APISchema.string(minLength: 1, maxLength: 80, pattern: "^[a-z0-9_-]+$")

    /// `POST /{id}/read`: the store answers a `[String: String]`, the count among them.
    static let read = APISchema.object(
        ["last_read_id": .string, "unread_count": .string(pattern: "^[0-9]+$")], required: ["last_read_id", "unread_count"])
}

struct TypingFrame: Decodable {
    var channelId: String
}

/// The message plugin's `message.created` / `message.deleted`, as far as read state needs it.
struct MessageEvent: Decodable {
    var id: String
    var channelId: String
    var authorId: String
    var threadRootId: String?
}
