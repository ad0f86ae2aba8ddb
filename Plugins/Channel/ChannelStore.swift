import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// Channels, members and read marks in the plugin's schema, and the realtime
/// groups (`channel:<id>`) kept in step with membership.
struct ChannelStore: Sendable {
    let context: any PluginContext
    let database: any PluginDatabase

    static func group(_ channelId: String) -> String { "channel:\(channelId)" }

    static let select = """
        SELECT c.id, c.workspace_id, COALESCE(c.name, '') AS name, c.kind, c.topic, c.archived, c.created_at,
          (SELECT COUNT(*) FROM channel_members n WHERE n.channel_id = c.id) AS member_count
        FROM channels c
        """

    // MARK: Who may do what

    /// A user's role in a workspace, asked of the workspace plugin; `nil` for a non-member.
    func role(of userId: String, in workspaceId: String) async throws -> String? {
        try await context.call("workspace", "membership", MembershipQuery(workspaceId: workspaceId, userId: userId), as: MembershipReply.self).role
    }

    /// The caller's role in the workspace, or 404.
    func workspaceRole(_ principal: Principal, _ workspaceId: String?) async throws -> String {
        guard let workspaceId, IDs.isPlausible(workspaceId) else {
            throw PluginError(.validationFailed, "workspace_id is required", details: ["workspace_id": "is required"])
        }
        guard let role = try await role(of: principal.userId, in: workspaceId) else { throw PluginError(.notFound, "no such workspace") }
        return role
    }

    struct Standing {
        var channel: Channel
        var memberRole: String?
        var workspaceRole: String?
        var visible: Bool { memberRole != nil || (channel.kind == "public" && workspaceRole != nil && workspaceRole != "guest") }
    }

    func standing(_ channelId: String, _ userId: String) async throws -> Standing? {
        guard IDs.isPlausible(channelId), let row = try await database.query("\(Self.select) WHERE c.id = ?", [.text(channelId)]).first else {
            return nil
        }
        let channel = Channel(row: row)
        let memberRole = try await database.query(
            "SELECT role FROM channel_members WHERE channel_id = ? AND user_id = ?", [.text(channelId), .text(userId)]
        ).first?["role"].string
        let workspaceRole = try await role(of: userId, in: channel.workspaceId)
        return Standing(channel: channel, memberRole: memberRole, workspaceRole: workspaceRole)
    }

    /// The channel as the caller may see it, or 404.
    func visible(_ channelId: String, _ principal: Principal) async throws -> Standing {
        guard let standing = try await standing(channelId, principal.userId), standing.visible else {
            throw PluginError(.notFound, "no such channel")
        }
        return standing
    }

    private func requireManager(_ standing: Standing, _ principal: Principal) async throws {
        if standing.memberRole == "admin" { return }
        try await context.require("channels.manage", in: .workspace(standing.channel.workspaceId), for: principal)
    }

    // MARK: Reading

    func channel(_ id: String) async throws -> Channel {
        guard let row = try await database.query("\(Self.select) WHERE c.id = ?", [.text(id)]).first else {
            throw PluginError(.notFound, "no such channel")
        }
        return Channel(row: row)
    }

    func list(workspaceId: String?, principal: Principal) async throws -> [Channel] {
        let role = try await workspaceRole(principal, workspaceId)
        let rows = try await database.query(
            """
            \(Self.select)
            LEFT JOIN channel_members me ON me.channel_id = c.id AND me.user_id = ?
            WHERE c.workspace_id = ? AND (me.user_id IS NOT NULL OR (c.kind = 'public' AND ?))
            ORDER BY c.kind, c.name, c.id
            """, [.text(principal.userId), .text(workspaceId!), .int(role == "guest" ? 0 : 1)])
        var channels = rows.map(Channel.init(row:))
        let reads = try await database.query(
            """
            SELECT m.channel_id, m.last_read_id,
              (SELECT COUNT(*) FROM channel_messages x WHERE x.channel_id = m.channel_id AND x.author_id <> m.user_id
                AND x.message_id > COALESCE(m.last_read_id, '')) AS unread
            FROM channel_members m JOIN channels c ON c.id = m.channel_id
            WHERE m.user_id = ? AND c.workspace_id = ?
            """, [.text(principal.userId), .text(workspaceId!)])
        var state: [String: (Int, String?)] = [:]
        for row in reads {
            if let id = row["channel_id"].string { state[id] = (Int(row["unread"].int ?? 0), row["last_read_id"].string) }
        }
        for index in channels.indices {
            let read = state[channels[index].id]
            channels[index].unreadCount = read?.0 ?? 0
            channels[index].lastReadId = read?.1
        }
        return channels
    }

