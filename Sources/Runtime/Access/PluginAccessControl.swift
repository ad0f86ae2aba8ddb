import QuikMariaDB
import QuikSDK
import QuikSupport

/// The ``AccessControl`` an access-manager plugin receives.
package struct PluginAccessControl: AccessControl {
    package let access: HostAccess

    package func permissions() async -> [PermissionSpec] {
        access.catalog.permissions.values.sorted { $0.name < $1.name }
    }

    package func roles(in scope: PermissionScope) async throws -> [RoleDefinition] {
        try await access.roles(in: scope)
    }

    package func defineRole(_ name: String, in scope: PermissionScope, permissions: [String], actor: String?) async throws -> RoleDefinition {
        try await access.defineRole(name, in: scope, permissions: permissions, actor: actor)
    }

    package func assignRole(_ role: String, to userId: String, in scope: PermissionScope, actor: String?) async throws {
        try await access.assignRole(role, to: userId, in: scope, actor: actor)
    }

    package func removeRole(_ role: String, from userId: String, in scope: PermissionScope, actor: String?) async throws {
        try await access.removeRole(role, from: userId, in: scope, actor: actor)
    }

    package func assignments(of userId: String) async throws -> [RoleAssignment] {
        try await access.assignments(of: userId)
    }

    package func assignments(in scope: PermissionScope) async throws -> [RoleAssignment] {
        try await access.assignments(in: scope)
    }

    package func setDeactivated(_ deactivated: Bool, userId: String, actor: String?) async throws {
        try await access.setDeactivated(deactivated, userId: userId, actor: actor)
    }

    package func isDeactivated(_ userId: String) async throws -> Bool {
        try await access.isDeactivated(userId)
    }

    package func revokeSessions(_ sessionIds: [String], userId: String, actor: String?) async throws {
        try await access.revokeSessions(sessionIds, userId: userId, actor: actor)
    }
}
