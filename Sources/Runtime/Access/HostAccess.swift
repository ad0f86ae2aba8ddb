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
    struct Cache {
        var users: [String: UserStanding] = [:]
        var customRoles: [String: [String: Set<String>]] = [:]
        /// Bumped by every invalidation, so a lookup that raced a change does not store a stale answer.
        var generation = 0
    }

    /// Users kept in the cache before it starts over.
    package static let cacheLimit = 50_000

    let database: HostDatabase
    let gateway: any RealtimeHub
    let logger: Logger
    private let cache = Mutex(Cache())
    /// Sessions revoked within an access token's lifetime, and when: a token of one is refused.
    /// Loaded at start, added to by this node's revocations and by other nodes' events.
    private let revokedSessions = Mutex<[String: Date]>([:])
    /// Permissions per plugin, and the catalog derived from them: built when a plugin
    /// starts or stops, read on every permission check.
    private let declared = Mutex<(byPlugin: [String: [PermissionSpec]], catalog: RoleCatalog)>(([:], RoleCatalog(declared: [])))

    package init(database: HostDatabase, gateway: any RealtimeHub, logger: Logger) {
        self.database = database
        self.gateway = gateway
        self.logger = logger
    }

    var schema: String { Identifier.quote(database.configuration.hostSchema) }

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
                CREATE TABLE IF NOT EXISTS \(schema).revoked_sessions (
                  session_id VARCHAR(64) NOT NULL PRIMARY KEY,
                  user_id VARCHAR(64) NOT NULL,
                  revoked_at DATETIME(3) NOT NULL,
                  KEY by_time (revoked_at)
                )
                """, [])
            let recent = Date().addingTimeInterval(-Self.revocationMemory)
            _ = try await connection.perform("DELETE FROM \(schema).revoked_sessions WHERE revoked_at < ?", [.date(recent)])
            let rows = try await connection.perform(
                "SELECT session_id, revoked_at FROM \(schema).revoked_sessions WHERE revoked_at >= ?", [.date(recent)]
            ).0
            revokedSessions.withLock { sessions in
                for row in rows {
                    if let id = row["session_id"].string { sessions[id] = row["revoked_at"].date ?? Date() }
                }
            }
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

    func update(_ plugin: String, _ permissions: [PermissionSpec]?) {
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
        if let session = principal.sessionId, isRevoked(session: session) { return nil }
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
        // Workspace roles count only for members (a membership role held) and only for workspace permissions.
        guard let workspace = scope.workspaceId, let roles = standing.workspaceRoles[workspace],
            !roles.isDisjoint(with: RoleCatalog.workspaceRoles), catalog.isWorkspacePermission(permission)
        else { return false }
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

    func customRoles(of workspace: String) async throws -> [String: Set<String>] {
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

    // MARK: Sessions

    /// How long a revocation is remembered: past an access token's lifetime (15 min), with a margin.
    package static let revocationMemory: TimeInterval = 3600

    package func isRevoked(session: String) -> Bool {
        revokedSessions.withLock { $0[session] != nil }
    }

    func remember(revoked sessionIds: [String], at date: Date = Date()) {
        revokedSessions.withLock { sessions in
            if sessions.count > 10_000 {
                sessions = sessions.filter { date.timeIntervalSince($0.value) < Self.revocationMemory }
            }
            for id in sessionIds { sessions[id] = date }
        }
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
                if event.topic == HostTopic.sessionsRevoked, let sessions = change.sessionIds {
                    self.remember(revoked: sessions)
                    self.gateway.disconnect(sessionIds: Set(sessions))
                }
                if event.topic == HostTopic.roleDefined, let workspace = change.scope.flatMap(PermissionScope.init(parsing:))?.workspaceId {
                    self.invalidate(workspace: workspace)
                }
            }
        ]
    }
}
