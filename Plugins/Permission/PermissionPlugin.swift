import Foundation
import QuikPluginKit
import QuikSDK

/// The `permission` plugin: the admin API over the host's roles. The host keeps
/// and enforces them; every change here reaches the audit log as an `access.*` event.
public final class PermissionPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "permission", version: "1.0.0", mount: "permissions",
            summary: "Roles and permissions: list, assign, remove, define workspace roles",
            permissions: [
                PermissionSpec(
                    "roles.manage", summary: "Assign and remove roles, define custom roles (workspace owners and admins; system admins everywhere)",
                    grantedTo: ["workspace.admin"])
            ])
    }

    /// `system` or `workspace:<id>`, as `PermissionScope(parsing:)` reads it.
    static let scopePattern = "^(system|workspace:[A-Za-z0-9_-]{1,64})$"

    struct RoleBody: Decodable {
        var scope: String?
        var name: String?
        var permissions: [String]?

        /// As the host checks a custom role, so that a body the schema accepts is not refused with 422.
        static let schema: APISchema = .object(
            [
                "scope": APISchema.string(pattern: "^workspace:[A-Za-z0-9_-]{1,64}$").described("workspace:<id>; custom roles belong to a workspace"),
                "name": APISchema.string(pattern: "^[a-z0-9_-]{1,40}$").described("Not a built-in role's name"),
                "permissions": APISchema.array(.string).described("Names that GET /api/v1/permissions lists; none when left out"),
            ], required: ["scope", "name"])
    }

    struct AssignmentBody: Decodable {
        var userId: String?
        var role: String?
        var scope: String?

        /// `user_id` as `IDs.isPlausible` accepts it.
        static let schema: APISchema = .object(
            [
                "user_id": .string(pattern: "^[A-Za-z0-9_-]{1,64}$"),
                "role": APISchema.string(minLength: 1).described("A role of the scope"),
                "scope": .string(pattern: PermissionPlugin.scopePattern),
            ], required: ["user_id", "role", "scope"])
    }

    @Sendable static func scope(_ text: String?) throws -> PermissionScope {
        guard let text, let scope = PermissionScope(parsing: text), scope.workspaceId.map(IDs.isPlausible) ?? true else {
            throw PluginError(.validationFailed, "scope is 'system' or 'workspace:<id>'", details: ["scope": "malformed"])
        }
        return scope
    }

    /// Workspace membership roles belong to the workspace plugin, which keeps the
    /// member list and mirrors the role here; changing them behind its back would
    /// leave the two disagreeing (and let an admin make itself owner).
    static let membershipRoles: Set<String> = ["owner", "admin", "member", "guest"]

    @Sendable static func refuseMembershipRole(_ role: String, in scope: PermissionScope) throws {
        guard let workspace = scope.workspaceId, membershipRoles.contains(role) else { return }
        throw PluginError(
            .conflict, "'\(role)' is a membership role: change it with PATCH /api/v1/workspaces/\(workspace)/members/{user_id}",
            details: ["role": "membership role"])
    }

    /// A granter gives only what it holds itself: every permission of `role`.
    @Sendable static func requireHolding(
        _ permissions: [String], in scope: PermissionScope, principal: Principal, context: any PluginContext
    ) async throws {
        var missing: [String] = []
        for permission in permissions where !(await context.isAllowed(permission, in: scope, for: principal)) { missing.append(permission) }
        guard missing.isEmpty else {
            throw PluginError(
                .forbidden, "you can only grant permissions you hold; missing: \(missing.sorted().joined(separator: ", "))",
                details: ["permissions": "not held"])
        }
    }

    public func setup(_ context: any PluginContext) async throws {
        guard let access = context.accessControl else {
            throw PluginError(.forbidden, "the permission plugin must be listed in server.access_managers")
        }
        let scope = Self.scope

        let scopeQuery = APIParameter.query("scope", .string(pattern: Self.scopePattern), "system (the default) or workspace:<id>")
        let permissions = RouteOptions(summary: "Every permission the running plugins declare").documented(
            response: .list(of: .decoding(PermissionSpec.self)))
        try context.addRoute(.get, "/", options: permissions) { request in
            _ = try request.requirePrincipal()
            return try .json(ListResponse(items: await access.permissions(), nextCursor: nil))
        }
        let roles = RouteOptions(summary: "The roles of a scope (?scope=system|workspace:<id>)").documented(
            query: [scopeQuery], response: .list(of: .decoding(RoleDefinition.self)))
        try context.addRoute(.get, "/roles", options: roles) { request in
            let principal = try request.requirePrincipal()
            let target = try scope(request.query("scope") ?? "system")
            try await context.require("roles.manage", in: target, for: principal)
            return try .json(ListResponse(items: try await access.roles(in: target), nextCursor: nil))
        }
        let defineRole = RouteOptions(summary: "Create or replace a workspace's custom role").documented(
            body: RoleBody.schema, response: .decoding(RoleDefinition.self), status: 201)
        try context.addRoute(.post, "/roles", options: defineRole) { request in
            let principal = try request.requirePrincipal()
            let body = try request.decode(RoleBody.self)
            let target = try scope(body.scope)
            try await context.require("roles.manage", in: target, for: principal)
            // Unknown and system-only names are the host's 422; of the rest, the caller must hold each.
            let workspaceLevel = Set(await access.permissions().filter { $0.grantedTo.contains { $0.hasPrefix("workspace.") } }.map(\.name))
            try await Self.requireHolding(
                (body.permissions ?? []).filter(workspaceLevel.contains), in: target, principal: principal, context: context)
            let role = try await access.defineRole(body.name ?? "", in: target, permissions: body.permissions ?? [], actor: principal.userId)
            return try .json(role, status: 201)
        }
        let listAssignments = RouteOptions(summary: "Role assignments of a user (?user_id=) or a scope (?scope=)").documented(
            query: [.query("user_id", .string, "A user, whose assignments in every scope are listed; scope is then ignored"), scopeQuery],
            response: .list(of: .decoding(RoleAssignment.self)))
        try context.addRoute(.get, "/assignments", options: listAssignments) { request in
            let principal = try request.requirePrincipal()
            if let user = request.query("user_id") {
                if user != principal.userId { try await context.require("roles.manage", in: .system, for: principal) }
                return try .json(ListResponse(items: try await access.assignments(of: user), nextCursor: nil))
            }
            let target = try scope(request.query("scope") ?? "system")
            try await context.require("roles.manage", in: target, for: principal)
            return try .json(ListResponse(items: try await access.assignments(in: target), nextCursor: nil))
        }
        let assign = RouteOptions(summary: "Give a user a role in a scope").documented(
            body: AssignmentBody.schema, response: .decoding(RoleAssignment.self), status: 201)
        try context.addRoute(.post, "/assignments", options: assign) { request in
            let principal = try request.requirePrincipal()
            let body = try request.decode(AssignmentBody.self)
            var validator = Validator()
            validator.check(IDs.isPlausible(body.userId ?? ""), "user_id", "is required")
            validator.check(!(body.role ?? "").isEmpty, "role", "is required")
            try validator.finish()
            let target = try scope(body.scope)
            try await context.require("roles.manage", in: target, for: principal)
            try Self.refuseMembershipRole(body.role!, in: target)
            if let granted = try await access.roles(in: target).first(where: { $0.name == body.role! }) {
                try await Self.requireHolding(granted.permissions, in: target, principal: principal, context: context)
            }
            try await access.assignRole(body.role!, to: body.userId!, in: target, actor: principal.userId)
            return try .json(RoleAssignment(userId: body.userId!, role: body.role!, scope: target), status: 201)
        }
        let remove = RouteOptions(summary: "Take a role away (?user_id=&role=&scope=)").documented(
            query: [.query("user_id", .string, required: true), .query("role", .string, required: true), scopeQuery], status: 204)
        try context.addRoute(.delete, "/assignments", options: remove) { request in
            let principal = try request.requirePrincipal()
            guard let user = request.query("user_id"), let role = request.query("role") else {
                throw PluginError(.validationFailed, "user_id and role are required", details: ["user_id": "is required", "role": "is required"])
            }
            let target = try scope(request.query("scope") ?? "system")
            try await context.require("roles.manage", in: target, for: principal)
            try Self.refuseMembershipRole(role, in: target)
            if target == .system, role == "admin" {
                let admins = try await access.assignments(in: .system).filter { $0.role == "admin" }
                if admins.count == 1, admins[0].userId == user {
                    throw PluginError(.conflict, "this is the last system admin; make another admin first")
                }
            }
            try await access.removeRole(role, from: user, in: target, actor: principal.userId)
            return .noContent
        }
    }
}
