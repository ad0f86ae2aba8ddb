import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import Synchronization

/// Role-based access control, kept in the host's schema and answered from a cache.
///
/// Every change goes through here: it is written together with an `access.*`
/// event in the host's outbox (one transaction, so the audit log misses none,
/// even across a crash), the cache entries it touches are dropped before the
/// call returns (so the very next request sees it), and the relay then publishes
/// the event, which other subscribers (the audit plugin; on a cluster, other
/// nodes) receive and which clears this cache again.
package final class HostAccess: Sendable {
    private struct Cache {
        var users: [String: UserStanding] = [:]
        var customRoles: [String: [String: Set<String>]] = [:]
        /// Bumped by every invalidation, so a lookup that raced a change does not store a stale answer.
        var generation = 0
    }

    /// Users kept in the cache before it starts over.
    package static let cacheLimit = 50_000

    private let database: HostDatabase
    private let gateway: any RealtimeHub
    private let logger: Logger
    private let cache = Mutex(Cache())
    /// Permissions per plugin, and the catalog derived from them: built when a plugin
    /// starts or stops, read on every permission check.
    private let declared = Mutex<(byPlugin: [String: [PermissionSpec]], catalog: RoleCatalog)>(([:], RoleCatalog(declared: [])))

    package init(database: HostDatabase, gateway: any RealtimeHub, logger: Logger) {
        self.database = database
        self.gateway = gateway
        self.logger = logger
    }

    private var schema: String { Identifier.quote(database.configuration.hostSchema) }

    /// Creates the role and standing tables in the host's schema.
    package func prepare() async throws {
        try await database.admin.withConnection { connection in
            _ = try await connection.perform(
                """
                CREATE TABLE IF NOT EXISTS \(schema).role_assignments (
                  user_id VARCHAR(64) NOT NULL,
                  scope VARCHAR(100) NOT NULL,
                  role VARCHAR(40) NOT NULL,
                  assigned_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (user_id, scope, role),
                  KEY by_scope (scope, role)
                )
                """, [])
            _ = try await connection.perform(
                """
                CREATE TABLE IF NOT EXISTS \(schema).custom_roles (
                  workspace_id VARCHAR(64) NOT NULL,
                  name VARCHAR(40) NOT NULL,
                  permissions TEXT NOT NULL,
                  updated_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (workspace_id, name)
                )
                """, [])
            _ = try await connection.perform(
                """
                CREATE TABLE IF NOT EXISTS \(schema).deactivated_users (
                  user_id VARCHAR(64) NOT NULL PRIMARY KEY,
                  deactivated_at DATETIME(3) NOT NULL
                )
                """, [])
        }
    }

    // MARK: Declared permissions

    /// Records the permissions a plugin's active version declares.
    package func declare(_ permissions: [PermissionSpec], plugin: String) {
        update(plugin, permissions)
    }

    /// Forgets a plugin's permissions when it stops.
    package func withdraw(plugin: String) {
        update(plugin, nil)
    }

    private func update(_ plugin: String, _ permissions: [PermissionSpec]?) {
        declared.withLock { declared in
            declared.byPlugin[plugin] = permissions
            declared.catalog = RoleCatalog(declared: declared.byPlugin.keys.sorted().flatMap { declared.byPlugin[$0]! })
        }
    }

    package var catalog: RoleCatalog { declared.withLock { $0.catalog } }

    // MARK: Answers

    /// The principal as the host trusts it: `nil` for a deactivated user, and its
    /// system roles as RBAC holds them now (never as an older token claimed).
    package func admit(_ principal: Principal) async throws -> Principal? {
        let standing = try await standing(of: principal.userId)
        guard !standing.deactivated else { return nil }
        var admitted = principal
        if principal.roles.isEmpty, standing.systemRoles.isEmpty {
            admitted.roles = ["user"]
        } else {
            admitted.roles = Array(Set(principal.roles).union(standing.systemRoles).union(["user"])).sorted()
        }
        return admitted
    }

    /// Whether `principal` holds `permission` in `scope`.
    package func isAllowed(_ permission: String, in scope: PermissionScope, for principal: Principal) async throws -> Bool {
        let standing = try await standing(of: principal.userId)
        guard !standing.deactivated else { return false }
        let systemRoles = standing.systemRoles.union(principal.roles).union(["user"])
        if systemRoles.contains("admin") { return true }
        let catalog = self.catalog
        if systemRoles.contains(where: { catalog.builtIn($0, workspace: false).contains(permission) }) { return true }
        guard let workspace = scope.workspaceId, let roles = standing.workspaceRoles[workspace], !roles.isEmpty else { return false }
        var custom: [String: Set<String>]?
        for role in roles {
            if RoleCatalog.workspaceRoles.contains(role) {
                if catalog.builtIn(role, workspace: true).contains(permission) { return true }
            } else {
                if custom == nil { custom = try await customRoles(of: workspace) }
                if custom?[role]?.contains(permission) == true { return true }
            }
        }
        return false
    }

    /// A user's roles and standing, from the cache or the database.
    package func standing(of userId: String) async throws -> UserStanding {
        let (cached, generation) = cache.withLock { ($0.users[userId], $0.generation) }
        if let cached { return cached }
        let (roles, deactivated) = try await database.admin.withConnection { connection in
            let roles = try await connection.perform(
                "SELECT scope, role FROM \(schema).role_assignments WHERE user_id = ?", [.text(userId)]
            ).0
            let deactivated = try await connection.perform(
                "SELECT 1 FROM \(schema).deactivated_users WHERE user_id = ?", [.text(userId)]
            ).0
            return (roles, !deactivated.isEmpty)
        }
        var standing = UserStanding(deactivated: deactivated)
        for row in roles {
            guard let scopeText = row["scope"].string, let role = row["role"].string,
                let scope = PermissionScope(parsing: scopeText)
            else { continue }
            if let workspace = scope.workspaceId {
                standing.workspaceRoles[workspace, default: []].insert(role)
            } else {
                standing.systemRoles.insert(role)
            }
        }
        cache.withLock { cache in
            guard cache.generation == generation else { return }
            if cache.users.count >= Self.cacheLimit { cache.users.removeAll() }
            cache.users[userId] = standing
        }
        return standing
    }

    private func customRoles(of workspace: String) async throws -> [String: Set<String>] {
        let (cached, generation) = cache.withLock { ($0.customRoles[workspace], $0.generation) }
        if let cached { return cached }
        let rows = try await database.admin.withConnection { connection in
            try await connection.perform(
                "SELECT name, permissions FROM \(schema).custom_roles WHERE workspace_id = ?", [.text(workspace)]
            ).0
        }
        var roles: [String: Set<String>] = [:]
        for row in rows {
            guard let name = row["name"].string else { continue }
            roles[name] = Set((row["permissions"].string ?? "").split(separator: "\n").map(String.init))
        }
        cache.withLock { cache in
            guard cache.generation == generation else { return }
            cache.customRoles[workspace] = roles
        }
        return roles
    }

    // MARK: Invalidation

    /// Drops what the cache holds for a user.
    package func invalidate(user userId: String) {
        cache.withLock {
            $0.users[userId] = nil
            $0.generation += 1
        }
    }

    /// Drops a workspace's custom roles.
    package func invalidate(workspace: String) {
        cache.withLock {
            $0.customRoles[workspace] = nil
            $0.generation += 1
        }
    }

    /// The host's own subscription: every `access.*` event clears what it names,
    /// so a change made by another node is seen here too.
    package var subscriptions: [EventBus.Subscription] {
        let pattern = try! TopicPattern("access.**")
        return [
            EventBus.Subscription(pattern: pattern, plugin: "host") { [weak self] event in
                guard let self, let change = try? JSONDecoder.quik.decode(AccessChangeEvent.self, from: event.payload) else { return }
                if let user = change.userId { self.invalidate(user: user) }
                if event.topic == HostTopic.roleDefined, let workspace = change.scope.flatMap(PermissionScope.init(parsing:))?.workspaceId {
                    self.invalidate(workspace: workspace)
                }
            }
        ]
    }

    // MARK: Administration

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
            try await connection.perform(
                "DELETE FROM \(schema).role_assignments WHERE user_id = ? AND scope = ? AND role = ?",
                [.text(userId), .text(scope.description), .text(role)]
            ).1.affectedRows
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
