import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The feed, preferences and do-not-disturb, in the plugin's schema.
struct NotificationStore: Sendable {
    let context: any PluginContext
    let database: any PluginDatabase

    // MARK: Feed

    func feed(workspaceId: String?, unreadOnly: Bool, page: Page, userId: String) async throws -> ListResponse<Notification> {
        var conditions = ["user_id = ?", "in_feed = 1"]
        var values: [SQLValue] = [.text(userId)]
        if let workspaceId {
            conditions.append("workspace_id = ?")
            values.append(.text(workspaceId))
        }
        if unreadOnly { conditions.append("is_read = 0") }
        if let cursor = page.cursor {
            conditions.append("id < ?")
            values.append(.text(cursor))
        }
        let rows = try await database.query(
            "SELECT \(Notification.columns) FROM notifications WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT \(page.limit + 1)",
            values)
        return ListResponse(fetched: rows.map(Notification.init(row:)), limit: page.limit) { $0.id }
    }

    func unreadCount(workspaceId: String?, userId: String) async throws -> Int {
        var sql = "SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND in_feed = 1 AND is_read = 0"
        var values: [SQLValue] = [.text(userId)]
        if let workspaceId {
            sql += " AND workspace_id = ?"
            values.append(.text(workspaceId))
        }
        return Int(try await database.query(sql, values).first?["n"].int ?? 0)
    }

    struct ReadBody: Decodable {
        var ids: [String]?
        var all: Bool?
        var workspaceId: String?

        static let schema = APISchema.object(["ids": .array(.string, maxItems: 1000), "all": .boolean, "workspace_id": .string])
    }

    func markRead(_ body: ReadBody, userId: String) async throws {
        if body.all == true {
            var sql = "UPDATE notifications SET is_read = 1 WHERE user_id = ? AND is_read = 0"
            var values: [SQLValue] = [.text(userId)]
            if let workspaceId = body.workspaceId {
                sql += " AND workspace_id = ?"
                values.append(.text(workspaceId))
            }
            try await database.execute(sql, values)
            return
        }
        guard let ids = body.ids, !ids.isEmpty else {
            throw PluginError(.validationFailed, "give ids, or all: true", details: ["ids": "is required"])
        }
        let plausible = ids.filter(IDs.isPlausible)
        guard plausible.count == ids.count, ids.count <= 1000 else {
            throw PluginError(.validationFailed, "ids holds 1 to 1000 ids", details: ["ids": "malformed"])
        }
        try await database.execute(
            "UPDATE notifications SET is_read = 1 WHERE user_id = ? AND id IN (\(sqlPlaceholders(ids.count)))",
            [.text(userId)] + ids.map(SQLValue.text))
    }

    // MARK: Preferences

    func preferences(_ userId: String, in executor: (any SQLExecutor)? = nil) async throws -> Preferences {
        Preferences(row: try await (executor ?? database).query("SELECT * FROM preferences WHERE user_id = ?", [.text(userId)]).first)
    }

    func setPreferences(_ preferences: Preferences, for userId: String) async throws {
        try await database.execute(
            """
            INSERT INTO preferences (user_id, desktop, push, email, email_interval, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE desktop = VALUES(desktop), push = VALUES(push), email = VALUES(email),
              email_interval = VALUES(email_interval), updated_at = VALUES(updated_at)
            """,
            [
                .text(userId), .text(preferences.desktop), .text(preferences.push), .text(preferences.email), .text(preferences.emailInterval),
                .date(Date()),
            ])
    }

    /// The channel the caller asks about, if they can see it; 404 otherwise.
    func requireVisible(_ channelId: String, _ userId: String) async throws {
        guard IDs.isPlausible(channelId) else { throw PluginError(.notFound, "no such channel") }
        let access = try await context.call("channel", "access", ChannelAccessQuery(channelId: channelId, userId: userId), as: ChannelAccessReply.self)
        guard access.visible else { throw PluginError(.notFound, "no such channel") }
    }

