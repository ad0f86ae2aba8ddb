import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The `search` plugin: messages (InnoDB FULLTEXT, fed by the message plugin's
/// durable events), channels and files, each limited at query time to what the caller may read.
public final class SearchPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        var manifest = PluginManifest(
            name: "search", version: "1.0.0", mount: "search", dependencies: ["channel", "message", "user"],
            capabilities: PluginCapabilities(database: true),
            settings: [
                SettingSpec(
                    key: "scan_window", kind: .integer, defaultValue: .int(MariaDBSearchEngine.defaultWindow),
                    help: "Newest messages read for a query before it goes to the FULLTEXT index (1 sends every query there)")
            ],
            summary: "Search: messages, channels and files, as far as the caller may read them")
        // Files are searched when the files plugin runs.
        manifest.optionalDependencies = ["files"]
        return manifest
    }

    public var migrations: [Migration] { MariaDBSearchEngine.migrations }

    /// A message event, as far as the index needs it.
    struct MessageEvent: Decodable {
        struct Attached: Decodable {}
        var id: String
        var channelId: String
        var authorId: String
        var text: String
        var files: [Attached]?
        var editedAt: Date?
        var createdAt: Date

        var indexed: IndexedMessage {
            IndexedMessage(
                id: id, channelId: channelId, authorId: authorId, text: text, hasFile: !(files ?? []).isEmpty, hasLink: Self.hasLink(text),
                createdAt: createdAt, version: editedAt ?? createdAt)
        }

        /// An `http` or `https` URL in the text.
        static func hasLink(_ text: String) -> Bool {
            text.range(of: #"(?i)\bhttps?://[^\s<>]"#, options: .regularExpression) != nil
        }
    }

    static let hit = APISchema.object(
        [
            "message": MessageSchemas.message, "channel_id": .string,
            "highlights": APISchema.array(.string).described("The words of the message's text that matched, as written there"),
        ], required: ["message", "channel_id", "highlights"])

    static let channel = APISchema.object(
        [
            "id": .string, "name": .string, "kind": .string, "topic": .string, "archived": .boolean,
            "member_count": .integer(minimum: 0),
        ], required: ["id", "name", "kind", "topic", "archived", "member_count"])

    public func setup(_ context: any PluginContext) async throws {
        let window = max(1, min(100_000, context.settings["scan_window"]?.intValue ?? MariaDBSearchEngine.defaultWindow))
        let engine = MariaDBSearchEngine(database: try context.requireDatabase(), recentWindow: window)
        let service = SearchService(context: context, engine: engine)
        let workspace = APIParameter.query("workspace_id", .string, required: true, "The workspace searched")
        let q = APIParameter.query(
            "q", .string(minLength: 1, maxLength: SearchQuery.maximumLength, pattern: Checks.notBlankPattern), required: true,
            "Words, prefix*, \"phrases\", -exclusions, from:@user, in:#channel, before:/after:/on:YYYY-MM-DD, has:file, has:link")
        let page = [
            APIParameter.query("limit", .integer(minimum: 1, maximum: 200), "Items per page, 50 by default"),
            .query("cursor", .string, "The next_cursor of the page before"),
        ]

        let messages = RouteOptions(summary: "Messages the caller may read that match the query, newest first")
            .documented(query: [workspace, q] + page, response: .list(of: Self.hit))
        try context.addRoute(.get, "/messages", options: messages) { request in
            let body = try await service.messages(
                workspaceId: request.query("workspace_id"), q: request.query("q"), page: try Page(request), principal: try request.requirePrincipal())
            return PluginResponse(status: 200, headers: ["content-type": "application/json; charset=utf-8"], body: body)
        }
        let channels = RouteOptions(summary: "Channels the caller can see whose name or topic has words starting with each query word")
            .documented(query: [workspace, q] + page, response: .list(of: Self.channel))
        try context.addRoute(.get, "/channels", options: channels) { request in
            try .json(
                try await service.channels(
                    workspaceId: request.query("workspace_id"), q: request.query("q"), page: try Page(request),
                    principal: try request.requirePrincipal()))
        }
        let files = RouteOptions(summary: "Files the caller may read whose name matches, newest first")
            .documented(query: [workspace, q] + page, response: .list(of: FileSummary.schema))
        try context.addRoute(.get, "/files", options: files) { request in
            try .json(
                try await service.files(
                    workspaceId: request.query("workspace_id"), q: request.query("q"), page: try Page(request),
                    principal: try request.requirePrincipal()))
        }

        // Durable events, delivered again after a crash until handled: the index never misses one.
        for topic in ["message.created", "message.updated"] {
            try context.subscribe(topic) { event in
                guard let message = try? event.decode(MessageEvent.self) else { return }
                do {
                    try await engine.upsert(message.indexed)
                } catch {
                    context.logger.error("a message was not indexed", metadata: ["message_id": "\(message.id)", "error": "\(error)"])
                }
            }
        }
        try context.subscribe("message.deleted") { event in
            guard let message = try? event.decode(MessageEvent.self) else { return }
            do {
                try await engine.remove(message.id)
            } catch {
                context.logger.error("a deleted message is still indexed", metadata: ["message_id": "\(message.id)", "error": "\(error)"])
            }
        }
    }
}
