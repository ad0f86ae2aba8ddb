import QuikMariaDB
import QuikSDK
import QuikSupport

/// The built-in roles and which permissions each holds, derived from what the
/// running plugins declare.
package struct RoleCatalog: Sendable {
    package static let systemRoles: Set<String> = ["admin", "user"]
    package static let workspaceRoles: Set<String> = ["owner", "admin", "member", "guest"]

    /// Every declared permission, by name.
    package let permissions: [String: PermissionSpec]
    /// Permission names per built-in role key (`system.user`, `workspace.admin`, …).
    private let grants: [String: Set<String>]

    package init(declared: [PermissionSpec]) {
        var permissions: [String: PermissionSpec] = [:]
        var grants: [String: Set<String>] = [:]
        for spec in declared {
            permissions[spec.name] = spec
            for role in spec.grantedTo { grants[role, default: []].insert(spec.name) }
            if spec.grantedTo.contains(where: { $0.hasPrefix("workspace.") }) {
                grants["workspace.owner", default: []].insert(spec.name)
            }
        }
        grants["system.admin"] = Set(permissions.keys)
        self.permissions = permissions
        self.grants = grants
    }

    /// Whether a workspace role may hold `permission`: only what some built-in
    /// workspace role holds (all of which owners hold); the rest is the system's.
    package func isWorkspacePermission(_ permission: String) -> Bool {
        grants["workspace.owner"]?.contains(permission) == true
    }

    /// The permissions a built-in role holds in a scope of its kind.
    package func builtIn(_ role: String, workspace: Bool) -> Set<String> {
        grants[(workspace ? "workspace." : "system.") + role] ?? []
    }

    package func isBuiltIn(_ role: String, in scope: PermissionScope) -> Bool {
        scope.workspaceId == nil ? Self.systemRoles.contains(role) : Self.workspaceRoles.contains(role)
    }

    /// The built-in roles of a scope.
    package func builtInRoles(in scope: PermissionScope) -> [RoleDefinition] {
        let workspace = scope.workspaceId != nil
        let names = workspace ? ["owner", "admin", "member", "guest"] : ["admin", "user"]
        return names.map {
            RoleDefinition(name: $0, scope: scope, permissions: builtIn($0, workspace: workspace).sorted(), builtIn: true)
        }
    }
}

/// Role names: lowercase letters, digits, `_` and `-`, up to 40 characters.
package enum RoleName {
    package static func isValid(_ name: String) -> Bool {
        (1...40).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }
}
