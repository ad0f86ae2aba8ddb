import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `admin` plugin: the first system admin (`quikapp admin create`), and the
/// user list with deactivation for system admins. Plugin state is the host's
/// own `GET /api/v1/admin/plugins`.
public final class AdminPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "admin", version: "1.0.0", mount: "admin", dependencies: ["auth", "user"],
            summary: "System administration: bootstrap admin, users",
            permissions: [PermissionSpec("admin.users", summary: "List, deactivate and reactivate users (system admins)")])
    }

    /// A profile as the `user` plugin's services encode it for admins (its `Profile`, email always shown),
    /// written by hand because that type belongs to the other plugin.
    static let profile: APISchema = .object(
        [
            "id": .string, "email": .string, "display_name": .string, "title": .string, "timezone": .string, "status_text": .string,
            "status_emoji": .string, "created_at": .dateTime, "deactivated": .boolean,
        ],
        required: ["id", "email", "display_name", "title", "timezone", "status_text", "status_emoji", "created_at", "deactivated"])

    public func setup(_ context: any PluginContext) async throws {
        guard let access = context.accessControl else {
            throw PluginError(.forbidden, "the admin plugin must be listed in server.access_managers")
        }
        try context.provideService("create_admin") { call in
            guard call.caller == "host" else { throw PluginError(.forbidden, "only the host's command line creates admins") }
            let request = try JSONDecoder.quik.decode(CreateUserRequest.self, from: call.payload)
            let user = try await context.call("auth", "create_user", request, as: AccountReply.self)
            try await access.assignRole("admin", to: user.id, in: .system, actor: "host")
            return try JSONEncoder.quik.encode(user)
        }

        let users = RouteOptions(summary: "Every user, with email and standing (?query=&limit=&cursor=)").documented(
            query: [
                .query("query", .string, "Words that each start a word of the name or of the email"),
                .query("limit", .integer(minimum: 1, maximum: 200), "Users per page (default 50)"),
                .query("cursor", .string, "The next_cursor of the page before"),
            ],
            response: .list(of: Self.profile))
        try context.addRoute(.get, "/users", options: users) { request in
            try await context.require("admin.users", in: .system, for: try request.requirePrincipal())
            let page = try Page(request)
            let reply = try await context.callService(
                plugin: "user", service: "list",
                payload: JSONEncoder.quik.encode(UserListRequest(query: request.query("query"), limit: page.limit, cursor: page.cursor)))
            return PluginResponse(status: 200, headers: ["content-type": "application/json; charset=utf-8"], body: reply)
        }
        for (path, deactivated) in [("/users/{id}/deactivate", true), ("/users/{id}/reactivate", false)] {
            let options = RouteOptions(summary: deactivated ? "Deactivate a user" : "Reactivate a user").documented(response: Self.profile)
            try context.addRoute(.post, path, options: options) { request in
                let principal = try request.requirePrincipal()
                try await context.require("admin.users", in: .system, for: principal)
                let reply = try await context.callService(
                    plugin: "user", service: "set_deactivated",
                    payload: JSONEncoder.quik.encode(
                        DeactivationRequest(userId: try request.parameter("id"), deactivated: deactivated, actor: principal.userId)))
                return PluginResponse(status: 200, headers: ["content-type": "application/json; charset=utf-8"], body: reply)
            }
        }
    }
}
