import Foundation
import QuikSDK

/// A user as the contract shows one; `email` only to the user and to admins.
struct Profile: Codable, Sendable {
    var id: String
    var email: String?
    var displayName: String
    var title: String
    var timezone: String
    var statusText: String
    var statusEmoji: String
    var createdAt: Date
    var deactivated: Bool

    static let columns = "id, email, display_name, title, timezone, status_text, status_emoji, created_at, deactivated"

    init(row: SQLRow, showEmail: Bool) {
        id = row["id"].string ?? ""
        email = showEmail ? row["email"].string : nil
        displayName = row["display_name"].string ?? ""
        title = row["title"].string ?? ""
        timezone = row["timezone"].string ?? "UTC"
        statusText = row["status_text"].string ?? ""
        statusEmoji = row["status_emoji"].string ?? ""
        createdAt = row["created_at"].date ?? Date(timeIntervalSince1970: 0)
        deactivated = (row["deactivated"].int ?? 0) != 0
    }
}

/// `PATCH /users/me`.
struct ProfilePatch: Decodable {
    var displayName: String?
    var title: String?
    var timezone: String?
    var statusText: String?
    var statusEmoji: String?
}

/// `auth.user_registered`, as far as profiles need it.
struct Registered: Decodable {
    var userId: String
    var email: String?
    var displayName: String?
}
