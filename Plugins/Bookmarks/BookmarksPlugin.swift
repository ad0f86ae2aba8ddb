import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The `bookmarks` plugin: saved items. A bookmark keeps only the message's id; the
/// message itself is read from the message plugin (`message.visible`) whenever a
/// bookmark is shown, so a deleted message, or one whose channel the saver can no
/// longer read, drops out of the list (and comes back if they may read it again).
public final class BookmarksPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "bookmarks", version: "1.0.0", mount: "bookmarks", dependencies: ["message", "workspace"],
            capabilities: PluginCapabilities(database: true),
            summary: "Saved items: messages a user keeps for later")
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "bookmarks", statements: [
                """
                CREATE TABLE bookmarks (
                  user_id VARCHAR(32) NOT NULL,
                  message_id VARCHAR(32) NOT NULL,
                  workspace_id VARCHAR(32) NOT NULL,
                  channel_id VARCHAR(32) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (user_id, message_id),
                  KEY by_workspace (user_id, workspace_id, created_at, message_id),
                  KEY by_message (message_id)
                )
                """
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let store = BookmarkStore(context: context, database: try context.requireDatabase())

        let save = RouteOptions(summary: "Save a message the caller may read (again: 200, the same)")
            .documented(body: SaveBody.schema, response: BookmarkStore.itemSchema, status: 201, also: [200])
        try context.addRoute(.post, "/", options: save) { request in
            let body = try request.decode(SaveBody.self)
            let (item, created) = try await store.save(body.messageId, userId: try request.requirePrincipal().userId)
            return BookmarkStore.response(item, status: created ? 201 : 200)
        }
        let remove = RouteOptions(summary: "Forget a saved message (204, saved or not)").documented(status: 204)
        try context.addRoute(.delete, "/{message_id}", options: remove) { request in
            try await store.remove(try request.parameter("message_id"), userId: try request.requirePrincipal().userId)
            return .noContent
        }
        let workspace = APIParameter.query("workspace_id", BookmarkStore.id, required: true, "The workspace whose saved items to list")
        let cursor = APIParameter.query("cursor", .string(pattern: BookmarkStore.cursorPattern), "The next_cursor of the page before")
        let limit = APIParameter.query("limit", .integer(minimum: 1, maximum: 200), "Items per page, 50 by default")
        let list = RouteOptions(summary: "The caller's saved items in a workspace, last saved first")
            .documented(query: [workspace, limit, cursor], response: .list(of: BookmarkStore.itemSchema))
        try context.addRoute(.get, "/", options: list) { request in
            let page = try Page(request)
            return try await store.list(
                workspaceId: request.query("workspace_id"), page: page, userId: try request.requirePrincipal().userId)
        }

        // A deleted message never comes back: its bookmarks go (reading would drop them anyway).
        try context.subscribe("message.deleted") { event in
            guard let message = try? event.decode(DeletedMessage.self) else { return }
            do {
                try await store.forget(messageId: message.id)
            } catch {
                context.logger.warning("bookmarks of a deleted message kept", metadata: ["message_id": "\(message.id)", "error": "\(error)"])
            }
        }
    }
}

struct SaveBody: Decodable {
    var messageId: String?

    static let schema = APISchema.object(["message_id": BookmarkStore.id], required: ["message_id"])
}

/// `message.deleted`, as far as bookmarks need it.
struct DeletedMessage: Decodable {
    var id: String
}
