/// Where a permission applies: the whole system, or one workspace.
public struct PermissionScope: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The workspace, or `nil` for the system scope.
    public var workspaceId: String?

    /// Creates a scope; `nil` is the system scope.
    public init(workspaceId: String?) {
        self.workspaceId = workspaceId
    }

    /// The system scope: system roles (`admin`, `user`) apply.
    public static var system: PermissionScope { PermissionScope(workspaceId: nil) }

    /// One workspace: its roles (`owner`, `admin`, `member`, `guest`, custom ones) apply, and system roles too.
    public static func workspace(_ id: String) -> PermissionScope { PermissionScope(workspaceId: id) }

    /// `system` or `workspace:<id>`.
    public var description: String { workspaceId.map { "workspace:\($0)" } ?? "system" }

    /// Parses ``description``; `nil` for anything else.
    public init?(parsing text: String) {
        if text == "system" {
            self.init(workspaceId: nil)
        } else if text.hasPrefix("workspace:"), text.count > 10 {
            self.init(workspaceId: String(text.dropFirst(10)))
        } else {
            return nil
        }
    }
}
