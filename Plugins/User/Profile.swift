import Foundation
import QuikPluginKit
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

    /// As `UserDirectory.update` checks it, so that a body the schema accepts is not refused with 422; a field left
    /// out or `null` stays as it is. The checks count characters, never more than the code points counted here, and
    /// trimming removes U+0085 too, which `\s` leaves out.
    static let schema: APISchema = .object([
        "display_name": APISchema.string(minLength: 1, maxLength: 80, pattern: Checks.notBlankPattern).orNull
            .described("Not blank once trimmed"),
        "title": APISchema.string(maxLength: 100, pattern: Checks.textPattern).orNull,
        "timezone": APISchema.string(values: TimeZones.known.sorted()).orNull.described("An IANA time zone, such as Europe/Paris"),
        "status_text": APISchema.string(maxLength: 100, pattern: Checks.textPattern).orNull,
        "status_emoji": APISchema.string(maxLength: 64, pattern: Checks.textPattern).orNull,
    ])
}

/// `auth.user_registered`, as far as profiles need it.
struct Registered: Decodable {
    var userId: String
    var email: String?
    var displayName: String?
}
