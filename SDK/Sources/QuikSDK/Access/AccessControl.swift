/// A role: built in (`admin`, `user`; `owner`, `admin`, `member`, `guest`) or a workspace's custom role.
public struct RoleDefinition: Sendable, Codable, Equatable {
    /// The role's name, unique in its scope.
    public var name: String
    /// Where the role applies.
    public var scope: PermissionScope
    /// The permissions the role holds.
    public var permissions: [String]
    /// Whether the host defines it (built-in roles cannot be changed).
    public var builtIn: Bool

    /// Creates a role value.
    public init(name: String, scope: PermissionScope, permissions: [String], builtIn: Bool) {
        self.name = name
        self.scope = scope
        self.permissions = permissions
        self.builtIn = builtIn
    }
}

/// One role held by one user in one scope.
public struct RoleAssignment: Sendable, Codable, Equatable {
    /// The user.
    public var userId: String
    /// The role's name.
    public var role: String
    /// Where it is held.
    public var scope: PermissionScope

    /// Creates an assignment value.
    public init(userId: String, role: String, scope: PermissionScope) {
        self.userId = userId
        self.role = role
        self.scope = scope
    }
}

/// Administration of roles and of users' standing, kept and enforced by the host.
///
/// Only plugins the deployment names in `server.access_managers` receive it.
/// Every change takes effect on the caller's next request and is published as
/// an `access.*` event (`access.role_assigned`, `access.role_removed`,
/// `access.role_defined`, `access.user_deactivated`, `access.user_reactivated`).
public protocol AccessControl: Sendable {
    /// Every permission the running plugins declare.
    func permissions() async -> [PermissionSpec]

    /// The roles of a scope: the built-in ones, and a workspace's custom ones.
    func roles(in scope: PermissionScope) async throws -> [RoleDefinition]

    /// Creates or replaces a custom role in a workspace; `actor` is recorded in the event.
    func defineRole(_ name: String, in scope: PermissionScope, permissions: [String], actor: String?) async throws -> RoleDefinition

    /// Gives a user a role in a scope (idempotent).
    func assignRole(_ role: String, to userId: String, in scope: PermissionScope, actor: String?) async throws

    /// Takes a role away (idempotent).
    func removeRole(_ role: String, from userId: String, in scope: PermissionScope, actor: String?) async throws

    /// The roles a user holds, in every scope.
    func assignments(of userId: String) async throws -> [RoleAssignment]

    /// The users holding roles in a scope.
    func assignments(in scope: PermissionScope) async throws -> [RoleAssignment]

    /// Deactivates or reactivates a user. A deactivated user's tokens are refused
    /// with 401 from the next request on, and their sockets are closed with 4401.
    func setDeactivated(_ deactivated: Bool, userId: String, actor: String?) async throws

    /// Whether a user is deactivated.
    func isDeactivated(_ userId: String) async throws -> Bool

    /// Ends sign-in sessions of a user: access tokens carrying one of them are refused
    /// with 401 from the next request on, and their sockets are closed with 4401. Since SDK 1.4.
    func revokeSessions(_ sessionIds: [String], userId: String, actor: String?) async throws
}

extension AccessControl {
    /// Refuses, as a host older than SDK 1.4 would.
    public func revokeSessions(_ sessionIds: [String], userId: String, actor: String?) async throws {
        throw PluginError(.unavailable, "this host cannot revoke sessions")
    }
}
