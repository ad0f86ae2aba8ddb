import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// Profiles in the plugin's own schema.
struct UserDirectory: Sendable {
    let context: any PluginContext
    let database: any PluginDatabase

    private func canSeeEmail(of userId: String, viewer: Principal) async -> Bool {
        if viewer.userId == userId || viewer.roles.contains("admin") { return true }
        return await context.isAllowed("users.view_email", in: .system, for: viewer)
    }

    /// Creates a profile if there is none: from the registration event, or by asking `auth`.
    func ensureProfile(_ userId: String, known: Registered?) async throws {
        var email = known?.email
        var name = known?.displayName
        var created = Date()
        if email == nil || name == nil {
            let account = try await context.call("auth", "account", AccountRequest(userId: userId), as: AccountReply.self)
            (email, name, created) = (account.email, account.displayName, account.createdAt ?? Date())
        }
        try await database.execute(
            "INSERT IGNORE INTO profiles (id, email, display_name, created_at, name_words, email_local) VALUES (?, ?, ?, ?, ?, ?)",
            [
                .text(userId), .text(email ?? ""), .text(name ?? ""), .date(created), .text(SearchKey.nameWords(name ?? "")),
                .text(SearchKey.emailLocal(email ?? "")),
            ])
    }

    /// Computes the search keys of profiles stored before they existed.
    func fillSearchKeys() async throws {
        let rows = try await database.query("SELECT id, email, display_name FROM profiles WHERE name_words IS NULL OR email_local IS NULL", [])
        for row in rows {
            try await database.execute(
                "UPDATE profiles SET name_words = ?, email_local = ? WHERE id = ?",
                [
                    .text(SearchKey.nameWords(row["display_name"].string ?? "")), .text(SearchKey.emailLocal(row["email"].string ?? "")),
                    .text(row["id"].string ?? ""),
                ])
        }
    }

    /// `user.contacts`: addresses, names and time zones of people.
    func contacts(_ query: ContactsQuery) async throws -> Contacts {
        let ids = Array(query.userIds.filter(IDs.isPlausible).prefix(1000))
        guard !ids.isEmpty else { return Contacts(contacts: []) }
        let rows = try await database.query(
            "SELECT id, email, display_name, timezone FROM profiles WHERE id IN (\(sqlPlaceholders(ids.count)))",
            ids.map(SQLValue.text))
        return Contacts(contacts: rows.map {
            Contact(
                id: $0["id"].string ?? "", email: $0["email"].string ?? "", displayName: $0["display_name"].string ?? "",
                timezone: $0["timezone"].string ?? "UTC")
        })
    }

    /// `user.lookup`: people by id, or by display name compared word by word without case or accents.
    func lookup(_ request: UserLookup) async throws -> UserLookupReply {
        let ids = Array(request.userIds.filter(IDs.isPlausible).prefix(200))
        let names = Array(request.displayNames.prefix(50)).map(SearchKey.nameWords).filter { !$0.isEmpty }
        guard !ids.isEmpty || !names.isEmpty else { return UserLookupReply(users: []) }
        var conditions: [String] = []
        if !ids.isEmpty { conditions.append("id IN (\(sqlPlaceholders(ids.count)))") }
        if !names.isEmpty { conditions.append("name_words IN (\(sqlPlaceholders(names.count)))") }
        let rows = try await database.query(
            "SELECT id, display_name, timezone FROM profiles WHERE \(conditions.joined(separator: " OR ")) LIMIT 1000",
            ids.map(SQLValue.text) + names.map(SQLValue.text))
        return UserLookupReply(users: rows.map {
            UserSummary(id: $0["id"].string ?? "", displayName: $0["display_name"].string ?? "", timezone: $0["timezone"].string ?? "UTC")
        })
    }

    /// System admins see everyone; others themselves and the people they share a workspace with.
    private static func seesEveryone(_ viewer: Principal) -> Bool { viewer.roles.contains("admin") }

    func canSee(_ userId: String, viewer: Principal) async throws -> Bool {
        if userId == viewer.userId || Self.seesEveryone(viewer) { return true }
        return try await context.call(
            "workspace", "shares", SharedWorkspaceQuery(userId: viewer.userId, otherId: userId), as: SharedWorkspaceReply.self
        ).shared
    }

    /// A profile as `viewer` may see it; a stranger is 404, as an unknown id is.
    func visibleProfile(_ userId: String, viewer: Principal) async throws -> Profile {
        guard IDs.isPlausible(userId), try await canSee(userId, viewer: viewer) else { throw PluginError(.notFound, "no such user") }
        return try await profile(userId, viewer: viewer, createIfMissing: false)
    }

    func profile(_ userId: String, viewer: Principal, createIfMissing: Bool) async throws -> Profile {
        guard IDs.isPlausible(userId) else { throw PluginError(.notFound, "no such user") }
        if let row = try await database.query("SELECT \(Profile.columns) FROM profiles WHERE id = ?", [.text(userId)]).first {
            return Profile(row: row, showEmail: await canSeeEmail(of: userId, viewer: viewer))
        }
        // The registration event may still be on its way; the account is the source of truth.
        if !createIfMissing {
            let account = try? await context.call("auth", "account", AccountRequest(userId: userId), as: AccountReply.self)
            guard account != nil else { throw PluginError(.notFound, "no such user") }
        }
        try await ensureProfile(userId, known: nil)
        return try await profile(userId, viewer: viewer, createIfMissing: false)
    }

