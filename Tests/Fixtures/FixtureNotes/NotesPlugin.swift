import Foundation
import QuikSDK
import Synchronization

/// A plugin with a database, named after its own file (`libnotes-a.so` is plugin
/// `notes-a`), so tests can load two of them with separate schemas. It stores
/// notes, publishes durable `<name>.created` events, and records every
/// `*.created` event it receives idempotently, by event id.
final class NotesPlugin: QuikPlugin {
    let name: String
    let deliveries = Mutex(0)

    init() {
        var file = Substring(Self.ownPath()?.split(separator: "/").last ?? "libnotes.so")
        if file.hasPrefix("lib") { file = file.dropFirst(3) }
        if file.hasSuffix(".so") { file = file.dropLast(3) }
        // A dev-mode copy is named <plugin>-<pid>-<serial>.so.
        let parts = file.split(separator: "-")
        if parts.count >= 3, parts.suffix(2).allSatisfy({ $0.allSatisfy(\.isNumber) }) {
            file = Substring(parts.dropLast(2).joined(separator: "-"))
        }
        name = file.lowercased()
    }

    /// The file this image was loaded from.
    static func ownPath() -> String? {
        let address = UInt(bitPattern: #dsohandle)
        guard let data = try? FileHandle(forReadingAtPath: "/proc/self/maps")?.readToEnd() else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let range = fields.first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            if range.count == 2, range[0] <= address, address < range[1], fields.count >= 6 { return String(fields[5]) }
        }
        return nil
    }

    var manifest: PluginManifest {
        PluginManifest(name: name, version: "1.0.0", mount: name, capabilities: PluginCapabilities(database: true))
    }

    var migrations: [Migration] {
        [
            Migration(version: 1, name: "create_notes", statements: [
                "CREATE TABLE IF NOT EXISTS notes (id BIGINT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL, created_at DATETIME(3) NOT NULL)"
            ]),
            Migration(version: 2, name: "create_received", statements: [
                "CREATE TABLE IF NOT EXISTS received (event_id VARCHAR(40) PRIMARY KEY, topic VARCHAR(255) NOT NULL)"
            ]),
        ]
    }

    struct Note: Codable { var body: String }

    func setup(_ context: any PluginContext) async throws {
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
        try context.addRoute(.get, "/received", options: open) { _ in
            let rows = try await database.query("SELECT event_id FROM received ORDER BY event_id")
            return try .json(["ids": rows.compactMap { $0["event_id"].string }, "deliveries": ["\(self.deliveries.withLock { $0 })"]])
        }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(NotesPlugin()) }
