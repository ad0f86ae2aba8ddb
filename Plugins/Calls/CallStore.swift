import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Calls and huddles in the plugin's schema: who is in which, from which socket; the channel
/// hears of every change (`call.*` to `channel:<id>`), the callee of a call is rung, and timers
/// (ringing, a participant's grace after their socket closed) are durable jobs.
struct CallStore: Sendable {
    static let ringJob = "ring_timeout"
    static let graceJob = "grace"

    let context: any PluginContext
    let database: any PluginDatabase
    let maxParticipants: Int
    let ringTimeout: TimeInterval
    let rejoinGrace: TimeInterval

    static func group(_ channelId: String) -> String { "channel:\(channelId)" }

    // MARK: Reading

    func call(_ id: String, in executor: (any SQLExecutor)? = nil) async throws -> Call? {
        let executor = executor ?? database
        guard IDs.isPlausible(id), let row = try await executor.query("SELECT \(Call.columns) FROM calls WHERE id = ?", [.text(id)]).first else {
            return nil
        }
        return try await render(row, in: executor)
    }

    private func render(_ row: SQLRow, in executor: any SQLExecutor) async throws -> Call {
        let id = row["id"].string ?? ""
        let participants = try await executor.query(
            "SELECT * FROM participants WHERE call_id = ? ORDER BY joined_at, user_id", [.text(id)]
        ).map(Participant.init(row:))
        let attendees = try await executor.query(
            "SELECT user_id FROM attendance WHERE call_id = ? GROUP BY user_id ORDER BY MIN(joined_at)", [.text(id)]
        ).compactMap { $0["user_id"].string }
        let started = row["started_at"].date ?? Date()
        let ended = row["ended_at"].date
        let kind = row["kind"].string ?? "huddle"
        var outcome: String?
        if kind == "call" {
            if row["answered_at"].date != nil {
                outcome = "answered"
            } else if let reason = row["end_reason"].string {
                outcome = reason == "declined" ? "declined" : "missed"
            }
        }
        return Call(
            id: id, channelId: row["channel_id"].string ?? "", kind: kind, startedBy: row["started_by"].string ?? "", startedAt: started,
            endedAt: ended, participants: ended == nil ? participants : [], attendees: attendees, outcome: outcome,
            durationS: ended.map { max(0, Int($0.timeIntervalSince(started))) })
    }

    /// What the caller may do in the channel: 404 unseen, 403 not a member.
    @discardableResult
    func requireMember(_ channelId: String, _ userId: String, write: Bool = true) async throws -> ChannelAccessReply {
        guard IDs.isPlausible(channelId) else { throw PluginError(.notFound, "no such channel") }
        let access = try await context.call("channel", "access", ChannelAccessQuery(channelId: channelId, userId: userId), as: ChannelAccessReply.self)
        guard access.visible else { throw PluginError(.notFound, "no such channel") }
        guard !write || access.member else { throw PluginError(.forbidden, "only members of the channel take part in its calls") }
        return access
    }

    /// A call whose channel the caller can see; 404 otherwise.
    func visibleCall(_ id: String, _ userId: String) async throws -> Call {
        guard let call = try await call(id) else { throw PluginError(.notFound, "no such call") }
        try await requireMember(call.channelId, userId, write: false)
        return call
    }

    func list(channelId: String?, page: Page, userId: String) async throws -> ListResponse<Call> {
        guard let channelId else { throw PluginError(.validationFailed, "channel_id is required", details: ["channel_id": "is required"]) }
        try await requireMember(channelId, userId, write: false)
        var sql = "SELECT \(Call.columns) FROM calls WHERE channel_id = ?"
        var values: [SQLValue] = [.text(channelId)]
        if let cursor = page.cursor {
            sql += " AND id < ?"
            values.append(.text(cursor))
        }
        let rows = try await database.query(sql + " ORDER BY id DESC LIMIT \(page.limit + 1)", values)
        var calls: [Call] = []
        for row in rows { calls.append(try await render(row, in: database)) }
        return ListResponse(fetched: calls, limit: page.limit) { $0.id }
    }

