import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The `polls` plugin: a poll is a message (posted through `message.post`, its text the
/// question) whose `poll` field shows the live results. Votes live here; every change
/// recomputes the poll and hands it to the message plugin (`message.set_poll`), which
/// tells the channel `message.updated`.
public final class PollsPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "polls", version: "1.0.0", mount: "polls", dependencies: ["message", "channel"],
            capabilities: PluginCapabilities(database: true),
            summary: "Polls: questions with options, voted on in the channel, results live",
            permissions: [PermissionSpec(PollStore.closeAny, summary: "Close anyone's poll", grantedTo: ["workspace.admin"])])
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "polls_options_votes", statements: [
                // `message_id` is NULL until the message is posted; `poll_json` is what the message
                // shows, recomputed with every change; `needs_sync` says the message may not show it yet.
                """
                CREATE TABLE polls (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  message_id VARCHAR(32) NULL,
                  channel_id VARCHAR(32) NOT NULL,
                  author_id VARCHAR(32) NOT NULL,
                  thread_root_id VARCHAR(32) NULL,
                  question TEXT NOT NULL,
                  multiple TINYINT(1) NOT NULL,
                  anonymous TINYINT(1) NOT NULL,
                  closed TINYINT(1) NOT NULL DEFAULT 0,
                  poll_json MEDIUMTEXT NOT NULL,
                  version BIGINT NOT NULL DEFAULT 1,
                  needs_sync TINYINT(1) NOT NULL DEFAULT 1,
                  created_at DATETIME(3) NOT NULL,
                  updated_at DATETIME(3) NOT NULL,
                  UNIQUE KEY by_message (message_id),
                  KEY by_sync (needs_sync, updated_at)
                )
                """,
                """
                CREATE TABLE poll_options (
                  poll_id VARCHAR(32) NOT NULL,
                  id VARCHAR(32) NOT NULL,
                  position INT NOT NULL,
                  text VARCHAR(400) NOT NULL,
                  PRIMARY KEY (poll_id, id)
                )
                """,
                """
                CREATE TABLE poll_votes (
                  poll_id VARCHAR(32) NOT NULL,
                  user_id VARCHAR(32) NOT NULL,
                  option_id VARCHAR(32) NOT NULL,
                  voted_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (poll_id, user_id, option_id),
                  KEY by_poll (poll_id, voted_at)
                )
                """,
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let store = PollStore(context: context, database: try context.requireDatabase())

        let create = RouteOptions(summary: "Post a poll in a channel (members): the message, its text the question")
            .documented(body: CreateBody.schema, response: MessageSchemas.message, status: 201)
        try context.addRoute(.post, "/", options: create) { request in
            let body = try request.decode(CreateBody.self)
            return PollStore.messageResponse(try await store.create(body, userId: try request.requirePrincipal().userId), status: 201)
        }
        let vote = RouteOptions(summary: "Replace the caller's vote (members); [] withdraws it")
            .documented(body: VoteBody.schema, response: MessageSchemas.message)
        try context.addRoute(.put, "/{message_id}/vote", options: vote) { request in
            let body = try request.decode(VoteBody.self)
            return PollStore.messageResponse(
                try await store.vote(try request.parameter("message_id"), optionIds: body.optionIds, principal: try request.requirePrincipal()))
        }
        let close = RouteOptions(summary: "Close a poll (its author or workspace admins); no votes after")
            .documented(response: MessageSchemas.message)
        try context.addRoute(.post, "/{message_id}/close", options: close) { request in
            PollStore.messageResponse(try await store.close(try request.parameter("message_id"), principal: try request.requirePrincipal()))
        }

        // A deleted message takes its poll and votes with it.
        try context.subscribe("message.deleted") { event in
            guard let message = try? event.decode(DeletedMessage.self) else { return }
            do {
                try await store.forget(messageId: message.id)
            } catch {
                context.logger.warning("the poll of a deleted message kept", metadata: ["message_id": "\(message.id)", "error": "\(error)"])
            }
        }
        // Catches up what a crash or a failed call left between a committed change and the message
        // showing it: every few seconds, as one durable job for the whole deployment that schedules its next run.
        let jobs = try context.requireJobs()
        try context.onJob(Self.repairJob) { _ in
            await store.repair()
            try await jobs.reschedule(key: Self.repairJob, to: Date().addingTimeInterval(PollStore.repairInterval))
        }
        if try await !jobs.reschedule(key: Self.repairJob, to: Date()) {
            try await jobs.schedule(JobRequest(kind: Self.repairJob, key: Self.repairJob))
        }
    }
}

extension PollsPlugin {
    static let repairJob = "repair"
}

struct CreateBody: Decodable {
    var channelId: String?
    var question: String?
    var options: [String]?
    var multiple: Bool?
    var anonymous: Bool?
    var threadRootId: String?

    static let schema: APISchema = {
        let id = APISchema.string(pattern: "^[A-Za-z0-9_-]{1,64}$")
        let option = APISchema.string(minLength: 1, maxLength: PollStore.maximumOption, pattern: Checks.notBlankPattern)
        return .object(
            [
                "channel_id": id,
                "question": APISchema.string(minLength: 1, maxLength: PollStore.maximumQuestion, pattern: Checks.notBlankPattern)
                    .described("Also the message's text"),
                // uniqueItems says what JSON Schema can; the check also ignores surrounding space and case.
                "options": APISchema(
                    json: #"{"type":"array","items":\#(option.json),"minItems":2,"maxItems":10,"uniqueItems":true}"#
                ).described("2 to 10 options, distinct (compared without surrounding space and case)"),
                "multiple": APISchema.boolean.described("Whether a vote may choose several options; false by default"),
                "anonymous": APISchema.boolean.described("Whether user_ids stay []; false by default"),
                "thread_root_id": id.described("Post the poll as a reply in this thread"),
            ], required: ["channel_id", "question", "options"])
    }()
}

struct VoteBody: Decodable {
    var optionIds: [String]?

    static let schema = APISchema.object(
        [
            "option_ids": APISchema.array(.string(pattern: "^[A-Za-z0-9_-]{1,64}$"), maxItems: 10)
                .described("The options chosen: one unless the poll is multiple, [] to withdraw")
        ], required: ["option_ids"])
}

/// `message.deleted`, as far as polls need it.
struct DeletedMessage: Decodable {
    var id: String
}
