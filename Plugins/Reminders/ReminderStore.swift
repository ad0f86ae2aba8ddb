import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Reminders in the plugin's schema, each with a durable job (key `reminder:<id>`)
/// that fires it at its time, on whichever host claims the job.
struct ReminderStore: Sendable {
    static let maximumText = 4000
    /// The furthest ahead a reminder may be set.
    static let horizon: TimeInterval = 5 * 366 * 86_400
    static let fireJob = "fire"

    let context: any PluginContext
    let database: any PluginDatabase

    static func jobKey(_ id: String) -> String { "reminder:\(id)" }

    /// The instant `text` names, if it is in the future and within the horizon; else 422 naming `field`.
    static func time(_ text: String?, field: String = "time", now: Date = Date()) throws -> Date {
        guard let text, let time = When.parse(text, now: now) else {
            throw PluginError(.validationFailed, "\(field) must be RFC 3339 or \"in <n> minutes|hours|days|weeks\"", details: [field: "unreadable"])
        }
        guard time > now else { throw PluginError(.validationFailed, "\(field) is in the past", details: [field: "must be in the future"]) }
        guard time.timeIntervalSince(now) <= horizon else {
            throw PluginError(.validationFailed, "\(field) is too far ahead", details: [field: "must be within 5 years"])
        }
        return time
    }

    func reminder(_ id: String, of userId: String, in executor: any SQLExecutor) async throws -> Reminder {
        guard IDs.isPlausible(id),
            let row = try await executor.query("SELECT \(Reminder.columns) FROM reminders WHERE id = ? AND user_id = ?", [.text(id), .text(userId)]).first
        else { throw PluginError(.notFound, "no such reminder") }
        return Reminder(row: row)
    }

    func create(_ body: NewReminder, principal: Principal) async throws -> Reminder {
        var validator = Validator()
        let text = Checks.trimmed(body.text).flatMap { $0.isEmpty ? nil : $0 }
        validator.check(text, "text", atMost: Self.maximumText)
        validator.check(text != nil || body.messageId != nil, "text", "a reminder needs text or a message_id")
        try validator.finish()
        let time = try Self.time(body.time)
        var channelId: String?
        if let messageId = body.messageId {
            let visible = try await context.call(
                "message", "visible", VisibleMessagesQuery(messageIds: [messageId], userId: principal.userId), as: VisibleMessages.self)
            guard let message = visible.messages.first else { throw PluginError(.notFound, "no such message") }
            channelId = message.channelId
        }
        let id = IDs.make("R")
        return try await database.transaction { transaction in
            try await transaction.execute(
                "INSERT INTO reminders (id, user_id, text, message_id, channel_id, time, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                [
                    .text(id), .text(principal.userId), text.map(SQLValue.text) ?? .null, body.messageId.map(SQLValue.text) ?? .null,
                    channelId.map(SQLValue.text) ?? .null, .date(time), .date(Date()),
                ])
            try await transaction.requireJobs().schedule(
                JobRequest(kind: Self.fireJob, payload: try JSONEncoder.quik.encode(FireReminder(id: id)), runAt: time, key: Self.jobKey(id)))
            return try await reminder(id, of: principal.userId, in: transaction)
        }
    }

    func list(state: String?, page: Page, principal: Principal) async throws -> ListResponse<Reminder> {
        var conditions = ["user_id = ?"]
        var values: [SQLValue] = [.text(principal.userId)]
        if let state {
            guard ["pending", "fired", "completed"].contains(state) else {
                throw PluginError(.validationFailed, "state must be pending, fired or completed", details: ["state": "unknown"])
            }
            conditions.append("state = ?")
            values.append(.text(state))
        }
        // The cursor is `<time in ms>.<id>` of the last reminder of the page before.
        if let cursor = page.cursor {
            let parts = cursor.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let millis = Int64(parts[0]) else { throw PluginError(.badRequest, "cursor is malformed") }
            conditions.append("(time > ? OR (time = ? AND id > ?))")
            let at = Date(timeIntervalSince1970: Double(millis) / 1000)
            values += [.date(at), .date(at), .text(String(parts[1]))]
        }
        let rows = try await database.query(
            "SELECT \(Reminder.columns) FROM reminders WHERE \(conditions.joined(separator: " AND ")) ORDER BY time, id LIMIT \(page.limit + 1)", values)
        return ListResponse(fetched: rows.map(Reminder.init(row:)), limit: page.limit) {
            "\(Int64(($0.time.timeIntervalSince1970 * 1000).rounded())).\($0.id)"
        }
    }

    func snooze(_ id: String, _ body: Snooze, principal: Principal) async throws -> Reminder {
        let time = try Self.time(body.time)
        return try await database.transaction { transaction in
            _ = try await reminder(id, of: principal.userId, in: transaction)
            try await transaction.execute(
                "UPDATE reminders SET time = ?, state = 'pending', completed_at = NULL, fired_at = NULL WHERE id = ?", [.date(time), .text(id)])
            let jobs = try transaction.requireJobs()
            if try await !jobs.reschedule(key: Self.jobKey(id), to: time) {
                try await jobs.schedule(
                    JobRequest(kind: Self.fireJob, payload: try JSONEncoder.quik.encode(FireReminder(id: id)), runAt: time, key: Self.jobKey(id)))
            }
            return try await reminder(id, of: principal.userId, in: transaction)
        }
    }

    func complete(_ id: String, principal: Principal) async throws -> Reminder {
        try await database.transaction { transaction in
            let current = try await reminder(id, of: principal.userId, in: transaction)
            if current.state != "completed" {
                try await transaction.execute("UPDATE reminders SET state = 'completed', completed_at = ? WHERE id = ?", [.date(Date()), .text(id)])
                try await transaction.requireJobs().cancel(key: Self.jobKey(id))
            }
            return try await reminder(id, of: principal.userId, in: transaction)
        }
    }

    func delete(_ id: String, principal: Principal) async throws {
        try await database.transaction { transaction in
            _ = try await reminder(id, of: principal.userId, in: transaction)
            try await transaction.execute("DELETE FROM reminders WHERE id = ?", [.text(id)])
            try await transaction.requireJobs().cancel(key: Self.jobKey(id))
        }
    }

    /// The job: a pending reminder whose time has come becomes `fired`, with a durable
    /// `reminder.fired` in the same transaction. A repeat of the job finds it fired and does nothing.
    func fire(_ job: Job) async throws {
        let id = try job.decode(FireReminder.self).id
        try await database.transaction(retryOnDeadlock: true) { transaction in
            guard let row = try await transaction.query(
                "SELECT \(Reminder.columns) FROM reminders WHERE id = ? AND state = 'pending' FOR UPDATE", [.text(id)]
            ).first else { return }
            var reminder = Reminder(row: row)
            // Snoozed since this run was claimed: the moved job fires it.
            guard reminder.time <= Date().addingTimeInterval(1) else { return }
            try await transaction.execute("UPDATE reminders SET state = 'fired', fired_at = ? WHERE id = ?", [.date(Date()), .text(id)])
            reminder.state = "fired"
            try await transaction.publish("reminder.fired", FiredReminder(userId: row["user_id"].string ?? "", reminder: reminder))
        }
    }
}

/// The payload of `reminder.fired`: the reminder, and whose it is.
struct FiredReminder: Codable, Sendable {
    var userId: String
    var reminder: Reminder
}