    func update(_ principal: Principal, with patch: ProfilePatch) async throws -> Profile {
        var validator = Validator()
        let name = Checks.trimmed(patch.displayName)
        if let name {
            validator.check(!name.isEmpty, "display_name", "must not be empty")
            validator.check(name, "display_name", atMost: 80)
        }
        validator.check(patch.title, "title", atMost: 100)
        validator.check(patch.statusText, "status_text", atMost: 100)
        validator.check(patch.statusEmoji, "status_emoji", atMost: 64)
        if let zone = patch.timezone { validator.check(TimeZones.known.contains(zone), "timezone", "is not an IANA time zone") }
        try validator.finish()

        _ = try await profile(principal.userId, viewer: principal, createIfMissing: true)
        var assignments: [String] = []
        var values: [SQLValue] = []
        for (column, value) in [
            ("display_name", name), ("title", patch.title), ("timezone", patch.timezone), ("status_text", patch.statusText),
            ("status_emoji", patch.statusEmoji),
        ] {
            if let value {
                assignments.append("\(column) = ?")
                values.append(.text(value))
            }
        }
        if let name {
            assignments.append("name_words = ?")
            values.append(.text(SearchKey.nameWords(name)))
        }
        if !assignments.isEmpty {
            try await database.transaction { transaction in
                try await transaction.execute(
                    "UPDATE profiles SET \(assignments.joined(separator: ", ")) WHERE id = ?", values + [.text(principal.userId)])
                let row = try await transaction.query("SELECT \(Profile.columns) FROM profiles WHERE id = ?", [.text(principal.userId)])
                if let row = row.first { try await transaction.publish("user.updated", Profile(row: row, showEmail: false)) }
            }
        }
        return try await profile(principal.userId, viewer: principal, createIfMissing: false)
    }

    func search(_ query: String?, page: Page, viewer: Principal) async throws -> ListResponse<Profile> {
        let showAll = await context.isAllowed("users.view_email", in: .system, for: viewer)
        let among = Self.seesEveryone(viewer)
            ? nil
            : try await context.call("workspace", "peers", PeersQuery(userId: viewer.userId), as: PeersReply.self).userIds + [viewer.userId]
        let result = try await list(UserListRequest(query: query, limit: page.limit, cursor: page.cursor), showEmail: showAll, among: among)
        return ListResponse(
            items: result.items.map { profile in
                var profile = profile
                if !showAll && profile.id != viewer.userId { profile.email = nil }
                return profile
            }, nextCursor: result.nextCursor)
    }

    /// Users matching `query`, oldest first, paged by id: each query word starts a word of the
    /// display name, case-, accent- and width-insensitively. With `showEmail` (admins) a word may
    /// start the email's local part instead, and the whole query may start the email.
    /// With `among`, only those users.
    func list(_ request: UserListRequest, showEmail: Bool, among: [String]? = nil) async throws -> ListResponse<Profile> {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let among {
            conditions.append("id IN (" + among.map { _ in "?" }.joined(separator: ", ") + ")")
            values += among.map(SQLValue.text)
        }
        if let query = Checks.trimmed(request.query), !query.isEmpty {
            let words = SearchKey.words(query)
            var byWords = words.map { _ in showEmail ? "(name_words LIKE ? OR email_local LIKE ?)" : "name_words LIKE ?" }
            for word in words {
                let escaped = sqlLikeEscaped(word)
                values.append(.text("% " + escaped + "%"))
                if showEmail { values.append(.text(escaped + "%")) }
            }
            if byWords.isEmpty { byWords = ["FALSE"] }
            var condition = "(" + byWords.joined(separator: " AND ") + ")"
            if showEmail {
                condition = "(\(condition) OR email LIKE ?)"
                values.append(.text(sqlLikeEscaped(query.lowercased()) + "%"))
            }
            conditions.append(condition)
        }
        if let cursor = request.cursor {
            conditions.append("id > ?")
            values.append(.text(cursor))
        }
        let limit = min(max(request.limit, 1), 200)
        let rows = try await database.query(
            "SELECT \(Profile.columns) FROM profiles \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY id LIMIT \(limit + 1)",
            values)
        return ListResponse(fetched: rows.map { Profile(row: $0, showEmail: showEmail) }, limit: limit) { $0.id }
    }

    func setDeactivated(_ deactivated: Bool, userId: String, actor: Principal) async throws -> Profile {
        guard let access = context.accessControl else {
            throw PluginError(.unavailable, "this deployment does not let the user plugin manage access (server.access_managers)")
        }
        if deactivated, userId == actor.userId { throw PluginError(.conflict, "you cannot deactivate yourself") }
        _ = try await profile(userId, viewer: actor, createIfMissing: false)
        try await access.setDeactivated(deactivated, userId: userId, actor: actor.userId)
        try await database.execute("UPDATE profiles SET deactivated = ? WHERE id = ?", [.int(deactivated ? 1 : 0), .text(userId)])
        return try await profile(userId, viewer: actor, createIfMissing: false)
    }
}
