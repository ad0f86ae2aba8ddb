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

        try context.addRoute(.get, "/users", options: RouteOptions(summary: "Every user, with email and standing (?query=&limit=&cursor=)")) {
            request in
            try await context.require("admin.users", in: .system, for: try request.requirePrincipal())
            let page = try Page(request)
            let reply = try await context.callService(
                plugin: "user", service: "list",
                payload: JSONEncoder.quik.encode(UserListRequest(query: request.query("query"), limit: page.limit, cursor: page.cursor)))
            return PluginResponse(status: 200, headers: ["content-type": "application/json; charset=utf-8"], body: reply)
        }
        for (path, deactivated) in [("/users/{id}/deactivate", true), ("/users/{id}/reactivate", false)] {
            try context.addRoute(.post, path, options: RouteOptions(summary: deactivated ? "Deactivate a user" : "Reactivate a user")) { request in
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