    func active(workspaceId: String?, userId: String) async throws -> [Call] {
        guard let workspaceId, IDs.isPlausible(workspaceId) else {
            throw PluginError(.validationFailed, "workspace_id is required", details: ["workspace_id": "is required"])
        }
        let readable = try await context.call(
            "channel", "readable", ReadableChannelsQuery(workspaceId: workspaceId, userId: userId), as: ReadableChannels.self)
        guard readable.workspaceRole != nil else { throw PluginError(.notFound, "no such workspace") }
        let ids = readable.channels.map(\.id)
        guard !ids.isEmpty else { return [] }
        let rows = try await database.query(
            "SELECT \(Call.columns) FROM calls WHERE ended_at IS NULL AND channel_id IN (\(sqlPlaceholders(ids.count))) ORDER BY id DESC",
            ids.map(SQLValue.text))
        var calls: [Call] = []
        for row in rows { calls.append(try await render(row, in: database)) }
        return calls
    }

    // MARK: Changing

    /// The connection must be an open socket of the caller's (on this host).
    private func requireOwnSocket(_ connectionId: String?, _ userId: String) async throws -> String {
        guard let connectionId, IDs.isPlausible(connectionId), await context.connectionOwner(connectionId) == userId else {
            throw PluginError(.validationFailed, "connection_id is not an open socket of yours", details: ["connection_id": "not an open socket"])
        }
        return connectionId
    }

