import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The files plugin's records are the contract's file objects.
typealias FileRecord = FileSummary

extension FileSummary {
    static let columns = "id, name, mime, size, sha256, width, height, has_thumbnail, uploader_id, workspace_id, created_at"

    init(row: SQLRow) {
        self.init(
            id: row["id"].string ?? "", name: row["name"].string ?? "", mime: row["mime"].string ?? "application/octet-stream",
            size: row["size"].int ?? 0, sha256: row["sha256"].string ?? "", width: row["width"].int.map(Int.init),
            height: row["height"].int.map(Int.init), hasThumbnail: (row["has_thumbnail"].int ?? 0) != 0,
            uploaderId: row["uploader_id"].string ?? "", workspaceId: row["workspace_id"].string ?? "", createdAt: row["created_at"].date ?? Date())
    }
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
