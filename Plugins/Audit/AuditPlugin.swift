import Foundation
import QuikPluginKit
import QuikSDK

/// The `audit` plugin: security events, stored append-only in a hash chain.
public final class AuditPlugin: QuikPlugin {
    /// The security events it records: sign-ins and their failures, token reuse,
    /// password and two-factor changes (`auth.*`), role changes and deactivations
    /// (`access.*`), plugin loads and reloads (`host.*`).
    static let topics = ["auth.**", "access.**", "host.**"]

    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "audit", version: "1.0.0", mount: "audit",
            capabilities: PluginCapabilities(database: true),
            summary: "Append-only, hash-chained log of security events",
            permissions: [PermissionSpec("audit.read", summary: "Read and verify the audit log (system admins)")])
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "audit_log", statements: [
                """
                CREATE TABLE audit_log (
                  seq BIGINT NOT NULL PRIMARY KEY,
                  event_id VARCHAR(40) NOT NULL,
                  at_ms BIGINT NOT NULL,
                  action VARCHAR(128) NOT NULL,
                  actor VARCHAR(64) NULL,
                  target VARCHAR(64) NULL,
                  ip VARCHAR(64) NULL,
                  data MEDIUMTEXT NOT NULL,
                  prev_hash CHAR(64) NOT NULL,
                  hash CHAR(64) NOT NULL,
                  UNIQUE KEY by_event (event_id),
                  KEY by_actor (actor, seq),
                  KEY by_action (action, seq),
                  KEY by_time (at_ms)
                )
                """,
                "CREATE TABLE chain_head (id TINYINT NOT NULL PRIMARY KEY, seq BIGINT NOT NULL, hash CHAR(64) NOT NULL)",
                "INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '\(AuditRecord.genesis)')",
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let log = AuditLog(database: try context.requireDatabase())
        for topic in Self.topics {
            try context.subscribe(topic) { event in
                do {
                    try await log.append(event)
                } catch {
                    context.logger.error("audit record not written", metadata: ["topic": event.topic, "event_id": event.id, "error": "\(error)"])
                }
            }
        }
        let search = RouteOptions(summary: "Audit records, newest first (?actor=&action=&since=)").documented(
            query: [
                .query("actor", .string, "Only records by this actor (a user id, or host)"),
                .query("action", .string, "Only this action, or those starting with the text before a trailing *, as auth.*"),
                .query("since", .dateTime, "Only records at or after this RFC 3339 time"),
                .query("limit", .integer(minimum: 1, maximum: 200), "Records per page (default 50)"),
                .query("cursor", .string, "The next_cursor of the page before"),
            ],
            response: .list(of: AuditView.schema))
        try context.addRoute(.get, "/", options: search) { request in
            try await context.require("audit.read", in: .system, for: try request.requirePrincipal())
            var since: Date?
            if let text = request.query("since") {
                guard let date = QuikTime.parse(text) else {
                    throw PluginError(.badRequest, "since must be an RFC 3339 time", details: ["since": text])
                }
                since = date
            }
            let page = try Page(request)
            return try .json(try await log.search(actor: request.query("actor"), action: request.query("action"), since: since, page: page))
        }
        let verify = RouteOptions(summary: "Check the hash chain; names the first broken record").documented(response: VerifyReport.schema)
        try context.addRoute(.get, "/verify", options: verify) { request in
            try await context.require("audit.read", in: .system, for: try request.requirePrincipal())
            return try .json(try await log.verify())
        }
    }
}