    func start(_ body: StartBody, userId: String) async throws -> Call {
        guard let channelId = body.channelId else {
            throw PluginError(.validationFailed, "channel_id is required", details: ["channel_id": "is required"])
        }
        let access = try await requireMember(channelId, userId)
        guard !access.archived else { throw PluginError(.conflict, "the channel is archived") }
        let session = try await requireOwnSocket(body.connectionId, userId)
        var callee: String?
        if access.kind == "direct" {
            let members = try await context.call("channel", "members", ChannelMembersQuery(channelId: channelId), as: ChannelMembers.self).memberIds
            if members.count == 2 { callee = members.first { $0 != userId } }
        }
        let id = IDs.make("K")
        let now = Date()
        let call = try await database.transaction(retryOnDeadlock: true) { transaction -> Call in
            if let existing = try await transaction.query("SELECT call_id FROM active_calls WHERE channel_id = ? FOR UPDATE", [.text(channelId)]).first {
                let callId = existing["call_id"].string ?? ""
                throw PluginError(.conflict, "a call is already on in this channel", details: ["call_id": callId])
            }
            try await transaction.execute("INSERT INTO active_calls (channel_id, call_id) VALUES (?, ?)", [.text(channelId), .text(id)])
            try await transaction.execute(
                "INSERT INTO calls (id, channel_id, workspace_id, kind, started_by, callee_id, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(id), .text(channelId), .text(access.workspaceId ?? ""), .text(callee == nil ? "huddle" : "call"), .text(userId),
                    callee.map(SQLValue.text) ?? .null, .date(now),
                ])
            try await addParticipant(id, userId, session, in: transaction)
            if callee != nil {
                try await transaction.requireJobs().schedule(
                    Self.ringJob, RingTimeout(callId: id), at: now.addingTimeInterval(ringTimeout), key: "ring:\(id)")
            }
            guard let call = try await self.call(id, in: transaction) else { throw PluginError(.internalError, "the call vanished") }
            return call
        }
        await announce("call.started", call)
        if let callee {
            await context.send(
                try RealtimeEvent(topic: "call.ringing", value: Ringing(call: call, callerId: userId)), to: .user(callee))
        }
        return call
    }

    private struct Ringing: Encodable {
        var call: Call
        var callerId: String
    }

    private struct ParticipantEvent: Encodable {
        var callId: String
        var channelId: String
        var participant: Participant
    }

    private func addParticipant(_ callId: String, _ userId: String, _ session: String, in transaction: any SQLTransaction) async throws {
        let now = Date()
        try await transaction.execute(
            "INSERT INTO participants (call_id, user_id, session_id, muted, screen_sharing, hand_raised, joined_at) VALUES (?, ?, ?, 0, 0, 0, ?)",
            [.text(callId), .text(userId), .text(session), .date(now)])
        try await transaction.execute(
            "INSERT INTO attendance (call_id, user_id, joined_at) VALUES (?, ?, ?)", [.text(callId), .text(userId), .date(now)])
    }

    func announce(_ topic: String, _ call: Call) async {
        guard let event = try? RealtimeEvent(topic: topic, value: call) else { return }
        await context.send(event, to: .group(Self.group(call.channelId)))
    }

    private func announce(_ topic: String, call: Call, participant: Participant) async {
        guard let event = try? RealtimeEvent(topic: topic, value: ParticipantEvent(callId: call.id, channelId: call.channelId, participant: participant))
        else { return }
        await context.send(event, to: .group(Self.group(call.channelId)))
    }

    func join(_ callId: String, connectionId: String?, userId: String) async throws -> Call {
        guard let existing = try await call(callId) else { throw PluginError(.notFound, "no such call") }
        try await requireMember(existing.channelId, userId)
        let session = try await requireOwnSocket(connectionId, userId)
        let (call, replaced, joined) = try await database.transaction(retryOnDeadlock: true) { transaction -> (Call, Participant?, Participant?) in
            guard let row = try await transaction.query("SELECT \(Call.columns) FROM calls WHERE id = ? FOR UPDATE", [.text(callId)]).first else {
                throw PluginError(.notFound, "no such call")
            }
            guard row["ended_at"].isNull else { throw PluginError(.conflict, "the call has ended", details: ["reason": "ended"]) }
            let mine = try await transaction.query(
                "SELECT * FROM participants WHERE call_id = ? AND user_id = ?", [.text(callId), .text(userId)]
            ).first.map(Participant.init(row:))
            if let mine, mine.sessionId == session {
                return (try await self.call(callId, in: transaction)!, nil, nil)
            }
            if mine == nil {
                let count = try await transaction.query("SELECT COUNT(*) AS n FROM participants WHERE call_id = ?", [.text(callId)]).first?["n"].int ?? 0
                guard count < Int64(maxParticipants) else {
                    throw PluginError(.conflict, "the call is full (\(maxParticipants) people)", details: ["reason": "full"])
                }
            }
            // Joining again from another socket replaces the session.
            if mine != nil {
                try await transaction.execute("DELETE FROM participants WHERE call_id = ? AND user_id = ?", [.text(callId), .text(userId)])
            }
            try await addParticipant(callId, userId, session, in: transaction)
            if row["callee_id"].string == userId, row["answered_at"].isNull {
                try await transaction.execute("UPDATE calls SET answered_at = ? WHERE id = ?", [.date(Date()), .text(callId)])
                try await transaction.requireJobs().cancel(key: "ring:\(callId)")
            }
            let joined = try await transaction.query(
                "SELECT * FROM participants WHERE call_id = ? AND user_id = ?", [.text(callId), .text(userId)]
            ).first.map(Participant.init(row:))
            return (try await self.call(callId, in: transaction)!, mine, joined)
        }
        if let replaced { await announce("call.participant_left", call: call, participant: replaced) }
        if let joined { await announce("call.participant_joined", call: call, participant: joined) }
        return call
    }

    /// Takes `userId` out (only from `session`, when given); ends the call when it empties, or when
    /// the caller of an unanswered call leaves (missed).
    func leave(_ callId: String, userId: String, session: String? = nil) async throws {
        let outcome = try await database.transaction(retryOnDeadlock: true) { transaction -> (Call, Participant, Bool)? in
            guard let row = try await transaction.query("SELECT \(Call.columns) FROM calls WHERE id = ? FOR UPDATE", [.text(callId)]).first,
                row["ended_at"].isNull
            else { return nil }
            guard let mine = try await transaction.query(
                "SELECT * FROM participants WHERE call_id = ? AND user_id = ?", [.text(callId), .text(userId)]
            ).first.map(Participant.init(row:)), session == nil || mine.sessionId == session else { return nil }
            try await transaction.execute("DELETE FROM participants WHERE call_id = ? AND user_id = ?", [.text(callId), .text(userId)])
            try await transaction.execute(
                "UPDATE attendance SET left_at = ? WHERE call_id = ? AND user_id = ? AND left_at IS NULL", [.date(Date()), .text(callId), .text(userId)])
            let left = try await transaction.query("SELECT COUNT(*) AS n FROM participants WHERE call_id = ?", [.text(callId)]).first?["n"].int ?? 0
            let callerGaveUp = row["kind"].string == "call" && row["answered_at"].isNull && row["started_by"].string == userId
            var ends = left == 0 || callerGaveUp
            if ends { try await end(row, reason: callerGaveUp ? "missed" : "ended", in: transaction) }
            guard let call = try await self.call(callId, in: transaction) else { return nil }
            ends = ends || call.endedAt != nil
            return (call, mine, ends)
        }
        guard let (call, participant, ended) = outcome else { return }
        await announce("call.participant_left", call: call, participant: participant)
        if ended { await announce("call.ended", call) }
    }

    /// Ends a call in `transaction`: everyone out, the channel free, a missed call told (durably).
    private func end(_ row: SQLRow, reason: String, in transaction: any SQLTransaction) async throws {
        let id = row["id"].string ?? ""
        let now = Date()
        try await transaction.execute("UPDATE calls SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL", [.date(now), .text(reason), .text(id)])
        try await transaction.execute("DELETE FROM participants WHERE call_id = ?", [.text(id)])
        try await transaction.execute("UPDATE attendance SET left_at = ? WHERE call_id = ? AND left_at IS NULL", [.date(now), .text(id)])
        try await transaction.execute("DELETE FROM active_calls WHERE call_id = ?", [.text(id)])
        try await transaction.requireJobs().cancel(key: "ring:\(id)")
        if reason == "missed", let callee = row["callee_id"].string {
            try await transaction.publish(
                "call.missed",
                MissedCall(callId: id, channelId: row["channel_id"].string ?? "", workspaceId: row["workspace_id"].string, callerId: row["started_by"].string ?? "", calleeId: callee))
        }
    }

    /// `POST /calls/{id}/end` (its starter, either person of a call, workspace admins) and `decline` (the callee of a ringing call).
    func end(_ callId: String, userId: String, principal: Principal, declining: Bool) async throws {
        guard let existing = try await call(callId) else { throw PluginError(.notFound, "no such call") }
        let access = try await requireMember(existing.channelId, userId, write: false)
        let ended = try await database.transaction(retryOnDeadlock: true) { transaction -> Call? in
            guard let row = try await transaction.query("SELECT \(Call.columns) FROM calls WHERE id = ? FOR UPDATE", [.text(callId)]).first else {
                throw PluginError(.notFound, "no such call")
            }
            guard row["ended_at"].isNull else { return nil }
            if declining {
                guard row["kind"].string == "call", row["callee_id"].string == userId, row["answered_at"].isNull else {
                    throw PluginError(.forbidden, "only the callee of a ringing call declines it")
                }
                try await end(row, reason: "declined", in: transaction)
            } else {
                let either = row["kind"].string == "call" && (row["started_by"].string == userId || row["callee_id"].string == userId)
                if row["started_by"].string != userId, !either {
                    try await context.require("calls.end_any", in: .workspace(access.workspaceId ?? ""), for: principal)
                }
                try await end(row, reason: row["answered_at"].isNull && row["kind"].string == "call" ? "missed" : "ended", in: transaction)
            }
            return try await self.call(callId, in: transaction)
        }
        if let ended {
            for participant in existing.participants { await announce("call.participant_left", call: ended, participant: participant) }
            await announce("call.ended", ended)
        }
    }

    /// The ring timeout job: a call still unanswered ends as missed.
    func ringTimedOut(_ job: Job) async throws {
        let callId = try job.decode(RingTimeout.self).callId
        let ended = try await database.transaction(retryOnDeadlock: true) { transaction -> (Call, [Participant])? in
            guard let row = try await transaction.query("SELECT \(Call.columns) FROM calls WHERE id = ? FOR UPDATE", [.text(callId)]).first,
                row["ended_at"].isNull, row["answered_at"].isNull
            else { return nil }
            let before = try await transaction.query("SELECT * FROM participants WHERE call_id = ?", [.text(callId)]).map(Participant.init(row:))
            try await end(row, reason: "missed", in: transaction)
            guard let call = try await self.call(callId, in: transaction) else { return nil }
            return (call, before)
        }
        guard let (call, participants) = ended else { return }
        for participant in participants { await announce("call.participant_left", call: call, participant: participant) }
        await announce("call.ended", call)
    }

    /// A socket closed: each call it was a session of gets a grace period to rejoin from another.
    func socketClosed(_ connectionId: String, userId: String) async throws {
        let rows = try await database.query(
            "SELECT call_id FROM participants WHERE session_id = ? AND user_id = ?", [.text(connectionId), .text(userId)])
        let jobs = try context.requireJobs()
        for row in rows {
            guard let callId = row["call_id"].string else { continue }
            try await jobs.schedule(
                Self.graceJob, Grace(callId: callId, userId: userId, sessionId: connectionId), at: Date().addingTimeInterval(rejoinGrace),
                key: "grace:\(callId):\(userId):\(connectionId)")
        }
    }

    /// The grace job: still on the closed socket's session, the participant is removed.
    func graceOver(_ job: Job) async throws {
        let grace = try job.decode(Grace.self)
        // Back on the same socket meanwhile (it never closed on this host): nothing to do.
        if await context.connectionOwner(grace.sessionId) == grace.userId { return }
        try await leave(grace.callId, userId: grace.userId, session: grace.sessionId)
    }

    // MARK: Frames

    /// The caller's participant row in `callId`, from this socket; `forbidden` otherwise.
    private func session(_ callId: String?, _ frame: ClientFrame) async throws -> (Call, Participant) {
        guard let callId, let call = try await call(callId), call.endedAt == nil else { throw PluginError(.notFound, "no such call") }
        guard let mine = call.participants.first(where: { $0.userId == frame.principal.userId && $0.sessionId == frame.connectionId }) else {
            throw PluginError(.forbidden, "this socket is not a session of the call")
        }
        return (call, mine)
    }

    func update(_ frame: ClientFrame) async throws {
        let body = try frame.decode(CallFrame.self)
        let (call, _) = try await session(body.callId, frame)
        var sets: [String] = []
        var values: [SQLValue] = []
        if let muted = body.muted { sets.append("muted = ?"); values.append(.int(muted ? 1 : 0)) }
        if let sharing = body.screenSharing { sets.append("screen_sharing = ?"); values.append(.int(sharing ? 1 : 0)) }
        if let hand = body.handRaised { sets.append("hand_raised = ?"); values.append(.int(hand ? 1 : 0)) }
        guard !sets.isEmpty else {
            throw PluginError(.validationFailed, "give muted, screen_sharing or hand_raised", details: ["muted": "is required"])
        }
        try await database.execute(
            "UPDATE participants SET \(sets.joined(separator: ", ")) WHERE call_id = ? AND user_id = ?",
            values + [.text(call.id), .text(frame.principal.userId)])
        if let participant = try await database.query(
            "SELECT * FROM participants WHERE call_id = ? AND user_id = ?", [.text(call.id), .text(frame.principal.userId)]
        ).first.map(Participant.init(row:)) {
            await announce("call.participant_updated", call: call, participant: participant)
        }
    }

    private struct Signal: Encodable {
        var callId: String
        var fromSessionId: String
        var fromUserId: String
        var sdp: CallFrame.SDP?
        var candidate: CallFrame.Candidate?
    }

    /// The most of an SDP relayed.
    static let maximumSDP = 32 << 10

    func signal(_ frame: ClientFrame) async throws {
        let body = try frame.decode(CallFrame.self)
        guard (body.sdp == nil) != (body.candidate == nil) else {
            throw PluginError(.validationFailed, "give exactly one of sdp and candidate", details: ["sdp": "exactly one of sdp and candidate"])
        }
        if let sdp = body.sdp {
            guard ["offer", "answer"].contains(sdp.type) else {
                throw PluginError(.validationFailed, "sdp.type is offer or answer", details: ["sdp.type": "offer or answer"])
            }
            guard sdp.sdp.utf8.count <= Self.maximumSDP else {
                throw PluginError(.validationFailed, "the SDP is too long", details: ["sdp.sdp": "at most \(Self.maximumSDP) bytes"])
            }
        }
        if let candidate = body.candidate, candidate.candidate.utf8.count > 1024 {
            throw PluginError(.validationFailed, "the candidate is too long", details: ["candidate.candidate": "at most 1024 bytes"])
        }
        let (call, mine) = try await session(body.callId, frame)
        guard let target = body.toSessionId, call.participants.contains(where: { $0.sessionId == target }) else {
            throw PluginError(.notFound, "no such session in the call")
        }
        let event = try RealtimeEvent(
            topic: "call.signal",
            value: Signal(callId: call.id, fromSessionId: mine.sessionId, fromUserId: mine.userId, sdp: body.sdp, candidate: body.candidate))
        await context.send(event, to: .connection(target))
    }
}

/// The payload of `call.missed`: a call the callee never joined.
struct MissedCall: Codable, Sendable {
    var callId: String
    var channelId: String
    var workspaceId: String?
    var callerId: String
    var calleeId: String
}