    func channelPreferences(_ channelId: String, _ userId: String) async throws -> ChannelPreferences {
        ChannelPreferences(
            row: try await database.query(
                "SELECT * FROM channel_preferences WHERE user_id = ? AND channel_id = ?", [.text(userId), .text(channelId)]
            ).first)
    }

    func setChannelPreferences(_ preferences: ChannelPreferences, channelId: String, userId: String) async throws {
        try await database.execute(
            """
            INSERT INTO channel_preferences (user_id, channel_id, desktop, push, email, muted) VALUES (?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE desktop = VALUES(desktop), push = VALUES(push), email = VALUES(email), muted = VALUES(muted)
            """,
            [
                .text(userId), .text(channelId), .text(preferences.desktop), .text(preferences.push), .text(preferences.email),
                .int(preferences.muted ? 1 : 0),
            ])
    }

    // MARK: Do not disturb

    func dnd(_ userId: String) async throws -> DoNotDisturb {
        DoNotDisturb(row: try await database.query("SELECT * FROM dnd WHERE user_id = ?", [.text(userId)]).first)
    }

    /// The longest a `POST /dnd` may last.
    static let dndHorizon: TimeInterval = 366 * 86_400

    func setDND(until text: String?, userId: String) async throws -> DoNotDisturb {
        let now = Date()
        guard let text, let until = When.parse(text, now: now) else {
            throw PluginError(.validationFailed, "until must be RFC 3339 or \"in <n> minutes|hours|days|weeks\"", details: ["until": "unreadable"])
        }
        guard until > now else { throw PluginError(.validationFailed, "until is in the past", details: ["until": "must be in the future"]) }
        guard until.timeIntervalSince(now) <= Self.dndHorizon else {
            throw PluginError(.validationFailed, "until is too far ahead", details: ["until": "must be within a year"])
        }
        try await database.execute(
            "INSERT INTO dnd (user_id, until_at) VALUES (?, ?) ON DUPLICATE KEY UPDATE until_at = VALUES(until_at)", [.text(userId), .date(until)])
        return try await dnd(userId)
    }

    func endDND(_ userId: String) async throws {
        try await database.execute("UPDATE dnd SET until_at = NULL WHERE user_id = ?", [.text(userId)])
    }

    func setSchedule(_ body: DNDScheduleBody, userId: String) async throws -> DoNotDisturb {
        var validator = Validator()
        let start = body.start.flatMap(DoNotDisturb.minutes)
        let end = body.end.flatMap(DoNotDisturb.minutes)
        validator.check(start != nil, "start", "must be HH:MM")
        validator.check(end != nil, "end", "must be HH:MM")
        // A window may cross midnight (22:00–07:00); one of no length is refused.
        if let start, let end { validator.check(start != end, "end", "must differ from start") }
        var zone = body.timezone
        if let given = zone {
            validator.check(TimeZone(identifier: given) != nil && given.count <= 64, "timezone", "must be an IANA time zone")
        } else {
            zone = try await context.call("user", "lookup", UserLookup(userIds: [userId]), as: UserLookupReply.self).users.first?.timezone
        }
        try validator.finish()
        try await database.execute(
            """
            INSERT INTO dnd (user_id, schedule_start, schedule_end, schedule_timezone) VALUES (?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE schedule_start = VALUES(schedule_start), schedule_end = VALUES(schedule_end),
              schedule_timezone = VALUES(schedule_timezone)
            """, [.text(userId), .text(body.start ?? ""), .text(body.end ?? ""), .text(zone ?? "UTC")])
        return try await dnd(userId)
    }

    func clearSchedule(_ userId: String) async throws {
        try await database.execute(
            "UPDATE dnd SET schedule_start = NULL, schedule_end = NULL, schedule_timezone = NULL WHERE user_id = ?", [.text(userId)])
    }
}
