import FixtureSupport
import Foundation
import QuikSDK
import Synchronization

/// A plugin with a database, named after its own file (`libnotes-a.so` is plugin
/// `notes-a`), so tests can load two of them with separate schemas. It stores
/// notes, publishes durable `<name>.created` events, and records every
/// `*.created` event it receives idempotently, by event id.
public final class NotesPlugin: QuikPlugin {
    let name: String
    let deliveries = Mutex(0)

    let version: String

    /// Version 2 adds a third migration and a route that reads its table.
    public init(version: String) {
        self.version = version
        name = OwnLibrary.pluginName(fallback: "notes")
    }

    public var manifest: PluginManifest {
        PluginManifest(name: name, version: version, mount: name, capabilities: PluginCapabilities(database: true))
    }

    public var migrations: [Migration] {
        let all = [
            Migration(version: 1, name: "create_notes", statements: [
                "CREATE TABLE IF NOT EXISTS notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL, created_at DATETIME(3) NOT NULL)"
            ]),
            Migration(version: 2, name: "create_received", statements: [
                "CREATE TABLE IF NOT EXISTS received (event_id VARCHAR(40) PRIMARY KEY, topic VARCHAR(255) NOT NULL)"
            ]),
            Migration(version: 3, name: "create_tags", statements: [
                "CREATE TABLE IF NOT EXISTS tags (name VARCHAR(64) PRIMARY KEY)"
            ]),
        ]
        return version.hasPrefix("2.") ? all : Array(all.prefix(2))
    }

    struct Note: Codable { var body: String }

    public func setup(_ context: any PluginContext) async throws {
        let database = try context.requireDatabase()
        let open = RouteOptions(requiresAuthentication: false)
        let name = self.name

        try context.addRoute(.post, "/notes", options: open) { request in
            let note = try request.decode(Note.self)
            let outcome = try await database.execute(
                "INSERT INTO notes (body, created_at) VALUES (?, ?)", [.text(note.body), .date(Date())])
            return try .json(["id": outcome.lastInsertID], status: 201)
        }
        try context.addRoute(.get, "/notes/{id}", options: open) { request in
            guard let id = Int64(try request.parameter("id")),
                let row = try await database.query("SELECT id, body FROM notes WHERE id = ?", [.int(id)]).first
            else { throw PluginError(.notFound, "no such note") }
            return try .json(["id": row["id"].int.map(String.init) ?? "", "body": row["body"].string ?? ""])
        }
        try context.addRoute(.post, "/durable", options: open) { request in
            let note = try request.decode(Note.self)
            let eventID = try await database.transaction { transaction in
                try await transaction.execute("INSERT INTO notes (body, created_at) VALUES (?, ?)", [.text(note.body), .date(Date())])
                return try await transaction.publish("\(name).created", ["body": note.body])
            }
            return try .json(["event_id": eventID], status: 201)
        }
        try context.addRoute(.post, "/failing-transaction", options: open) { request in
            let note = try request.decode(Note.self)
            try await database.transaction { transaction in
                try await transaction.execute("INSERT INTO notes (body, created_at) VALUES (?, ?)", [.text(note.body), .date(Date())])
                try await transaction.publish("\(name).created", ["body": note.body])
                throw PluginError(.conflict, "changed my mind")
            }
            return .noContent
        }
        try context.addRoute(.get, "/count", options: open) { request in
            let body = request.query("body") ?? ""
            let rows = try await database.query("SELECT COUNT(*) AS n FROM notes WHERE body = ?", [.text(body)])
            return try .json(["count": rows.first?["n"].int ?? -1])
        }
        try context.addRoute(.get, "/sleep", options: open) { request in
            let seconds = Double(request.query("s") ?? "0.2") ?? 0.2
            _ = try await database.query("SELECT SLEEP(?) AS slept", [.double(seconds)])
            return try .json(["slept": seconds])
        }
        try context.addRoute(.get, "/peek", options: open) { request in
            // Reaches into another plugin's schema; the host's grants must refuse it.
            let schema = request.query("schema") ?? ""
            let write = request.query("write") == "1"
            do {
                if write {
                    try await database.execute("INSERT INTO `\(schema)`.notes (body, created_at) VALUES ('intruder', NOW())")
                } else {
                    _ = try await database.query("SELECT body FROM `\(schema)`.notes")
                }
                return try .json(["outcome": "allowed"])
            } catch let error as DatabaseError {
                return try .json(["outcome": error.kind.name])
            }
        }
        try context.subscribe("*.created") { event in
            self.deliveries.withLock { $0 += 1 }
            _ = try? await database.execute(
                "INSERT IGNORE INTO received (event_id, topic) VALUES (?, ?)", [.text(event.id), .text(event.topic)])
        }
        if version.hasPrefix("2.") {
            try context.addRoute(.get, "/tags", options: open) { _ in
                try .json(["count": try await database.query("SELECT COUNT(*) AS n FROM tags").first?["n"].int ?? -1])
            }
        }
        try context.addRoute(.get, "/received", options: open) { _ in
            let rows = try await database.query("SELECT event_id FROM received ORDER BY event_id")
            return try .json(["ids": rows.compactMap { $0["event_id"].string }, "deliveries": ["\(self.deliveries.withLock { $0 })"]])
        }
    }
}