    /// `channel.readable`: what a user may read in a workspace now.
    func readable(_ query: ReadableChannelsQuery) async throws -> ReadableChannels {
        guard IDs.isPlausible(query.workspaceId), let role = try await role(of: query.userId, in: query.workspaceId) else {
            return ReadableChannels(workspaceRole: nil, channels: [])
        }
        let rows = try await database.query(
            """
            \(Self.select)
            LEFT JOIN channel_members me ON me.channel_id = c.id AND me.user_id = ?
            WHERE c.workspace_id = ? AND (me.user_id IS NOT NULL OR (c.kind = 'public' AND ?))
            """, [.text(query.userId), .text(query.workspaceId), .int(role == "guest" ? 0 : 1)])
        let channels = rows.map(Channel.init(row:)).map {
            ReadableChannel(id: $0.id, name: $0.name, kind: $0.kind, topic: $0.topic, archived: $0.archived, memberCount: $0.memberCount)
        }
        return ReadableChannels(workspaceRole: role, channels: channels)
    }

    /// `channel.members`: kind, workspace and every member, for routing notifications.
    func members(_ query: ChannelMembersQuery) async throws -> ChannelMembers {
        guard IDs.isPlausible(query.channelId), let row = try await database.query("\(Self.select) WHERE c.id = ?", [.text(query.channelId)]).first else {
            return ChannelMembers(workspaceId: nil, kind: nil, name: nil, memberIds: [])
        }
        let channel = Channel(row: row)
        let members = try await database.query("SELECT user_id FROM channel_members WHERE channel_id = ?", [.text(query.channelId)])
        return ChannelMembers(
            workspaceId: channel.workspaceId, kind: channel.kind, name: channel.name, memberIds: members.compactMap { $0["user_id"].string })
    }

    // MARK: Creating

    static func checkName(_ name: String, into validator: inout Validator) {
        validator.check(
            (1...80).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") },
            "name", "must be 1–80 lowercase letters, digits, '-' or '_'")
    }

