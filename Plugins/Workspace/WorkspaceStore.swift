import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// Workspaces, members and invites in the plugin's schema; roles mirrored into the host's RBAC.
struct WorkspaceStore: Sendable {
    static let inviteLifetime: TimeInterval = 7 * 86400

    let context: any PluginContext
    let database: any PluginDatabase
    let access: any AccessControl

    // MARK: Reading

    func role(of userId: String, in workspaceId: String) async throws -> String? {
        try await database.query(
            "SELECT role FROM members WHERE workspace_id = ? AND user_id = ?", [.text(workspaceId), .text(userId)]
        ).first?["role"].string
    }

    /// The caller's role, or 404 when they are not a member (a workspace they may not see does not exist for them).
    func requireMember(_ principal: Principal, of workspaceId: String) async throws -> String {
        guard IDs.isPlausible(workspaceId), let role = try await role(of: principal.userId, in: workspaceId) else {
            throw PluginError(.notFound, "no such workspace")
        }
        return role
    }

    func workspace(_ id: String, for principal: Principal) async throws -> Workspace {
        _ = try await requireMember(principal, of: id)
        guard let row = try await database.query(
            "SELECT \(Workspace.columns), m.role FROM workspaces w JOIN members m ON m.workspace_id = w.id AND m.user_id = ? WHERE w.id = ?",
            [.text(principal.userId), .text(id)]
        ).first else { throw PluginError(.notFound, "no such workspace") }
        return Workspace(row: row)
    }

    func workspaces(of principal: Principal) async throws -> [Workspace] {
        try await database.query(
            "SELECT \(Workspace.columns), m.role FROM workspaces w JOIN members m ON m.workspace_id = w.id WHERE m.user_id = ? ORDER BY w.id",
            [.text(principal.userId)]
        ).map(Workspace.init(row:))
    }

    func members(of workspaceId: String, page: Page) async throws -> ListResponse<Member> {
        var values: [SQLValue] = [.text(workspaceId)]
        var after = ""
        if let cursor = page.cursor {
            after = " AND user_id > ?"
            values.append(.text(cursor))
        }
        let rows = try await database.query(
            "SELECT user_id, role, joined_at FROM members WHERE workspace_id = ?\(after) ORDER BY user_id LIMIT \(page.limit + 1)", values)
        let members = rows.map {
            Member(userId: $0["user_id"].string ?? "", role: $0["role"].string ?? "", joinedAt: $0["joined_at"].date ?? Date())
        }
        return ListResponse(fetched: members, limit: page.limit) { $0.userId }
    }

    func peers(of userId: String) async throws -> [String] {
        try await database.query(
            """
            SELECT DISTINCT other.user_id FROM members mine JOIN members other ON other.workspace_id = mine.workspace_id
            WHERE mine.user_id = ? AND other.user_id <> ?
            """, [.text(userId), .text(userId)]
        ).compactMap { $0["user_id"].string }
    }

    func share(_ userId: String, _ otherId: String) async throws -> Bool {
        try await !database.query(
            """
            SELECT 1 FROM members mine JOIN members other ON other.workspace_id = mine.workspace_id
            WHERE mine.user_id = ? AND other.user_id = ? LIMIT 1
            """, [.text(userId), .text(otherId)]
        ).isEmpty
    }

    // MARK: Changing

