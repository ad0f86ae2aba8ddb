import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `message` plugin: messages, thread replies and their counts, reactions,
/// mentions and pins, delivered live to the channel's realtime group. Other
/// plugins may vet or rewrite a post through the `message.will_post` hook.
public final class MessagePlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        var manifest = PluginManifest(
            name: "message", version: "1.0.0", mount: "messages", dependencies: ["channel"],
            // Link previews read any page a message links to, through the host's guard.
            capabilities: PluginCapabilities(database: true, publishes: ["message"], declaresHooks: ["message.will_post"], outboundHosts: ["*"]),
            settings: [SettingSpec(key: "link_previews", kind: .boolean, defaultValue: .bool(true), help: "Read the pages messages link to")],
            summary: "Messages, replies, reactions, mentions and pins",
            permissions: [PermissionSpec("messages.delete_any", summary: "Delete anyone's messages", grantedTo: ["workspace.admin"])])
        // Attachments, when the deployment runs the files plugin.
        manifest.optionalDependencies = ["files"]
        return manifest
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "messages_reactions_mentions", statements: [
                """
                CREATE TABLE messages (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  channel_id VARCHAR(32) NOT NULL,
                  author_id VARCHAR(32) NOT NULL,
                  text MEDIUMTEXT NOT NULL,
                  thread_root_id VARCHAR(32) NULL,
                  reply_count INT NOT NULL DEFAULT 0,
                  last_reply_at DATETIME(3) NULL,
                  client_msg_id VARCHAR(64) NULL,
                  pinned TINYINT(1) NOT NULL DEFAULT 0,
                  pinned_at DATETIME(3) NULL,
                  edited_at DATETIME(3) NULL,
                  deleted_at DATETIME(3) NULL,
                  created_at DATETIME(3) NOT NULL,
                  UNIQUE KEY by_client (author_id, client_msg_id),
                  KEY by_channel (channel_id, thread_root_id, id),
                  KEY by_thread (thread_root_id, id)
                )
                """,
                """
                CREATE TABLE reactions (
                  message_id VARCHAR(32) NOT NULL,
                  emoji VARCHAR(64) NOT NULL,
                  user_id VARCHAR(32) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (message_id, emoji, user_id)
                )
                """,
                """
                CREATE TABLE mentions (
                  message_id VARCHAR(32) NOT NULL,
                  user_id VARCHAR(32) NOT NULL,
                  position INT NOT NULL,
                  PRIMARY KEY (message_id, user_id),
                  KEY by_user (user_id)
                )
                """,
            ]),
            // The schema's utf8mb4_unicode_ci gives every emoji beyond U+FFFF the same weight,
            // so 🎉 and 👍 were one reaction; emoji compare as bytes.
            Migration(version: 2, name: "reactions_emoji_binary", statements: [
                "ALTER TABLE reactions MODIFY emoji VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
            ]),
            // The file objects as they were when attached, so reading a message needs no call to the files plugin.
            Migration(version: 3, name: "message_files", statements: [
                """
                CREATE TABLE message_files (
                  message_id VARCHAR(32) NOT NULL,
                  position INT NOT NULL,
                  file_id VARCHAR(32) NOT NULL,
                  file_json TEXT NOT NULL,
                  PRIMARY KEY (message_id, position),
                  KEY by_file (file_id)
                )
                """
            ]),
            Migration(version: 4, name: "link_previews", statements: [
                "ALTER TABLE messages ADD COLUMN previews_json TEXT NULL",
                """
                CREATE TABLE link_previews (
                  url_hash CHAR(64) NOT NULL PRIMARY KEY,
                  preview_json TEXT NULL,
                  fetched_at DATETIME(3) NOT NULL
                )
                """,
            ]),
            // The poll a message carries, as the polls plugin last computed it (its votes live there).
            Migration(version: 5, name: "message_polls", statements: [
                "ALTER TABLE messages ADD COLUMN poll_json MEDIUMTEXT NULL"
            ]),
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let access = ChannelAccessCache(context: context)
        let database = try context.requireDatabase()
        let previewer = (context.settings["link_previews"]?.boolValue ?? true)
            ? context.outbound.map { LinkPreviewer(context: context, database: database, outbound: $0) } : nil
        let store = MessageStore(context: context, database: database, access: access, previewer: previewer)
        if previewer != nil {
            try context.onJob(MessageStore.previewJob) { job in try await store.makePreviews(job) }
        }

        // A repeated client_msg_id answers 200 with the first message.
        let post = RouteOptions(summary: "Post a message or a thread reply")
            .documented(body: PostBody.schema, response: Message.schema, status: 201, also: [200])
        try context.addRoute(.post, "/", options: post) { request in
            let (message, created) = try await store.post(try request.decode(PostBody.self), principal: try request.requirePrincipal())
            return try .json(message, status: created ? 201 : 200)
        }
        let channel = APIParameter.query("channel_id", Schemas.id, required: true)
        let before = APIParameter.query("before", .string, "Only older messages (smaller ids); overrides cursor")
        let after = APIParameter.query("after", .string, "Only newer messages (greater ids)")
        let history = RouteOptions(summary: "A channel's messages, newest first (?channel_id=&before=&after=&limit=)")
            .documented(query: [channel, before, after] + Schemas.page(), response: .list(of: Message.schema))
        try context.addRoute(.get, "/", options: history) { request in
            let page = try Page(request)
            return try .json(
                try await store.list(
                    channelId: request.query("channel_id"), before: request.query("before") ?? page.cursor, after: request.query("after"),
                    limit: page.limit, principal: try request.requirePrincipal()))
        }
        let pinned = RouteOptions(summary: "A channel's pinned messages").documented(query: [channel], response: .list(of: Message.schema))
        try context.addRoute(.get, "/pins", options: pinned) { request in
            let pins = try await store.pins(channelId: request.query("channel_id"), principal: try request.requirePrincipal())
            return try .json(ListResponse(items: pins, nextCursor: nil))
        }
        try context.addRoute(.get, "/{id}", options: RouteOptions(summary: "One message").documented(response: Message.schema)) { request in
            try .json(try await store.visibleMessage(try request.parameter("id"), try request.requirePrincipal()).0)
        }
        let edit = RouteOptions(summary: "Edit (author only)").documented(body: EditBody.schema, response: Message.schema)
        try context.addRoute(.patch, "/{id}", options: edit) { request in
            try .json(try await store.edit(try request.parameter("id"), try request.decode(EditBody.self), principal: try request.requirePrincipal()))
        }
        let delete = RouteOptions(summary: "Delete (author or admins)").documented(status: 204)
        try context.addRoute(.delete, "/{id}", options: delete) { request in
            try await store.delete(try request.parameter("id"), principal: try request.requirePrincipal())
            return .noContent
        }
        let react = RouteOptions(summary: "React (idempotent)").documented(body: EmojiBody.schema, response: Message.schema)
        try context.addRoute(.post, "/{id}/reactions", options: react) { request in
            let body = try request.decode(EmojiBody.self)
            return try .json(try await store.react(try request.parameter("id"), emoji: body.emoji, add: true, principal: try request.requirePrincipal()))
        }
        let unreact = RouteOptions(summary: "Take a reaction back (idempotent)").documented(status: 204)
        try context.addRoute(.delete, "/{id}/reactions/{emoji}", options: unreact) { request in
            _ = try await store.react(
                try request.parameter("id"), emoji: try request.parameter("emoji"), add: false, principal: try request.requirePrincipal())
            return .noContent
        }
        try context.addRoute(.post, "/{id}/pin", options: RouteOptions(summary: "Pin").documented(response: Message.schema)) { request in
            try .json(try await store.pin(try request.parameter("id"), pinned: true, principal: try request.requirePrincipal()))
        }
        try context.addRoute(.delete, "/{id}/pin", options: RouteOptions(summary: "Unpin").documented(status: 204)) { request in
            _ = try await store.pin(try request.parameter("id"), pinned: false, principal: try request.requirePrincipal())
            return .noContent
        }

        try context.provideService("thread") { call in
            try JSONEncoder.quik.encode(try await store.thread(try JSONDecoder.quik.decode(ThreadQuery.self, from: call.payload)))
        }
        // Posting for another plugin (scheduled messages, polls): the ordinary path, as the user.
        try context.provideService("post") { call in
            let request = try call.decode(PostAsUser.self)
            guard IDs.isPlausible(request.userId) else {
                throw PluginError(.validationFailed, "user_id is malformed", details: ["user_id": "malformed"])
            }
            let poll = try request.poll.map(Poll.decoded)
            let body = PostBody(
                channelId: request.channelId, text: request.text, threadRootId: request.threadRootId, clientMsgId: request.clientMsgId,
                fileIds: request.fileIds)
            let (message, created) = try await store.post(body, principal: Principal(userId: request.userId, roles: ["user"]), poll: poll)
            return try JSONEncoder.quik.encode(PostedMessage(message: try JSONEncoder.quik.encode(message), created: created))
        }
        // Which messages a user may read now (bookmarks, search, reminders).
        try context.provideService("visible") { call in
            try JSONEncoder.quik.encode(try await store.visible(try call.decode(VisibleMessagesQuery.self)))
        }
        // The polls plugin's results, shown with the message and told as message.updated.
        try context.provideService("set_poll") { call in
            let message = try await store.setPoll(try call.decode(SetPoll.self))
            return try JSONEncoder.quik.encode(PostedMessage(message: try JSONEncoder.quik.encode(message), created: false))
        }

        for topic in ["channel.member_joined", "channel.member_left"] {
            try context.subscribe(topic) { event in
                guard let change = try? JSONDecoder.quik.decode(ChannelMemberEvent.self, from: event.payload) else { return }
                access.drop(channel: change.channelId, user: change.userId)
            }
        }
        try context.subscribe("channel.updated") { event in
            guard let change = try? JSONDecoder.quik.decode(ChannelMemberEvent.self, from: event.payload) else { return }
            access.drop(channel: change.channelId, user: nil)
        }
        try context.subscribe("file.deleted") { event in
            guard let deleted = try? JSONDecoder.quik.decode(DeletedFile.self, from: event.payload) else { return }
            do {
                try await store.dropFile(deleted.fileId)
            } catch {
                context.logger.error("a deleted file is still shown in messages", metadata: ["file_id": "\(deleted.fileId)", "error": "\(error)"])
            }
        }
    }
}
