import Foundation
import QuikPluginKit
import QuikSDK

/// The append-only, hash-chained log in the plugin's schema.
struct AuditLog: Sendable {
    let database: any PluginDatabase

    /// Appends an event once (a redelivered event id is ignored). The chain head
    /// row is locked, so concurrent appends take consecutive numbers.
    func append(_ event: Event) async throws {
        try await database.transaction(retryOnDeadlock: true) { transaction in
            let seen = try await transaction.query("SELECT 1 FROM audit_log WHERE event_id = ?", [.text(event.id)])
            guard seen.isEmpty else { return }
            guard let head = try await transaction.query("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE").first else {
                throw PluginError(.internalError, "the audit chain head is missing")
            }
            let record = AuditRecord(event: event, seq: (head["seq"].int ?? 0) + 1, previousHash: head["hash"].string ?? AuditRecord.genesis)
            let hash = record.hash
            try await transaction.execute(
                "INSERT INTO audit_log (\(AuditRecord.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    .int(record.seq), .text(record.eventId), .int(record.atMillis), .text(record.action), Self.optional(record.actor),
                    Self.optional(record.target), Self.optional(record.ip), .text(record.data), .text(record.previousHash), .text(hash),
                ])
            try await transaction.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", [.int(record.seq), .text(hash)])
        }
    }

    private static func optional(_ text: String?) -> SQLValue {
        text.map(SQLValue.text) ?? .null
    }

    func search(actor: String?, action: String?, since: Date?, page: Page) async throws -> ListResponse<AuditView> {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let actor {
            conditions.append("actor = ?")
            values.append(.text(actor))
        }
        if let action {
            if action.hasSuffix("*") {
                conditions.append("action LIKE ?")
                values.append(.text(String(action.dropLast()).replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"))
            } else {
                conditions.append("action = ?")
                values.append(.text(action))
            }
        }
        if let since {
            conditions.append("at_ms >= ?")
            values.append(.int(Int64(since.timeIntervalSince1970 * 1000)))
        }
        if let cursor = page.cursor {
            guard let seq = Int64(cursor) else { throw PluginError(.badRequest, "cursor is not one this API gave out") }
            conditions.append("seq < ?")
            values.append(.int(seq))
        }
        let rows = try await database.query(
            "SELECT \(AuditRecord.columns) FROM audit_log \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY seq DESC LIMIT \(page.limit + 1)",
            values)
        return ListResponse(fetched: rows.map(AuditView.init(row:)), limit: page.limit) { String($0.seq) }
    }

    /// Walks the chain from the first record: each must follow the one before
    /// (no gap), link to its hash, and hash to what it stores; the head must
    /// match the last one (nothing cut off the end).
    func verify() async throws -> VerifyReport {
        var expectedSeq: Int64 = 1
        var previous = AuditRecord.genesis
        var checked = 0
        while true {
            let rows = try await database.query(
                "SELECT \(AuditRecord.columns) FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT 1000", [.int(expectedSeq)])
            for row in rows {
                let record = AuditRecord(row: row)
                if record.seq != expectedSeq {
                    return VerifyReport(
                        ok: false, checked: checked, brokenAt: expectedSeq, eventId: nil, reason: "record \(expectedSeq) is missing")
                }
                if record.previousHash != previous {
                    return VerifyReport(
                        ok: false, checked: checked, brokenAt: record.seq, eventId: record.eventId,
                        reason: "record \(record.seq) does not link to the record before it")
                }
                if record.hash != row["hash"].string {
                    return VerifyReport(
                        ok: false, checked: checked, brokenAt: record.seq, eventId: record.eventId,
                        reason: "record \(record.seq) was altered after it was written")
                }
                previous = row["hash"].string ?? ""
                expectedSeq += 1
                checked += 1
            }
            if rows.count < 1000 { break }
        }
        let head = try await database.query("SELECT seq, hash FROM chain_head WHERE id = 1").first
        if head?["seq"].int != expectedSeq - 1 || head?["hash"].string != previous {
            return VerifyReport(
                ok: false, checked: checked, brokenAt: expectedSeq, eventId: nil,
                reason: "records from \(expectedSeq) on are missing (the chain head is at \(head?["seq"].int ?? 0))")
        }
        return VerifyReport(ok: true, checked: checked, brokenAt: nil, eventId: nil, reason: nil)
    }
}