    func create(_ body: CreateBody, principal: Principal) async throws -> Channel {
        _ = try await workspaceRole(principal, body.workspaceId)
        let workspaceId = body.workspaceId!
        try await context.require("channels.create", in: .workspace(workspaceId), for: principal)
        // Taken as written, as Slack does: a name is already lowercase, with no spaces.
        let name = body.name ?? ""
        let kind = body.kind ?? "public"
        let topic = Checks.trimmed(body.topic) ?? ""
        var validator = Validator()
        Self.checkName(name, into: &validator)
        validator.check(["public", "private"].contains(kind), "kind", "is public or private")
        validator.check(topic, "topic", atMost: 250)
        try validator.finish()
        let id = IDs.make("C")
        do {
            try await database.transaction { transaction in
                try await transaction.execute(
                    "INSERT INTO channels (id, workspace_id, name, kind, topic, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(id), .text(workspaceId), .text(name), .text(kind), .text(topic), .text(principal.userId), .date(Date())])
                try await transaction.execute(
                    "INSERT INTO channel_members (channel_id, user_id, role, joined_at) VALUES (?, ?, 'admin', ?)",
                    [.text(id), .text(principal.userId), .date(Date())])
                try await transaction.publish("channel.created", ["channel_id": id, "workspace_id": workspaceId, "actor": principal.userId])
            }
        } catch let error as DatabaseError where error.kind == .duplicateKey {
            throw PluginError(.conflict, "a channel named '\(name)' already exists in this workspace", details: ["name": "taken"])
        }
        await context.joinGroup(Self.group(id), userIds: [principal.userId])
        let channel = try await channel(id)
        let event = try RealtimeEvent(topic: "channel.created", value: channel)
        await context.send(event, to: kind == "public" ? .group("workspace:\(workspaceId)") : .user(principal.userId))
        return channel
    }

    func direct(_ body: DirectBody, principal: Principal) async throws -> Channel {
        _ = try await workspaceRole(principal, body.workspaceId)
        let workspaceId = body.workspaceId!
        let others = Set(body.userIds ?? []).subtracting([principal.userId])
        var validator = Validator()
        validator.check((body.userIds ?? []).allSatisfy(IDs.isPlausible), "user_ids", "are user ids")
        validator.check((0...8).contains(others.count), "user_ids", "name at most 8 other people")
        try validator.finish()
        for user in others {
            guard try await role(of: user, in: workspaceId) != nil else {
                throw PluginError(.conflict, "\(user) is not in this workspace", details: ["user_ids": "not all in the workspace"])
            }
        }
        let members = (others.union([principal.userId])).sorted()
        let key = members.joined(separator: ",")
        let id = IDs.make("D")
        let created = try await database.transaction(retryOnDeadlock: true) { transaction -> Bool in
            let outcome = try await transaction.execute(
                "INSERT IGNORE INTO channels (id, workspace_id, name, kind, topic, created_by, created_at, dm_key) VALUES (?, ?, NULL, 'direct', '', ?, ?, ?)",
                [.text(id), .text(workspaceId), .text(principal.userId), .date(Date()), .text(key)])
            guard outcome.affectedRows == 1 else { return false }
            for user in members {
                try await transaction.execute(
                    "INSERT INTO channel_members (channel_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                    [.text(id), .text(user), .date(Date())])
            }
            return true
        }
        guard let existing = try await database.query(
            "SELECT id FROM channels WHERE workspace_id = ? AND dm_key = ?", [.text(workspaceId), .text(key)]
        ).first?["id"].string else { throw PluginError(.internalError, "the direct channel vanished") }
        if created { await context.joinGroup(Self.group(existing), userIds: members) }
        return try await channel(existing)
    }

    // MARK: Changing

    func update(_ channelId: String, _ body: PatchBody, principal: Principal) async throws -> Channel {
        let standing = try await visible(channelId, principal)
        guard standing.memberRole != nil else { throw PluginError(.forbidden, "only members change a channel") }
        guard standing.channel.kind != "direct" || body.name == nil else {
            throw PluginError(.conflict, "direct channels have no name", details: ["name": "not allowed"])
        }
        var validator = Validator()
        let name = body.name
        if let name { Self.checkName(name, into: &validator) }
        validator.check(body.topic, "topic", atMost: 250)
        try validator.finish()
        if name != nil { try await requireManager(standing, principal) }
        var sets: [String] = []
        var values: [SQLValue] = []
        if let name { sets.append("name = ?"); values.append(.text(name)) }
        if let topic = body.topic { sets.append("topic = ?"); values.append(.text(topic)) }
        if !sets.isEmpty {
            do {
                try await database.transaction { transaction in
                    try await transaction.execute("UPDATE channels SET \(sets.joined(separator: ", ")) WHERE id = ?", values + [.text(channelId)])
                    try await transaction.publish("channel.updated", ["channel_id": channelId, "actor": principal.userId])
                }
            } catch let error as DatabaseError where error.kind == .duplicateKey {
                throw PluginError(.conflict, "a channel with that name already exists in this workspace", details: ["name": "taken"])
            }
        }
        let channel = try await channel(channelId)
        await context.send(try RealtimeEvent(topic: "channel.updated", value: channel), to: .group(Self.group(channelId)))
        return channel
    }

    func archive(_ channelId: String, principal: Principal) async throws -> Channel {
        let standing = try await visible(channelId, principal)
        try await requireManager(standing, principal)
        if !standing.channel.archived {
            try await database.transaction { transaction in
                try await transaction.execute("UPDATE channels SET archived = 1 WHERE id = ?", [.text(channelId)])
                try await transaction.publish("channel.updated", ["channel_id": channelId, "archived": "true", "actor": principal.userId])
            }
        }
        let channel = try await channel(channelId)
        await context.send(try RealtimeEvent(topic: "channel.updated", value: channel), to: .group(Self.group(channelId)))
        return channel
    }

    /// Adds a member: joining oneself (public channels) or being added by a member.
    func addMember(_ userId: String, to channelId: String, by principal: Principal) async throws -> Channel {
        let standing = try await visible(channelId, principal)
        if standing.channel.archived { throw PluginError(.conflict, "the channel is archived") }
        if standing.channel.kind == "direct" { throw PluginError(.conflict, "direct channels keep their members", details: ["channel": "direct"]) }
        if userId == principal.userId {
            guard standing.memberRole == nil else { return standing.channel }
            guard standing.channel.kind == "public" else { throw PluginError(.notFound, "no such channel") }
            try await context.require("channels.join", in: .workspace(standing.channel.workspaceId), for: principal)
        } else {
            guard standing.memberRole != nil else { throw PluginError(.forbidden, "only members add people to a channel") }
            guard try await role(of: userId, in: standing.channel.workspaceId) != nil else {
                throw PluginError(.conflict, "that user is not in this workspace", details: ["user_id": "not in the workspace"])
            }
        }
        let added = try await database.transaction { transaction -> Bool in
            let outcome = try await transaction.execute(
                "INSERT IGNORE INTO channel_members (channel_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)",
                [.text(channelId), .text(userId), .date(Date())])
            guard outcome.affectedRows == 1 else { return false }
            try await transaction.publish(
                "channel.member_joined",
                ChannelMemberChange(channelId: channelId, workspaceId: standing.channel.workspaceId, userId: userId, actor: principal.userId))
            return true
        }
        if added {
            await context.joinGroup(Self.group(channelId), userIds: [userId])
            let event = ChannelMemberChange(channelId: channelId, workspaceId: standing.channel.workspaceId, userId: userId, actor: principal.userId)
            await context.send(try RealtimeEvent(topic: "channel.member_joined", value: event), to: .group(Self.group(channelId)))
        }
        return try await channel(channelId)
    }

    /// Removes a member: leaving (anyone) or removal (channel or workspace admins).
    func removeMember(_ userId: String, from channelId: String, by principal: Principal) async throws {
        let standing = try await visible(channelId, principal)
        if userId != principal.userId { try await requireManager(standing, principal) }
        try await drop(userId, from: standing.channel, actor: principal.userId)
    }

    /// Takes a user out of a channel and its realtime group; the leaver sees their own `member_left`, nothing after.
    func drop(_ userId: String, from channel: Channel, actor: String?) async throws {
        let removed = try await database.transaction { transaction -> Bool in
            let outcome = try await transaction.execute(
                "DELETE FROM channel_members WHERE channel_id = ? AND user_id = ?", [.text(channel.id), .text(userId)])
            guard outcome.affectedRows == 1 else { return false }
            try await transaction.publish(
                "channel.member_left", ChannelMemberChange(channelId: channel.id, workspaceId: channel.workspaceId, userId: userId, actor: actor))
            return true
        }
        guard removed else { return }
        let event = ChannelMemberChange(channelId: channel.id, workspaceId: channel.workspaceId, userId: userId, actor: actor)
        await context.send(try RealtimeEvent(topic: "channel.member_left", value: event), to: .group(Self.group(channel.id)))
        await context.leaveGroup(Self.group(channel.id), userIds: [userId])
    }

    func markRead(_ channelId: String, _ body: ReadBody, principal: Principal) async throws -> [String: String] {
        let standing = try await visible(channelId, principal)
        guard standing.memberRole != nil else { throw PluginError(.forbidden, "only members have read marks") }
        guard let messageId = body.messageId, IDs.isPlausible(messageId) else {
            throw PluginError(.validationFailed, "message_id is required", details: ["message_id": "is required"])
        }
        // Ids sort by time, so the mark only moves forward; a move is told (durably) to whoever keeps read state too.
        try await database.transaction { transaction in
            let moved = try await transaction.execute(
                """
                UPDATE channel_members SET last_read_id = ?
                WHERE channel_id = ? AND user_id = ? AND (last_read_id IS NULL OR last_read_id < ?)
                """, [.text(messageId), .text(channelId), .text(principal.userId), .text(messageId)])
            if moved.affectedRows > 0 {
                try await transaction.publish(
                    "channel.read",
                    ChannelRead(channelId: channelId, workspaceId: standing.channel.workspaceId, userId: principal.userId, messageId: messageId))
            }
        }
        let row = try await database.query(
            """
            SELECT m.last_read_id, (SELECT COUNT(*) FROM channel_messages x WHERE x.channel_id = m.channel_id AND x.author_id <> m.user_id
              AND x.message_id > COALESCE(m.last_read_id, '')) AS unread
            FROM channel_members m WHERE m.channel_id = ? AND m.user_id = ?
            """, [.text(channelId), .text(principal.userId)]
        ).first
        return ["last_read_id": row?["last_read_id"].string ?? messageId, "unread_count": String(row?["unread"].int ?? 0)]
    }

    // MARK: Followed from other plugins

    func recordMessage(_ message: MessageEvent) async throws {
        guard message.threadRootId == nil else { return }
        try await database.execute(
            "INSERT IGNORE INTO channel_messages (channel_id, message_id, author_id) VALUES (?, ?, ?)",
            [.text(message.channelId), .text(message.id), .text(message.authorId)])
    }

    func forgetMessage(_ message: MessageEvent) async throws {
        try await database.execute(
            "DELETE FROM channel_messages WHERE channel_id = ? AND message_id = ?", [.text(message.channelId), .text(message.id)])
    }

    /// Someone left or was removed from a workspace: out of its channels too.
    func removeFromWorkspace(_ change: MembershipChange) async throws {
        let rows = try await database.query(
            """
            \(Self.select) JOIN channel_members m ON m.channel_id = c.id
            WHERE c.workspace_id = ? AND m.user_id = ?
            """, [.text(change.workspaceId), .text(change.userId)])
        for row in rows { try await drop(change.userId, from: Channel(row: row), actor: nil) }
    }

    /// Puts every member back in their channel groups (the gateway's groups live in memory).
    func restoreGroups() async throws {
        var after = ""
        while true {
            let rows = try await database.query(
                "SELECT channel_id, user_id FROM channel_members WHERE CONCAT(channel_id, ',', user_id) > ? ORDER BY channel_id, user_id LIMIT 5000",
                [.text(after)])
            guard let last = rows.last else { return }
            var groups: [String: [String]] = [:]
            for row in rows {
                if let channel = row["channel_id"].string, let user = row["user_id"].string { groups[channel, default: []].append(user) }
            }
            for (channel, users) in groups { await context.joinGroup(Self.group(channel), userIds: users) }
            after = "\(last["channel_id"].string ?? ""),\(last["user_id"].string ?? "")"
        }
    }

    func access(_ query: ChannelAccessQuery) async throws -> ChannelAccessReply {
        guard let standing = try await standing(query.channelId, query.userId) else {
            return ChannelAccessReply(visible: false, member: false, archived: false, workspaceId: nil, kind: nil)
        }
        return ChannelAccessReply(
            visible: standing.visible, member: standing.memberRole != nil, archived: standing.channel.archived,
            workspaceId: standing.channel.workspaceId, kind: standing.channel.kind)
    }
}
