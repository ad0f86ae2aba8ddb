import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `thread` plugin: thread views, followers, and `thread.replied` to the channel
/// when someone replies. Replies and their counts live with the messages.
public final class ThreadPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "thread", version: "1.0.0", mount: "threads", dependencies: ["message"],
            capabilities: PluginCapabilities(database: true, publishes: ["thread"]),
            summary: "Threads: replies in order, participants, followers")
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "followers", statements: [
                """
                CREATE TABLE followers (
                  root_id VARCHAR(32) NOT NULL,
                  user_id VARCHAR(32) NOT NULL,
                  following TINYINT(1) NOT NULL,
                  updated_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (root_id, user_id),
                  KEY by_user (user_id)
                )
                """
            ])
        ]
    }

    /// A message event, as far as threads need it.
    struct Message: Codable, Sendable {
        var id: String
        var channelId: String
        var authorId: String
        var threadRootId: String?
    }

    struct FollowState: Codable, Sendable {
        var rootId: String
        var following: Bool
    }

    /// `GET /{root_id}`: the message plugin's `{root, replies}` (its messages write every key, `null`s included;
    /// its types are not visible here), with `participants` and `following` added.
    static let threadSchema: APISchema = {
        let reaction = APISchema.object(
            ["emoji": .string, "count": .integer, "user_ids": .array(.string)], required: ["emoji", "count", "user_ids"])
        let fields: [String: APISchema] = [
            "id": .string, "channel_id": .string, "author_id": .string, "text": .string, "thread_root_id": APISchema.string.orNull,
            "reply_count": .integer(minimum: 0), "last_reply_at": APISchema.dateTime.orNull, "reactions": .array(reaction),
            "mentions": .array(.string), "pinned": .boolean, "edited_at": APISchema.dateTime.orNull, "created_at": .dateTime,
            "poll": MessageSchemas.poll.orNull,
        ]
        let message = APISchema.object(fields, required: Array(fields.keys))
        return .object(
            [
                "root": message, "replies": APISchema.array(message).described("Oldest first"),
                "participants": APISchema.array(.string).described("The root's author, then each replier, once each"),
                "following": .boolean,
            ], required: ["root", "replies", "participants", "following"])
    }()

    public func setup(_ context: any PluginContext) async throws {
        let database = try context.requireDatabase()

        @Sendable func follow(_ rootId: String, _ userId: String, _ following: Bool, onlyIfNew: Bool = false) async throws {
            let verb = onlyIfNew ? "INSERT IGNORE" : "REPLACE"
            try await database.execute(
                "\(verb) INTO followers (root_id, user_id, following, updated_at) VALUES (?, ?, ?, ?)",
                [.text(rootId), .text(userId), .int(following ? 1 : 0), .date(Date())])
        }
        @Sendable func threadData(_ rootId: String, _ userId: String) async throws -> Data {
            try await context.callService(
                plugin: "message", service: "thread", payload: JSONEncoder.quik.encode(ThreadQuery(rootId: rootId, userId: userId)))
        }

        let thread = RouteOptions(summary: "The root, its replies oldest first, and participants").documented(response: Self.threadSchema)
        try context.addRoute(.get, "/{root_id}", options: thread) { request in
            let principal = try request.requirePrincipal()
            let data = try await threadData(try request.parameter("root_id"), principal.userId)
            guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw PluginError(.internalError, "the thread could not be read")
            }
            let root = object["root"] as? [String: Any] ?? [:]
            let replies = object["replies"] as? [[String: Any]] ?? []
            var participants: [String] = []
            for author in ([root] + replies).compactMap({ $0["author_id"] as? String }) where !participants.contains(author) {
                participants.append(author)
            }
            object["participants"] = participants
            let following = try await database.query(
                "SELECT following FROM followers WHERE root_id = ? AND user_id = ?", [.text(root["id"] as? String ?? ""), .text(principal.userId)]
            ).first?["following"].int
            object["following"] = following == 1
            return PluginResponse(
                status: 200, headers: ["content-type": "application/json; charset=utf-8"],
                body: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        }
        for (method, following) in [(RouteMethod.post, true), (.delete, false)] {
            let options = RouteOptions(summary: following ? "Follow a thread" : "Stop following")
                .documented(response: .decoding(FollowState.self))
            try context.addRoute(method, "/{root_id}/follow", options: options) { request in
                let principal = try request.requirePrincipal()
                let rootId = try request.parameter("root_id")
                _ = try await threadData(rootId, principal.userId)
                try await follow(rootId, principal.userId, following)
                return try .json(FollowState(rootId: rootId, following: following))
            }
        }

        try context.provideService("followers") { call in
            let query = try JSONDecoder.quik.decode(FollowersQuery.self, from: call.payload)
            let rows = try await database.query("SELECT user_id, following FROM followers WHERE root_id = ?", [.text(query.rootId)])
            return try JSONEncoder.quik.encode(
                Followers(
                    userIds: rows.filter { $0["following"].int == 1 }.compactMap { $0["user_id"].string },
                    unfollowedIds: rows.filter { $0["following"].int != 1 }.compactMap { $0["user_id"].string }))
        }

        try context.subscribe("message.created") { event in
            guard let reply = try? JSONDecoder.quik.decode(Message.self, from: event.payload), let rootId = reply.threadRootId else { return }
            do {
                let data = try await threadData(rootId, reply.authorId)
                guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let root = object["root"] as? [String: Any], let rootAuthor = root["author_id"] as? String
                else { return }
                // The root's author and everyone who replies follow, unless they chose otherwise.
                try await follow(rootId, rootAuthor, true, onlyIfNew: true)
                try await follow(rootId, reply.authorId, true)
                let payload: [String: Any] = [
                    "root_id": rootId, "channel_id": reply.channelId, "reply_id": reply.id, "author_id": reply.authorId,
                    "reply_count": root["reply_count"] ?? 0, "last_reply_at": root["last_reply_at"] ?? NSNull(),
                ]
                let event = RealtimeEvent(topic: "thread.replied", data: try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]))
                await context.send(event, to: .group("channel:\(reply.channelId)"))
            } catch {
                context.logger.warning("thread.replied not sent", metadata: ["root_id": rootId, "error": "\(error)"])
            }
        }
    }
}
