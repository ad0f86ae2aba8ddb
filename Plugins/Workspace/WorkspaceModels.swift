import Foundation
import QuikPluginKit
import QuikSDK

/// A workspace as the API shows it.
struct Workspace: Codable, Sendable {
    var id: String
    var name: String
    var slug: String
    var createdBy: String
    var createdAt: Date
    /// The caller's role in it.
    var role: String?

    static let columns = "w.id, w.name, w.slug, w.created_by, w.created_at"

    init(row: SQLRow) {
        id = row["id"].string ?? ""
        name = row["name"].string ?? ""
        slug = row["slug"].string ?? ""
        createdBy = row["created_by"].string ?? ""
        createdAt = row["created_at"].date ?? Date(timeIntervalSince1970: 0)
        role = row["role"].string
    }
}

/// `{user_id, role, joined_at}`.
struct Member: Codable, Sendable {
    var userId: String
    var role: String
    var joinedAt: Date
}

struct CreateBody: Decodable {
    var name: String?
    var slug: String?

    /// What `WorkspaceStore.create` accepts: the name is trimmed, the slug trimmed and lowercased before the checks.
    static let schema = APISchema.object(
        [
            "name": .string(minLength: 1, maxLength: 80, pattern: Checks.notBlankPattern),
            "slug": .string(minLength: 2, maxLength: 40, pattern: "^[a-z0-9-]+$"),
        ], required: ["name", "slug"])
}

struct JoinBody: Decodable {
    var code: String?

    /// An unknown or expired code is 404, not a validation error.
    static let schema = APISchema.object(["code": .string(minLength: 1, pattern: Checks.notBlankPattern)], required: ["code"])
}

struct RoleBody: Decodable {
    var role: String?

    static let schema = APISchema.object(["role": .string(values: WorkspaceRole.all)], required: ["role"])
}

enum WorkspaceRole {
    static let all: [String] = ["owner", "admin", "member", "guest"]
}

/// Schemas for the OpenAPI document that the handlers' own types cannot give.
enum Schemas {
    /// `POST /{id}/invites`: the store answers a `[String: String]`.
    static let invite = APISchema.object(["code": .string, "expires_at": .dateTime], required: ["code", "expires_at"])

    /// `limit` and `cursor`, as `Page` reads them.
    static func page(defaultLimit: Int = 50) -> [APIParameter] {
        [
            .query("limit", .integer(minimum: 1, maximum: 200), "Items per page, \(defaultLimit) by default"),
            .query("cursor", .string, "The next_cursor of the page before"),
        ]
    }
}
