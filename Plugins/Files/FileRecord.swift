import Foundation
import QuikPluginKit
import QuikSDK

/// A file as the contract shows it.
struct FileRecord: Codable, Sendable {
    var id: String
    var name: String
    var mime: String
    var size: Int64
    var sha256: String
    var width: Int?
    var height: Int?
    var hasThumbnail: Bool
    var uploaderId: String
    var workspaceId: String
    var createdAt: Date

    static let columns = "id, name, mime, size, sha256, width, height, has_thumbnail, uploader_id, workspace_id, created_at"

    init(row: SQLRow) {
        id = row["id"].string ?? ""
        name = row["name"].string ?? ""
        mime = row["mime"].string ?? "application/octet-stream"
        size = row["size"].int ?? 0
        sha256 = row["sha256"].string ?? ""
        width = row["width"].int.map(Int.init)
        height = row["height"].int.map(Int.init)
        hasThumbnail = (row["has_thumbnail"].int ?? 0) != 0
        uploaderId = row["uploader_id"].string ?? ""
        workspaceId = row["workspace_id"].string ?? ""
        createdAt = row["created_at"].date ?? Date()
    }

    /// `width`, `height` always present, `null` when unknown.
    func encode(to encoder: any Encoder) throws {
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

    static let schema = APISchema.object(
        [
            "id": .string, "name": .string, "mime": .string, "size": .integer(minimum: 0),
            "sha256": .string(pattern: "^[0-9a-f]{64}$"), "width": APISchema.integer.orNull, "height": APISchema.integer.orNull,
            "has_thumbnail": .boolean, "uploader_id": .string, "workspace_id": .string, "created_at": .dateTime,
        ],
        required: ["id", "name", "mime", "size", "sha256", "width", "height", "has_thumbnail", "uploader_id", "workspace_id", "created_at"])
}

/// `{used_bytes, quota_bytes}`.
struct Usage: Codable, Sendable {
    var usedBytes: Int64
    var quotaBytes: Int64?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(usedBytes, forKey: .usedBytes)
        try container.encode(quotaBytes, forKey: .quotaBytes)
    }

    static let schema = APISchema.object(
        ["used_bytes": .integer(minimum: 0), "quota_bytes": APISchema.integer.orNull], required: ["used_bytes", "quota_bytes"])
}

/// `{url, expires_at}`.
struct SignedLink: Codable, Sendable {
    var url: String
    var expiresAt: Date

    static let schema = APISchema.object(["url": .string, "expires_at": .dateTime], required: ["url", "expires_at"])
}
