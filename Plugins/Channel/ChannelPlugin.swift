import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `channel` plugin: public, private and direct channels, membership, read
/// marks and typing indicators. It keeps realtime group `channel:<id>` in step
/// with membership, so the other plugins send a channel's events to that group.
public final class ChannelPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "channel", version: "1.0.0", mount: "channels", dependencies: ["workspace"],
            capabilities: PluginCapabilities(database: true, publishes: ["channel"], frames: ["typing"]),
            summary: "Channels, direct messages, membership, read state and typing",
            permissions: [
                PermissionSpec("channels.create", summary: "Create channels", grantedTo: ["workspace.admin", "workspace.member"]),
                PermissionSpec("channels.join", summary: "Browse and join public channels", grantedTo: ["workspace.admin", "workspace.member"]),
                PermissionSpec("channels.manage", summary: "Rename, archive and remove members of any channel", grantedTo: ["workspace.admin"]),
            ])
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "channels_members_index", statements: [
                """
                CREATE TABLE channels (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  workspace_id VARCHAR(32) NOT NULL,
                  name VARCHAR(80) NULL,
                  kind VARCHAR(8) NOT NULL,
                  topic VARCHAR(250) NOT NULL DEFAULT '',
                  archived TINYINT(1) NOT NULL DEFAULT 0,
                  created_by VARCHAR(32) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  dm_key VARCHAR(400) NULL,
                  UNIQUE KEY by_name (workspace_id, name),
                  UNIQUE KEY by_dm (workspace_id, dm_key)
                )
                """,
                """
                CREATE TABLE channel_members (
                  channel_id VARCHAR(32) NOT NULL,
                  user_id VARCHAR(32) NOT NULL,
                  role VARCHAR(8) NOT NULL,
                  joined_at DATETIME(3) NOT NULL,
                  last_read_id VARCHAR(32) NULL,
                  PRIMARY KEY (channel_id, user_id),
                  KEY by_user (user_id)
                )
                """,
                """
                CREATE TABLE channel_messages (
                  channel_id VARCHAR(32) NOT NULL,
                  message_id VARCHAR(32) NOT NULL,
                  author_id VARCHAR(32) NOT NULL,
                  PRIMARY KEY (channel_id, message_id)
                )
                """,
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let store = ChannelStore(context: context, database: try context.requireDatabase())
        try await store.restoreGroups()

        let channel = Channel.schema()
        let create = RouteOptions(summary: "Create a channel; the creator is a member")
            .documented(body: CreateBody.schema, response: channel, status: 201)
        try context.addRoute(.post, "/", options: create) { request in
            try .json(try await store.create(try request.decode(CreateBody.self), principal: try request.requirePrincipal()), status: 201)
        }
        let direct = RouteOptions(summary: "The DM or group DM among the caller and user_ids")
            .documented(body: DirectBody.schema, response: channel)
        try context.addRoute(.post, "/direct", options: direct) { request in
            try .json(try await store.direct(try request.decode(DirectBody.self), principal: try request.requirePrincipal()), status: 200)
        }
        let list = RouteOptions(summary: "Channels the caller can see, with unread counts")
            .documented(query: [.query("workspace_id", Schemas.id, required: true)], response: .list(of: Channel.schema(listed: true)))
        try context.addRoute(.get, "/", options: list) { request in
            let channels = try await store.list(workspaceId: request.query("workspace_id"), principal: try request.requirePrincipal())
            return try .json(ListResponse(items: channels, nextCursor: nil), status: 200)
        }
        let one = RouteOptions(summary: "One channel (404 to those who may not see it)").documented(response: channel)
        try context.addRoute(.get, "/{id}", options: one) { request in
            try .json(try await store.visible(try request.parameter("id"), try request.requirePrincipal()).channel, status: 200)
        }
        let update = RouteOptions(summary: "Rename (admins) or set the topic (members)")
            .documented(body: PatchBody.schema, response: channel)
        try context.addRoute(.patch, "/{id}", options: update) { request in
            try .json(try await store.update(try request.parameter("id"), try request.decode(PatchBody.self), principal: try request.requirePrincipal()), status: 200)
        }
        let join = RouteOptions(summary: "Join a public channel").documented(response: channel)
        try context.addRoute(.post, "/{id}/join", options: join) { request in
            let principal = try request.requirePrincipal()
            return try .json(try await store.addMember(principal.userId, to: try request.parameter("id"), by: principal), status: 200)
        }
        let leave = RouteOptions(summary: "Leave a channel").documented(status: 204)
        try context.addRoute(.post, "/{id}/leave", options: leave) { request in
            let principal = try request.requirePrincipal()
            try await store.removeMember(principal.userId, from: try request.parameter("id"), by: principal)
            return .noContent
        }
        let add = RouteOptions(summary: "Add a member").documented(body: UserBody.schema, response: channel)
        try context.addRoute(.post, "/{id}/members", options: add) { request in
            let principal = try request.requirePrincipal()
            guard let user = try request.decode(UserBody.self).userId, IDs.isPlausible(user) else {
                throw PluginError(.validationFailed, "user_id is required", details: ["user_id": "is required"])
            }
            return try .json(try await store.addMember(user, to: try request.parameter("id"), by: principal), status: 200)
        }
        let remove = RouteOptions(summary: "Remove a member (admins)").documented(status: 204)
        try context.addRoute(.delete, "/{id}/members/{user_id}", options: remove) { request in
            try await store.removeMember(try request.parameter("user_id"), from: try request.parameter("id"), by: try request.requirePrincipal())
            return .noContent
        }
        let archive = RouteOptions(summary: "Archive (admins); archived channels refuse posts").documented(response: channel)
        try context.addRoute(.post, "/{id}/archive", options: archive) { request in
            try .json(try await store.archive(try request.parameter("id"), principal: try request.requirePrincipal()), status: 200)
        }
        let read = RouteOptions(summary: "Mark read up to a message").documented(body: ReadBody.schema, response: Schemas.read)
        try context.addRoute(.post, "/{id}/read", options: read) { request in
            try .json(try await store.markRead(try request.parameter("id"), try request.decode(ReadBody.self), principal: try request.requirePrincipal()), status: 200)
        }

        let typingGate = TypingGate()
        try context.onFrame("typing") { frame in
            let typing = try frame.decode(TypingFrame.self)
            // Within the interval a repeat is acknowledged and goes no further (not even to the database).
            guard typingGate.pass(user: frame.principal.userId, channel: typing.channelId) else { return }
            guard let standing = try await store.standing(typing.channelId, frame.principal.userId), standing.memberRole != nil else {
                typingGate.forget(user: frame.principal.userId, channel: typing.channelId)
                throw PluginError(.notFound, "no such channel")
            }
            let event = try RealtimeEvent(topic: "typing", value: ["channel_id": typing.channelId, "user_id": frame.principal.userId])
            await context.send(event, to: .group(ChannelStore.group(typing.channelId)))
        }

        try context.provideService("access") { call in
            try JSONEncoder.quik.encode(try await store.access(try JSONDecoder.quik.decode(ChannelAccessQuery.self, from: call.payload)))
        }

        try context.provideService("members") { call in
            try JSONEncoder.quik.encode(try await store.members(try JSONDecoder.quik.decode(ChannelMembersQuery.self, from: call.payload)))
        }
        try context.provideService("readable") { call in
            try JSONEncoder.quik.encode(try await store.readable(try JSONDecoder.quik.decode(ReadableChannelsQuery.self, from: call.payload)))
        }

        try context.subscribe("message.created") { event in
            guard let message = try? JSONDecoder.quik.decode(MessageEvent.self, from: event.payload) else { return }
            try? await store.recordMessage(message)
        }
        try context.subscribe("message.deleted") { event in
            guard let message = try? JSONDecoder.quik.decode(MessageEvent.self, from: event.payload) else { return }
            try? await store.forgetMessage(message)
        }
        try context.subscribe("workspace.member_removed") { event in
            guard let change = try? JSONDecoder.quik.decode(MembershipChange.self, from: event.payload) else { return }
            do {
                try await store.removeFromWorkspace(change)
            } catch {
                context.logger.error("could not remove a departed member from channels", metadata: ["error": "\(error)"])
            }
        }
    }
}
