import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK
import Synchronization

/// The `reminders` plugin: reminders at a time, relative or on a message; snooze and
/// complete; fired by a durable job, and told to the owner's sockets as `reminder.fired`.
public final class RemindersPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "reminders", version: "1.0.0", mount: "reminders", dependencies: ["message"],
            capabilities: PluginCapabilities(database: true, publishes: ["reminder"]),
            summary: "Reminders: at a time or on a message, snoozed, completed; fired even across restarts")
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "reminders", statements: [
                """
                CREATE TABLE reminders (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  user_id VARCHAR(32) NOT NULL,
                  text TEXT NULL,
                  message_id VARCHAR(32) NULL,
                  channel_id VARCHAR(32) NULL,
                  time DATETIME(3) NOT NULL,
                  state VARCHAR(10) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  fired_at DATETIME(3) NULL,
                  completed_at DATETIME(3) NULL,
                  KEY by_user (user_id, time, id)
                )
                """
            ])
        ]
    }

    /// Event ids already sent to sockets: a redelivered `reminder.fired` is not shown twice.
    private let sent = Mutex<(order: [String], ids: Set<String>)>(([], []))

    public func setup(_ context: any PluginContext) async throws {
        let store = ReminderStore(context: context, database: try context.requireDatabase())

        try context.addRoute(
            .post, "/", options: RouteOptions(summary: "Set a reminder").documented(body: NewReminder.schema, response: Reminder.schema, status: 201)
        ) { request in
            try .json(try await store.create(try request.decode(NewReminder.self), principal: try request.requirePrincipal()), status: 201)
        }
        let state = APIParameter.query("state", .string(values: ["pending", "fired", "completed"]), "Only reminders in this state")
        let page = [
            APIParameter.query("limit", .integer(minimum: 1, maximum: 200), "Items per page, 50 by default"),
            .query("cursor", .string(pattern: #"^([0-9]{1,15}\.[A-Za-z0-9_-]{1,64})?$"#), "The next_cursor of the page before"),
        ]
        try context.addRoute(
            .get, "/", options: RouteOptions(summary: "The caller's reminders, soonest first").documented(query: [state] + page, response: .list(of: Reminder.schema))
        ) { request in
            try .json(try await store.list(state: request.query("state"), page: try Page(request), principal: try request.requirePrincipal()))
        }
        try context.addRoute(
            .post, "/{id}/snooze", options: RouteOptions(summary: "Pending again at a new time").documented(body: Snooze.schema, response: Reminder.schema)
        ) { request in
            try .json(try await store.snooze(try request.parameter("id"), try request.decode(Snooze.self), principal: try request.requirePrincipal()))
        }
        try context.addRoute(.post, "/{id}/complete", options: RouteOptions(summary: "Mark done").documented(response: Reminder.schema)) { request in
            try .json(try await store.complete(try request.parameter("id"), principal: try request.requirePrincipal()))
        }
        try context.addRoute(.delete, "/{id}", options: RouteOptions(summary: "Delete").documented(status: 204)) { request in
            try await store.delete(try request.parameter("id"), principal: try request.requirePrincipal())
            return .noContent
        }

        try context.onJob(ReminderStore.fireJob) { job in try await store.fire(job) }
        try context.subscribe("reminder.fired") { event in
            guard let fired = try? event.decode(FiredReminder.self) else { return }
            let fresh = self.sent.withLock { sent -> Bool in
                guard sent.ids.insert(event.id).inserted else { return false }
                sent.order.append(event.id)
                if sent.order.count > 10_000 { sent.ids.remove(sent.order.removeFirst()) }
                return true
            }
            guard fresh, let data = try? JSONEncoder.quik.encode(fired.reminder) else { return }
            await context.send(RealtimeEvent(topic: "reminder.fired", data: data), to: .user(fired.userId))
        }
    }
}
