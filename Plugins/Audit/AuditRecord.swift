import Crypto
import Foundation
import QuikSDK

/// One entry of the audit log. Each carries the hash of the one before it, so an
/// entry edited or removed in the database breaks the chain at that point.
struct AuditRecord: Sendable {
    static let genesis = String(repeating: "0", count: 64)

    var seq: Int64
    var eventId: String
    var atMillis: Int64
    var action: String
    var actor: String?
    var target: String?
    var ip: String?
    var data: String
    var previousHash: String

    /// SHA-256 over every field, in a fixed order, each on its own line.
    var hash: String {
        let fields = [
            String(seq), eventId, String(atMillis), action, actor ?? "", target ?? "", ip ?? "", data, previousHash,
        ]
        let canonical = fields.map { $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n") }
            .joined(separator: "\n")
        return SHA256.hash(data: Data(canonical.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static let columns = "seq, event_id, at_ms, action, actor, target, ip, data, prev_hash, hash"

    init(
        seq: Int64, eventId: String, atMillis: Int64, action: String, actor: String?, target: String?, ip: String?, data: String,
        previousHash: String
    ) {
        self.seq = seq
        self.eventId = eventId
        self.atMillis = atMillis
        self.action = action
        self.actor = actor
        self.target = target
        self.ip = ip
        self.data = data
        self.previousHash = previousHash
    }

    init(row: SQLRow) {
        seq = row["seq"].int ?? 0
        eventId = row["event_id"].string ?? ""
        atMillis = row["at_ms"].int ?? 0
        action = row["action"].string ?? ""
        actor = row["actor"].string
        target = row["target"].string
        ip = row["ip"].string
        data = row["data"].string ?? ""
        previousHash = row["prev_hash"].string ?? ""
    }

    /// Who did it, to whom and from where, read from the event's payload.
    init(event: Event, seq: Int64, previousHash: String) {
        let payload = (try? JSONSerialization.jsonObject(with: event.payload)) as? [String: Any] ?? [:]
        let text = { (key: String) in payload[key] as? String }
        let isHost = event.topic.hasPrefix("host.")
        self.init(
            seq: seq, eventId: event.id, atMillis: Int64((event.publishedAt.timeIntervalSince1970 * 1000).rounded()),
            action: event.topic, actor: isHost ? "host" : (text("actor") ?? text("user_id")),
            target: isHost ? text("name") : text("user_id"), ip: text("ip"),
            data: String(decoding: event.payload, as: UTF8.self), previousHash: previousHash)
    }
}

/// A record as `GET /audit` shows it.
struct AuditView: Encodable, Sendable {
    var seq: Int64
    var eventId: String
    var at: Date
    var action: String
    var actor: String?
    var target: String?
    var ip: String?
    var data: JSONText
    var hash: String

    init(row: SQLRow) {
        let record = AuditRecord(row: row)
        seq = record.seq
        eventId = record.eventId
        at = Date(timeIntervalSince1970: Double(record.atMillis) / 1000)
        action = record.action
        actor = record.actor
        target = record.target
        ip = record.ip
        data = JSONText(record.data)
        hash = row["hash"].string ?? ""
    }

    /// What the synthesized `encode(to:)` writes, by hand because `data` is any JSON value: the optional
    /// fields are left out when `nil`.
    static let schema: APISchema = .object(
        [
            "seq": .integer, "event_id": .string, "at": .dateTime, "action": APISchema.string.described("The event's topic"),
            "actor": .string, "target": .string, "ip": .string,
            "data": APISchema.anyValue.described("The event's payload as published"), "hash": .string,
        ], required: ["seq", "event_id", "at", "action", "data", "hash"])
}

/// Stored JSON written back as JSON rather than as a string.
struct JSONText: Encodable, Sendable {
    let value: Data

    init(_ text: String) {
        value = Data(text.utf8)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let object = try? JSONDecoder().decode(AnyJSON.self, from: value) {
            try container.encode(object)
        } else {
            try container.encode(String(decoding: value, as: UTF8.self))
        }
    }
}

/// Any JSON value, for passing stored payloads through.
enum AnyJSON: Codable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([AnyJSON])
    case object([String: AnyJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([AnyJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: AnyJSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// `GET /audit/verify`.
struct VerifyReport: Encodable, Sendable {
    var ok: Bool
    var checked: Int
    var brokenAt: Int64?
    var eventId: String?
    var reason: String?

    /// What `encode(to:)` writes: every key, `null` when unset.
    static let schema: APISchema = .object(
        [
            "ok": .boolean, "checked": .integer(minimum: 0), "broken_at": APISchema.integer.orNull,
            "event_id": APISchema.string.orNull, "reason": APISchema.string.orNull,
        ], required: ["ok", "checked", "broken_at", "event_id", "reason"])

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case ok, checked, brokenAt = "broken_at", eventId = "event_id", reason }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(ok, forKey: .ok)
        try container.encode(checked, forKey: .checked)
        try container.encode(brokenAt, forKey: .brokenAt)
        try container.encode(eventId, forKey: .eventId)
        try container.encode(reason, forKey: .reason)
    }
}
