import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `workspace` plugin: workspaces, invites and membership with roles.
public final class WorkspacePlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "workspace", version: "1.0.0", mount: "workspaces",
            capabilities: PluginCapabilities(database: true, publishes: ["workspace"]),
            summary: "Workspaces, invites and members",
            permissions: [
                PermissionSpec("workspaces.invite", summary: "Create invite codes", grantedTo: ["workspace.admin"]),
                PermissionSpec("workspaces.manage_members", summary: "Change members' roles and remove members", grantedTo: ["workspace.admin"]),
            ])
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "workspaces_members_invites", statements: [
                """
                CREATE TABLE workspaces (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  name VARCHAR(100) NOT NULL,
                  slug VARCHAR(40) NOT NULL,
                  created_by VARCHAR(32) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  UNIQUE KEY by_slug (slug)
                )
                """,
                """
                CREATE TABLE members (
                  workspace_id VARCHAR(32) NOT NULL,
                  user_id VARCHAR(32) NOT NULL,
                  role VARCHAR(16) NOT NULL,
                  joined_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (workspace_id, user_id),
                  KEY by_user (user_id)
                )
                """,
                """
                CREATE TABLE invites (
                  code VARCHAR(32) NOT NULL PRIMARY KEY,
                  workspace_id VARCHAR(32) NOT NULL,
                  created_by VARCHAR(32) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  expires_at DATETIME(3) NOT NULL
                )
                """,
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        guard let access = context.accessControl else {
            throw PluginError(.forbidden, "the workspace plugin must be listed in server.access_managers")
        }
        let store = WorkspaceStore(context: context, database: try context.requireDatabase(), access: access)
        try await store.restore()

        let workspace = APISchema.decoding(Workspace.self)
        let create = RouteOptions(summary: "Create a workspace; the caller becomes its owner")
            .documented(body: CreateBody.schema, response: workspace, status: 201)
        try context.addRoute(.post, "/", options: create) { request in
            try .json(try await store.create(try request.decode(CreateBody.self), by: try request.requirePrincipal()), status: 201)
        }
        let mine = RouteOptions(summary: "The caller's workspaces").documented(response: .list(of: workspace))
        try context.addRoute(.get, "/", options: mine) { request in
            try .json(ListResponse(items: try await store.workspaces(of: try request.requirePrincipal()), nextCursor: nil))
        }
        let join = RouteOptions(summary: "Join with an invite code").documented(body: JoinBody.schema, response: workspace)
        try context.addRoute(.post, "/join", options: join) { request in
            try .json(try await store.join(try request.decode(JoinBody.self), principal: try request.requirePrincipal()))
        }
        let one = RouteOptions(summary: "One workspace (404 to non-members)").documented(response: workspace)
        try context.addRoute(.get, "/{id}", options: one) { request in
            try .json(try await store.workspace(try request.parameter("id"), for: try request.requirePrincipal()))
        }
        let invite = RouteOptions(summary: "Create an invite code (admins)").documented(response: Schemas.invite, status: 201)
        try context.addRoute(.post, "/{id}/invites", options: invite) { request in
            try .json(try await store.invite(try request.parameter("id"), by: try request.requirePrincipal()), status: 201)
        }
        let members = RouteOptions(summary: "Members with roles")
            .documented(query: Schemas.page(defaultLimit: 200), response: .list(of: .decoding(Member.self)))
        try context.addRoute(.get, "/{id}/members", options: members) { request in
            let principal = try request.requirePrincipal()
            let id = try request.parameter("id")
            _ = try await store.requireMember(principal, of: id)
            return try .json(try await store.members(of: id, page: try Page(request, defaultLimit: 200)))
        }
        let setRole = RouteOptions(summary: "Change a member's role (admins)")
            .documented(body: RoleBody.schema, response: .decoding(Member.self))
        try context.addRoute(.patch, "/{id}/members/{user_id}", options: setRole) { request in
            let body = try request.decode(RoleBody.self)
            return try .json(
                try await store.setRole(
                    body.role, of: try request.parameter("user_id"), in: try request.parameter("id"), by: try request.requirePrincipal()))
        }
        let remove = RouteOptions(summary: "Remove a member (admins, or oneself)").documented(status: 204)
        try context.addRoute(.delete, "/{id}/members/{user_id}", options: remove) { request in
            try await store.remove(try request.parameter("user_id"), from: try request.parameter("id"), by: try request.requirePrincipal())
            return .noContent
        }

        try context.provideService("membership") { call in
            let query = try JSONDecoder.quik.decode(MembershipQuery.self, from: call.payload)
            return try JSONEncoder.quik.encode(MembershipReply(role: try await store.role(of: query.userId, in: query.workspaceId)))
        }
        try context.provideService("peers") { call in
            let query = try JSONDecoder.quik.decode(PeersQuery.self, from: call.payload)
            return try JSONEncoder.quik.encode(PeersReply(userIds: try await store.peers(of: query.userId)))
        }
        try context.provideService("shares") { call in
            let query = try JSONDecoder.quik.decode(SharedWorkspaceQuery.self, from: call.payload)
            return try JSONEncoder.quik.encode(SharedWorkspaceReply(shared: try await store.share(query.userId, query.otherId)))
        }
    }
}
