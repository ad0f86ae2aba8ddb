import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import Synchronization

/// Roles, assignments and standing, changed by the plugins `server.access_managers` names.
extension HostAccess {
    package func roles(in scope: PermissionScope) async throws -> [RoleDefinition] {
        var roles = catalog.builtInRoles(in: scope)
        if let workspace = scope.workspaceId {
            let custom = try await customRoles(of: workspace)
            roles += custom.keys.sorted().map {
                RoleDefinition(name: $0, scope: scope, permissions: custom[$0]!.sorted(), builtIn: false)
            }
        }
        return roles
    }

    package func defineRole(_ name: String, in scope: PermissionScope, permissions: [String], actor: String?) async throws -> RoleDefinition {
        guard let workspace = scope.workspaceId else {
            throw PluginError(.validationFailed, "custom roles belong to a workspace", details: ["scope": "must be workspace:<id>"])
        }
        guard RoleName.isValid(name) else {
            throw PluginError(.validationFailed, "a role name is 1–40 lowercase letters, digits, '_' or '-'", details: ["name": "malformed"])
        }
        guard !RoleCatalog.workspaceRoles.contains(name) else {
            throw PluginError(.conflict, "'\(name)' is a built-in role")
        }
        let known = catalog.permissions
        let unknown = permissions.filter { known[$0] == nil }
        guard unknown.isEmpty else {
            throw PluginError(
                .validationFailed, "unknown permissions: \(unknown.joined(separator: ", "))", details: ["permissions": "unknown"])
        }
        let systemOnly = permissions.filter { !catalog.isWorkspacePermission($0) }
        guard systemOnly.isEmpty else {
            throw PluginError(
                .validationFailed, "not workspace permissions: \(systemOnly.joined(separator: ", "))", details: ["permissions": "system-only"])
        }
        let set = Set(permissions)
        let schema = self.schema
        _ = try await write(HostTopic.roleDefined, AccessChangeEvent(userId: nil, role: name, scope: scope.description, actor: actor, permissions: set.sorted())) {
            connection in
            _ = try await connection.perform(
                """
                INSERT INTO \(schema).custom_roles (workspace_id, name, permissions, updated_at) VALUES (?, ?, ?, ?)
                ON DUPLICATE KEY UPDATE permissions = VALUES(permissions), updated_at = VALUES(updated_at)
                """, [.text(workspace), .text(name), .text(set.sorted().joined(separator: "\n")), .date(Date())])
            return 1
        }
        invalidate(workspace: workspace)
        return RoleDefinition(name: name, scope: scope, permissions: set.sorted(), builtIn: false)
    }

    package func assignRole(_ role: String, to userId: String, in scope: PermissionScope, actor: String?) async throws {
        try await checkAssignable(role, in: scope)
        try checkUser(userId)
        if scope.workspaceId != nil, !RoleCatalog.workspaceRoles.contains(role),
            try await standing(of: userId).workspaceRoles[scope.workspaceId!]?.isDisjoint(with: RoleCatalog.workspaceRoles) ?? true
        {
            throw PluginError(.conflict, "roles of a workspace go to its members only", details: ["user_id": "not a member"])
        }
        let schema = self.schema
        _ = try await write(HostTopic.roleAssigned, AccessChangeEvent(userId: userId, role: role, scope: scope.description, actor: actor)) {
            connection in
            try await connection.perform(
                "INSERT IGNORE INTO \(schema).role_assignments (user_id, scope, role, assigned_at) VALUES (?, ?, ?, ?)",
                [.text(userId), .text(scope.description), .text(role), .date(Date())]
            ).1.affectedRows
        }
        invalidate(user: userId)
    }

    package func removeRole(_ role: String, from userId: String, in scope: PermissionScope, actor: String?) async throws {
        let schema = self.schema
        _ = try await write(HostTopic.roleRemoved, AccessChangeEvent(userId: userId, role: role, scope: scope.description, actor: actor)) {
            connection in
            var removed = try await connection.perform(
                "DELETE FROM \(schema).role_assignments WHERE user_id = ? AND scope = ? AND role = ?",
                [.text(userId), .text(scope.description), .text(role)]
            ).1.affectedRows
            // Someone who is no longer a member keeps none of the workspace's roles.
            if removed > 0, scope.workspaceId != nil, RoleCatalog.workspaceRoles.contains(role) {
                let kept = try await connection.perform(
                    "SELECT role FROM \(schema).role_assignments WHERE user_id = ? AND scope = ? FOR UPDATE", [.text(userId), .text(scope.description)]
                ).0.compactMap { $0["role"].string }
                if Set(kept).isDisjoint(with: RoleCatalog.workspaceRoles), !kept.isEmpty {
                    removed += try await connection.perform(
                        "DELETE FROM \(schema).role_assignments WHERE user_id = ? AND scope = ?", [.text(userId), .text(scope.description)]
                    ).1.affectedRows
                }
            }
            return removed
        }
        invalidate(user: userId)
    }

