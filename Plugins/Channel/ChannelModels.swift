import Foundation
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
}

struct CreateBody: Decodable {
    var workspaceId: String?
    var name: String?
    var kind: String?
    var topic: String?
}

struct DirectBody: Decodable {
    var workspaceId: String?
    var userIds: [String]?
}

struct PatchBody: Decodable {
    var name: String?
    var topic: String?
}

struct UserBody: Decodable {
    var userId: String?
}

struct ReadBody: Decodable {
    var messageId: String?
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