    func create(_ body: CreateBody, by principal: Principal) async throws -> Workspace {
        let name = Checks.trimmed(body.name) ?? ""
        let slug = Checks.trimmed(body.slug)?.lowercased() ?? ""
        var validator = Validator()
        validator.check(!name.isEmpty, "name", "must not be empty")
        validator.check(name, "name", atMost: 80)
        validator.check(
            (2...40).contains(slug.count) && slug.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") },
            "slug", "must be 2–40 lowercase letters, digits or '-'")
        try validator.finish()
        let id = IDs.make("W")
        let now = Date()
        do {
            try await database.transaction { transaction in
                try await transaction.execute(
                    "INSERT INTO workspaces (id, name, slug, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                    [.text(id), .text(name), .text(slug), .text(principal.userId), .date(now)])
                try await transaction.execute(
                    "INSERT INTO members (workspace_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)",
                    [.text(id), .text(principal.userId), .date(now)])
                try await transaction.publish("workspace.created", ["workspace_id": id, "name": name, "slug": slug, "actor": principal.userId])
                try await transaction.publish(
                    "workspace.member_joined", MembershipChange(workspaceId: id, userId: principal.userId, role: "owner", actor: principal.userId))
            }
        } catch let error as DatabaseError where error.kind == .duplicateKey {
            throw PluginError(.conflict, "the slug '\(slug)' is taken", details: ["slug": "taken"])
        }
        try await access.assignRole("owner", to: principal.userId, in: .workspace(id), actor: principal.userId)
        await context.joinGroup(Self.group(id), userIds: [principal.userId])
        return try await workspace(id, for: principal)
    }

    func invite(_ workspaceId: String, by principal: Principal) async throws -> [String: String] {
        _ = try await requireMember(principal, of: workspaceId)
        try await context.require("workspaces.invite", in: .workspace(workspaceId), for: principal)
        let code = Secrets.token(bytes: 12)
        let expires = Date().addingTimeInterval(Self.inviteLifetime)
        try await database.execute(
            "INSERT INTO invites (code, workspace_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [.text(code), .text(workspaceId), .text(principal.userId), .date(Date()), .date(expires)])
        return ["code": code, "expires_at": QuikTime.format(expires)]
    }

    func join(_ body: JoinBody, principal: Principal) async throws -> Workspace {
        guard let code = Checks.trimmed(body.code), !code.isEmpty,
            let row = try await database.query("SELECT workspace_id, expires_at FROM invites WHERE code = ?", [.text(code)]).first,
            let workspaceId = row["workspace_id"].string, (row["expires_at"].date ?? .distantPast) > Date()
        else { throw PluginError(.notFound, "this invite code is not valid or has expired") }
        let joined = try await database.transaction { transaction -> Bool in
            let outcome = try await transaction.execute(
                "INSERT IGNORE INTO members (workspace_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                [.text(workspaceId), .text(principal.userId), .date(Date())])
            guard outcome.affectedRows == 1 else { return false }
            try await transaction.publish(
                "workspace.member_joined", MembershipChange(workspaceId: workspaceId, userId: principal.userId, role: "member", actor: principal.userId))
            return true
        }
        if joined {
            try await access.assignRole("member", to: principal.userId, in: .workspace(workspaceId), actor: principal.userId)
            await context.joinGroup(Self.group(workspaceId), userIds: [principal.userId])
        }
        return try await workspace(workspaceId, for: principal)
    }

    func setRole(_ role: String?, of userId: String, in workspaceId: String, by principal: Principal) async throws -> Member {
        let callerRole = try await requireMember(principal, of: workspaceId)
        try await context.require("workspaces.manage_members", in: .workspace(workspaceId), for: principal)
        guard let role, WorkspaceRole.all.contains(role) else {
            throw PluginError(.validationFailed, "role is owner, admin, member or guest", details: ["role": "unknown"])
        }
        guard let current = try await self.role(of: userId, in: workspaceId) else { throw PluginError(.notFound, "no such member") }
        if role == "owner" || current == "owner", callerRole != "owner", !principal.roles.contains("admin") {
            throw PluginError(.forbidden, "only owners grant or take away ownership")
        }
        if current == "owner", role != "owner", try await ownerCount(workspaceId) == 1 {
            throw PluginError(.conflict, "a workspace keeps at least one owner")
        }
        if current != role {
            try await database.transaction { transaction in
                try await transaction.execute(
                    "UPDATE members SET role = ? WHERE workspace_id = ? AND user_id = ?", [.text(role), .text(workspaceId), .text(userId)])
                try await transaction.publish(
                    "workspace.member_updated", MembershipChange(workspaceId: workspaceId, userId: userId, role: role, actor: principal.userId))
            }
            try await access.assignRole(role, to: userId, in: .workspace(workspaceId), actor: principal.userId)
            try await access.removeRole(current, from: userId, in: .workspace(workspaceId), actor: principal.userId)
        }
        let joined = try await database.query(
            "SELECT joined_at FROM members WHERE workspace_id = ? AND user_id = ?", [.text(workspaceId), .text(userId)]
        ).first?["joined_at"].date ?? Date()
        return Member(userId: userId, role: role, joinedAt: joined)
    }

    func remove(_ userId: String, from workspaceId: String, by principal: Principal) async throws {
        _ = try await requireMember(principal, of: workspaceId)
        if userId != principal.userId {
            try await context.require("workspaces.manage_members", in: .workspace(workspaceId), for: principal)
        }
        guard let current = try await role(of: userId, in: workspaceId) else { throw PluginError(.notFound, "no such member") }
        if current == "owner", try await ownerCount(workspaceId) == 1 {
            throw PluginError(.conflict, "a workspace keeps at least one owner")
        }
        try await database.transaction { transaction in
            try await transaction.execute("DELETE FROM members WHERE workspace_id = ? AND user_id = ?", [.text(workspaceId), .text(userId)])
            try await transaction.publish(
                "workspace.member_removed", MembershipChange(workspaceId: workspaceId, userId: userId, role: current, actor: principal.userId))
        }
        try await access.removeRole(current, from: userId, in: .workspace(workspaceId), actor: principal.userId)
        await context.leaveGroup(Self.group(workspaceId), userIds: [userId])
    }

    /// Realtime group `workspace:<id>`: every member's sockets (public channel announcements go there).
    static func group(_ workspaceId: String) -> String { "workspace:\(workspaceId)" }

    /// Puts every member back in their workspace groups (the gateway keeps groups in
    /// memory), and gives RBAC any member's role it lacks: membership commits here
    /// first and the role is mirrored after, so a crash in between is mended at the next start.
    func restore() async throws {
        var members: [String: [(user: String, role: String)]] = [:]
        for row in try await database.query("SELECT workspace_id, user_id, role FROM members") {
            if let workspace = row["workspace_id"].string, let user = row["user_id"].string, let role = row["role"].string {
                members[workspace, default: []].append((user, role))
            }
        }
        for (workspace, people) in members {
            await context.joinGroup(Self.group(workspace), userIds: people.map(\.user))
            let held = Set(try await access.assignments(in: .workspace(workspace)).map { "\($0.userId)|\($0.role)" })
            for person in people where !held.contains("\(person.user)|\(person.role)") {
                try await access.assignRole(person.role, to: person.user, in: .workspace(workspace), actor: "workspace")
            }
        }
    }

    private func ownerCount(_ workspaceId: String) async throws -> Int64 {
        try await database.query(
            "SELECT COUNT(*) AS n FROM members WHERE workspace_id = ? AND role = 'owner'", [.text(workspaceId)]
        ).first?["n"].int ?? 0
    }
}