    package func assignments(of userId: String) async throws -> [RoleAssignment] {
        let rows = try await database.admin.withConnection { connection in
            try await connection.perform(
                "SELECT scope, role FROM \(schema).role_assignments WHERE user_id = ? ORDER BY scope, role", [.text(userId)]
            ).0
        }
        return rows.compactMap { row in
            guard let scope = row["scope"].string.flatMap(PermissionScope.init(parsing:)), let role = row["role"].string else { return nil }
            return RoleAssignment(userId: userId, role: role, scope: scope)
        }
    }

    package func assignments(in scope: PermissionScope) async throws -> [RoleAssignment] {
        let rows = try await database.admin.withConnection { connection in
            try await connection.perform(
                "SELECT user_id, role FROM \(schema).role_assignments WHERE scope = ? ORDER BY user_id, role", [.text(scope.description)]
            ).0
        }
        return rows.compactMap { row in
            guard let user = row["user_id"].string, let role = row["role"].string else { return nil }
            return RoleAssignment(userId: user, role: role, scope: scope)
        }
    }

    package func setDeactivated(_ deactivated: Bool, userId: String, actor: String?) async throws {
        try checkUser(userId)
        let schema = self.schema
        _ = try await write(
            deactivated ? HostTopic.userDeactivated : HostTopic.userReactivated, AccessChangeEvent(userId: userId, role: nil, scope: nil, actor: actor)
        ) { connection in
            if deactivated {
                try await connection.perform(
                    "INSERT IGNORE INTO \(schema).deactivated_users (user_id, deactivated_at) VALUES (?, ?)", [.text(userId), .date(Date())]
                ).1.affectedRows
            } else {
                try await connection.perform("DELETE FROM \(schema).deactivated_users WHERE user_id = ?", [.text(userId)]).1.affectedRows
            }
        }
        invalidate(user: userId)
        if deactivated { gateway.disconnect(userId: userId) }
    }

    /// Records the sessions as revoked (with an `access.sessions_revoked` event, so other
    /// nodes learn it too); their tokens are refused and their sockets closed at once.
    package func revokeSessions(_ sessionIds: [String], userId: String, actor: String?) async throws {
        let sessionIds = Array(Set(sessionIds)).sorted()
        guard !sessionIds.isEmpty else { return }
        try checkUser(userId)
        guard sessionIds.allSatisfy({ (1...64).contains($0.utf8.count) }), sessionIds.count <= 1000 else {
            throw PluginError(.validationFailed, "1 to 1000 session ids of 1–64 bytes", details: ["session_ids": "malformed"])
        }
        let schema = self.schema
        let event = AccessChangeEvent(userId: userId, role: nil, scope: nil, actor: actor, sessionIds: sessionIds)
        _ = try await write(HostTopic.sessionsRevoked, event) { connection in
            let now = Date()
            var changed = 0
            for id in sessionIds {
                changed += try await connection.perform(
                    "INSERT IGNORE INTO \(schema).revoked_sessions (session_id, user_id, revoked_at) VALUES (?, ?, ?)",
                    [.text(id), .text(userId), .date(now)]
                ).1.affectedRows
            }
            return changed
        }
        remember(revoked: sessionIds)
        gateway.disconnect(sessionIds: Set(sessionIds))
    }

    package func isDeactivated(_ userId: String) async throws -> Bool {
        try await standing(of: userId).deactivated
    }

    private func checkAssignable(_ role: String, in scope: PermissionScope) async throws {
        if catalog.isBuiltIn(role, in: scope) { return }
        if let workspace = scope.workspaceId, try await customRoles(of: workspace)[role] != nil { return }
        throw PluginError(.validationFailed, "no role '\(role)' in \(scope)", details: ["role": "unknown"])
    }

    private func checkUser(_ userId: String) throws {
        guard (1...64).contains(userId.utf8.count) else {
            throw PluginError(.validationFailed, "a user id is 1–64 bytes", details: ["user_id": "malformed"])
        }
    }

    /// Runs `change` in a transaction on the host's schema and, when it changed
    /// rows, writes `topic` to the host's outbox in the same transaction; the relay
    /// publishes it once committed. Returns the rows changed.
    private func write(
        _ topic: String, _ event: AccessChangeEvent, _ change: @Sendable (MySQLConnection) async throws -> Int
    ) async throws -> Int {
        let payload = try JSONEncoder.quik.encode(event)
        let changed = try await database.hostPool.withConnection { connection in
            _ = try await connection.perform("START TRANSACTION", [])
            do {
                let changed = try await change(connection)
                if changed > 0 {
                    _ = try await connection.perform(
                        "INSERT INTO \(OutboxRelay.table) (id, topic, payload, created_at) VALUES (?, ?, ?, ?)",
                        [.text(EventID.make()), .text(topic), .blob(payload), .date(Date())])
                }
                _ = try await connection.perform("COMMIT", [])
                return changed
            } catch {
                _ = try? await connection.perform("ROLLBACK", [])
                throw error
            }
        }
        if changed > 0 { database.relay.wake(HostCore.outboxSource) }
        return changed
    }
}
