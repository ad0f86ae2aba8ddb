import Foundation
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
}

struct JoinBody: Decodable {
    var code: String?
}

struct RoleBody: Decodable {
    var role: String?
}

enum WorkspaceRole {
    static let all: [String] = ["owner", "admin", "member", "guest"]
}
