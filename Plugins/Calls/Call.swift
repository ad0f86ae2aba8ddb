import Foundation
import QuikSDK

/// One person in a call: the socket they joined from, and what they show.
struct Participant: Codable, Sendable {
    var userId: String
    var sessionId: String
    var muted: Bool
    var screenSharing: Bool
    var handRaised: Bool
    var joinedAt: Date

    init(row: SQLRow) {
        userId = row["user_id"].string ?? ""
        sessionId = row["session_id"].string ?? ""
        muted = row["muted"].int == 1
        screenSharing = row["screen_sharing"].int == 1
        handRaised = row["hand_raised"].int == 1
        joinedAt = row["joined_at"].date ?? Date()
    }

    static let schema = APISchema.object(
        [
            "user_id": .string, "session_id": .string, "muted": .boolean, "screen_sharing": .boolean, "hand_raised": .boolean,
            "joined_at": .dateTime,
        ], required: ["user_id", "session_id", "muted", "screen_sharing", "hand_raised", "joined_at"])
}

/// A call or huddle as the API shows it, with its history: who took part, how it ended, how long it lasted.
struct Call: Codable, Sendable {
    var id: String
    var channelId: String
    /// `call` (a direct channel of two: it rings) or `huddle`.
    var kind: String
    var startedBy: String
    var startedAt: Date
    var endedAt: Date?
    var participants: [Participant]
    /// Everyone who was ever in it.
    var attendees: [String]
    /// `answered`, `missed` or `declined` for a `call`; `null` for a huddle, or while ringing.
    var outcome: String?
    /// Seconds from start to end, once ended.
    var durationS: Int?

    static let columns = "id, channel_id, workspace_id, kind, started_by, callee_id, started_at, ended_at, end_reason, answered_at"

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(channelId, forKey: .channelId)
        try container.encode(kind, forKey: .kind)
        try container.encode(startedBy, forKey: .startedBy)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(endedAt, forKey: .endedAt)
        try container.encode(participants, forKey: .participants)
        try container.encode(attendees, forKey: .attendees)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(durationS, forKey: .durationS)
    }

    static let schema = APISchema.object(
        [
            "id": .string, "channel_id": .string, "kind": .string(values: ["call", "huddle"]), "started_by": .string, "started_at": .dateTime,
            "ended_at": APISchema.dateTime.orNull, "participants": .array(Participant.schema), "attendees": .array(.string),
            "outcome": APISchema.string(values: ["answered", "missed", "declined"]).orNull, "duration_s": APISchema.integer(minimum: 0).orNull,
        ],
        required: ["id", "channel_id", "kind", "started_by", "started_at", "ended_at", "participants", "attendees", "outcome", "duration_s"])
}

/// `POST /calls`.
struct StartBody: Decodable {
    var channelId: String?
    var connectionId: String?

    static let schema = APISchema.object(["channel_id": .string, "connection_id": .string], required: ["channel_id", "connection_id"])
}

/// `POST /calls/{id}/join`.
struct JoinBody: Decodable {
    var connectionId: String?

    static let schema = APISchema.object(["connection_id": .string], required: ["connection_id"])
}

/// The client frames.
struct CallFrame: Decodable {
    struct SDP: Codable {
        var type: String
        var sdp: String
    }

    struct Candidate: Codable {
        var candidate: String
        var sdpMid: String?
        var sdpMlineIndex: Int?
    }

    var callId: String?
    var toSessionId: String?
    var sdp: SDP?
    var candidate: Candidate?
    var muted: Bool?
    var screenSharing: Bool?
    var handRaised: Bool?
}

/// The jobs: a ringing call unanswered in time, and a participant whose socket closed.
struct RingTimeout: Codable {
    var callId: String
}

struct Grace: Codable {
    var callId: String
    var userId: String
    var sessionId: String
}
