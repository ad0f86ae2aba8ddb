/// A permission a plugin declares in its manifest, and the built-in roles that hold it.
public struct PermissionSpec: Sendable, Codable, Equatable {
    /// Dotted name, such as `messages.delete_any`.
    public var name: String
    /// One line for the permission list.
    public var summary: String
    /// Built-in roles granted this permission: `system.user`, `workspace.admin`,
    /// `workspace.member`, `workspace.guest`. System admins hold every permission;
    /// workspace owners hold every permission any workspace role holds.
    public var grantedTo: [String]

    /// Creates a permission.
    public init(_ name: String, summary: String = "", grantedTo: [String] = []) {
        self.name = name
        self.summary = summary
        self.grantedTo = grantedTo
    }
}
