import QuikSupport
import QuikMariaDB

/// What the host knows of one user's roles and standing, as cached.
package struct UserStanding: Sendable {
    /// System roles assigned (the implicit `user` is not stored).
    package var systemRoles: Set<String> = []
    /// Roles per workspace id.
    package var workspaceRoles: [String: Set<String>] = [:]
    package var deactivated = false
}
