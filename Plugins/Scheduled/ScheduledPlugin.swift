import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The `scheduled` plugin: messages posted later, as their author, by the ordinary
/// path; editable and cancellable until sent; sent even across restarts.
public final class ScheduledPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "scheduled", version: "1.0.0", mount: "scheduled", dependencies: ["channel", "message"],
            capabilities: PluginCapabilities(database: true),
            summary: "Scheduled messages: posted at their time as their author, or failed with the reason")
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "scheduled", statements: [
                """
                CREATE TABLE scheduled (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  user_id VARCHAR(32) NOT NULL,
                  channel_id VARCHAR(32) NOT NULL,
                  thread_root_id VARCHAR(32) NULL,
                  text MEDIUMTEXT NOT NULL,
                  file_ids TEXT NOT NULL,
                  post_at DATETIME(3) NOT NULL,
                  state VARCHAR(10) NOT NULL,
                  message_id VARCHAR(32) NULL,
                  error_code VARCHAR(40) NULL,
                  error_message VARCHAR(500) NULL,
                  created_at DATETIME(3) NOT NULL,
                  updated_at DATETIME(3) NOT NULL,
                  KEY by_user (user_id, post_at, id)
                )
                """
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let store = ScheduledStore(context: context, database: try context.requireDatabase())
        let schema = ScheduledMessage.schema

        try context.addRoute(
            .post, "/", options: RouteOptions(summary: "Schedule a message").documented(body: NewScheduled.schema, response: schema, status: 201)
        ) { request in
            try .json(try await store.create(try request.decode(NewScheduled.self), principal: try request.requirePrincipal()), status: 201)
        }
        let filters = [
            APIParameter.query("channel_id", .string, "Only this channel's"),
            .query("state", .string(values: ["pending", "sent", "failed"]), "Only in this state"),
            .query("limit", .integer(minimum: 1, maximum: 200), "Items per page, 50 by default"),
            .query("cursor", .string(pattern: #"^([0-9]{1,15}\.[A-Za-z0-9_-]{1,64})?$"#), "The next_cursor of the page before"),
        ]
        try context.addRoute(
            .get, "/", options: RouteOptions(summary: "The caller's scheduled messages, by post_at").documented(query: filters, response: .list(of: schema))
        ) { request in
            try .json(
                try await store.list(
                    channelId: request.query("channel_id"), state: request.query("state"), page: try Page(request),
                    principal: try request.requirePrincipal()))
        }
        try context.addRoute(.get, "/{id}", options: RouteOptions(summary: "One (author only)").documented(response: schema)) { request in
            try .json(try await store.get(try request.parameter("id"), principal: try request.requirePrincipal()))
        }
        try context.addRoute(
            .patch, "/{id}", options: RouteOptions(summary: "Change text or time while pending").documented(body: ScheduledPatch.schema, response: schema)
        ) { request in
            try .json(try await store.edit(try request.parameter("id"), try request.decode(ScheduledPatch.self), principal: try request.requirePrincipal()))
        }
        try context.addRoute(.delete, "/{id}", options: RouteOptions(summary: "Cancel while pending").documented(status: 204)) { request in
            try await store.delete(try request.parameter("id"), principal: try request.requirePrincipal())
            return .noContent
        }
        try context.onJob(ScheduledStore.sendJob) { job in try await store.send(job) }
    }
}
