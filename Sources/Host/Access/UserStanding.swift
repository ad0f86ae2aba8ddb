/// What the host knows of one user's roles and standing, as cached.
struct UserStanding: Sendable {
    /// System roles assigned (the implicit `user` is not stored).
    var systemRoles: Set<String> = []
    /// Roles per workspace id.
    var workspaceRoles: [String: Set<String>] = [:]
    var deactivated = false
}
