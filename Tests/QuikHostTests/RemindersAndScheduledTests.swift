import Foundation
import Testing

/// Reminders and scheduled messages, driven as a client would, and across a `kill -9`.
@Suite("Reminders and scheduled messages", .serialized, .timeLimit(.minutes(3)))
struct RemindersAndScheduledTests {
    static let plugins = IdentityHost.messaging + ["reminders", "scheduled"]

    static func at(_ seconds: TimeInterval) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date().addingTimeInterval(seconds))
    }

    static func date(_ text: Any?) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return (text as? String).flatMap(formatter.date(from:))
    }

    @Test("reminders: fire at their time on every socket of the owner, snooze, complete, delete; others' are 404; bad times 422")
    func reminders() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada)
            let posted = try chat.json(try await chat.post(general, "review the loom budget", by: ada), 201, "post")
            let hidden = try chat.json(try await chat.post(secret, "hidden", by: ada), 201, "post")
            let phone = try await chat.socket(ada)
            let laptop = try await chat.socket(ada)
            let bobSocket = try await chat.socket(bob)

            let time = Self.at(1.5)
            let reminder = try chat.json(
                try await chat.client.post(
                    "/api/v1/reminders", json: #"{"message_id":"\#(posted["id"] as? String ?? "")","time":"\#(time)"}"#, token: ada.access), 201,
                "remind")
            #expect(reminder["channel_id"] as? String == general)
            #expect(reminder["text"] is NSNull)
            let id = try #require(reminder["id"] as? String)
            let fired = try await phone.waitForEvent("reminder.fired", timeout: .seconds(5))
            let firedAt = Date()
            #expect(fired["id"] as? String == id)
            #expect(fired["state"] as? String == "fired")
            // Not early, and not waiting for a poll; the 1 s goal is the jobs bench's start delay (a test run's load is no measure).
            let late = firedAt.timeIntervalSince(try #require(Self.date(time)))
            #expect(late >= 0 && late < 5, "fired \(late) s after its time")
            try await laptop.waitForEvent("reminder.fired")
            try await Task.sleep(for: .milliseconds(500))
            #expect(phone.events("reminder.fired").count == 1)
            #expect(bobSocket.events("reminder.fired").isEmpty)

            let snoozed = try chat.json(
                try await chat.client.post("/api/v1/reminders/\(id)/snooze", json: #"{"time":"in 1 minute"}"#, token: ada.access), 200, "snooze")
            #expect(snoozed["state"] as? String == "pending")
            #expect(try chat.json(try await chat.client.get("/api/v1/reminders?state=pending", token: ada.access), 200, "list")["items"].map { ($0 as? [Any])?.count } == 1)
            let done = try chat.json(try await chat.client.post("/api/v1/reminders/\(id)/complete", token: ada.access), 200, "complete")
            #expect(done["state"] as? String == "completed")
            #expect(done["completed_at"] is String)
            #expect(try await chat.client.post("/api/v1/reminders/\(id)/complete", token: bob.access).status == 404)
            #expect(try await chat.client.send("DELETE", "/api/v1/reminders/\(id)", token: bob.access).status == 404)
            #expect(try await chat.client.send("DELETE", "/api/v1/reminders/\(id)", token: ada.access).status == 204)
            #expect(try await chat.client.post("/api/v1/reminders/\(id)/snooze", json: #"{"time":"in 5 minutes"}"#, token: ada.access).status == 404)

            // A text reminder, then one snoozed to a sooner time fires at the new time.
            let later = try chat.json(
                try await chat.client.post("/api/v1/reminders", json: #"{"text":"tea","time":"in 2 hours"}"#, token: ada.access), 201, "remind")
            let laterId = try #require(later["id"] as? String)
            _ = try chat.json(
                try await chat.client.post("/api/v1/reminders/\(laterId)/snooze", json: #"{"time":"\#(Self.at(1))"}"#, token: ada.access), 200, "snooze")
            try await phone.waitForEvent("reminder.fired", timeout: .seconds(5)) { $0["text"] as? String == "tea" }

            for (body, status, field) in [
                (#"{"text":"x","time":"\#(Self.at(-60))"}"#, 422, "time"), (#"{"text":"x","time":"\#(Self.at(10 * 366 * 86_400))"}"#, 422, "time"),
                (#"{"text":"x","time":"tomorrow-ish"}"#, 422, "time"), (#"{"text":"x","time":"in 0 minutes"}"#, 422, "time"),
                (#"{"time":"in 5 minutes"}"#, 422, "text"), (#"{"text":"  ","time":"in 5 minutes"}"#, 422, "text"),
                (#"{"text":"x"}"#, 422, "time"),
            ] {
                let reply = try await chat.client.post("/api/v1/reminders", json: body, token: ada.access)
                #expect(reply.status == status, "\(body): \(reply.text)")
                #expect(((try? reply.json()["error"] as? [String: Any])?["details"] as? [String: Any])?[field] != nil, "\(body)")
            }
            let unreadable = try await chat.client.post(
                "/api/v1/reminders", json: #"{"message_id":"\#(hidden["id"] as? String ?? "")","time":"in 5 minutes"}"#, token: bob.access)
            #expect(unreadable.status == 404)
        }
    }

    @Test("scheduled messages: posted as the author within 1 s of post_at, editable and cancellable until then, 409 after; checked as a post is; a lost membership fails with the reason")
    func scheduledMessages() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let bobSocket = try await chat.socket(bob)
            func schedule(_ body: [String: Any], as account: IdentityHost.Account) async throws -> TestClient.Reply {
                let data = try JSONSerialization.data(withJSONObject: body)
                return try await chat.client.post("/api/v1/scheduled", json: String(decoding: data, as: UTF8.self), token: account.access)
            }

            let postAt = Self.at(2)
            let first = try chat.json(try await schedule(["channel_id": general, "text": "draft", "post_at": postAt], as: ada), 201, "schedule")
            let id = try #require(first["id"] as? String)
            #expect(first["state"] as? String == "pending")
            #expect(try await chat.client.get("/api/v1/scheduled/\(id)", token: bob.access).status == 404)
            #expect(try await chat.client.send("PATCH", "/api/v1/scheduled/\(id)", body: Data(#"{"text":"hijack"}"#.utf8), token: bob.access).status == 404)
            let edited = try chat.json(
                try await chat.client.send("PATCH", "/api/v1/scheduled/\(id)", body: Data(#"{"text":"good morning, team"}"#.utf8), token: ada.access), 200,
                "edit")
            #expect(edited["text"] as? String == "good morning, team")

            let created = try await bobSocket.waitForEvent("message.created", timeout: .seconds(6))
            #expect(created["text"] as? String == "good morning, team")
            #expect(created["author_id"] as? String == ada.id)
            let lateness = try #require(Self.date(created["created_at"])).timeIntervalSince(try #require(Self.date(postAt)))
            #expect(lateness >= 0 && lateness < 5, "posted \(lateness) s after post_at (the 1 s goal is measured by the jobs bench)")
            let sent = try chat.json(try await chat.client.get("/api/v1/scheduled/\(id)", token: ada.access), 200, "get")
            #expect(sent["state"] as? String == "sent")
            #expect(sent["message_id"] as? String == created["id"] as? String)
            #expect(try await chat.client.send("PATCH", "/api/v1/scheduled/\(id)", body: Data(#"{"text":"too late"}"#.utf8), token: ada.access).status == 409)
            #expect(try await chat.client.send("DELETE", "/api/v1/scheduled/\(id)", token: ada.access).status == 409)

            // Cancelled: never posted.
            let cancelled = try chat.json(try await schedule(["channel_id": general, "text": "never", "post_at": Self.at(1)], as: ada), 201, "schedule")
            #expect(try await chat.client.send("DELETE", "/api/v1/scheduled/\(cancelled["id"] as? String ?? "")", token: ada.access).status == 204)
            // Bob loses access before his message goes out: failed, with the reason.
            let doomed = try chat.json(try await schedule(["channel_id": general, "text": "bye", "post_at": Self.at(1.5)], as: bob), 201, "schedule")
            #expect(try await chat.client.send("DELETE", "/api/v1/channels/\(general)/members/\(bob.id)", token: ada.access).status == 204)
            try await waitUntil(timeout: .seconds(6)) {
                try chat.json(try await chat.client.get("/api/v1/scheduled/\(doomed["id"] as? String ?? "")", token: bob.access), 200, "get")["state"]
                    as? String == "failed"
            }
            let failed = try chat.json(try await chat.client.get("/api/v1/scheduled/\(doomed["id"] as? String ?? "")", token: bob.access), 200, "get")
            #expect((failed["error"] as? [String: Any])?["code"] as? String == "forbidden")
            #expect(failed["message_id"] is NSNull)
            let history = try chat.json(try await chat.client.get("/api/v1/messages?channel_id=\(general)", token: ada.access), 200, "history")
            #expect((history["items"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == ["good morning, team"])
            let listed = try chat.json(try await chat.client.get("/api/v1/scheduled?state=sent", token: ada.access), 200, "list")
            #expect((listed["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])

            // Checked as POST /messages would be.
            let archived = try await chat.channel(workspace, "old", by: ada)
            #expect(try await chat.client.post("/api/v1/channels/\(archived)/archive", token: ada.access).status == 200)
            #expect(try await schedule(["channel_id": archived, "text": "hello", "post_at": Self.at(60)], as: ada).status == 409)
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada)
            #expect(try await schedule(["channel_id": secret, "text": "hello", "post_at": Self.at(60)], as: bob).status == 404)
            #expect(try await schedule(["channel_id": general, "text": "hello", "post_at": Self.at(60)], as: bob).status == 403)
            for (body, field) in [
                (["channel_id": general, "text": "hello", "post_at": Self.at(-5)], "post_at"), (["channel_id": general, "text": "", "post_at": Self.at(60)], "text"),
                (["channel_id": general, "text": "hello"], "post_at"), (["channel_id": general, "text": "hello", "post_at": "soon"], "post_at"),
                (["channel_id": general, "text": String(repeating: "x", count: 40_001), "post_at": Self.at(60)], "text"),
                (["text": "hello", "post_at": Self.at(60)], "channel_id"),
            ] as [([String: Any], String)] {
                let reply = try await schedule(body, as: ada)
                #expect(reply.status == 422, "\(field): \(reply.status)")
                #expect(((try? reply.json()["error"] as? [String: Any])?["details"] as? [String: Any])?[field] != nil, "\(field)")
            }
        }
    }

    @Test("a scheduled message and a reminder due while the host was down (killed with -9) go out once when it restarts")
    func survivesKill() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let config = try await ServerProcess.configuration(in: directory, plugins: Self.plugins)

        let first = try ServerProcess(config: config, log: "\(directory)/first.log")
        let port = try await first.port()
        let chat = RemoteChat(port: port)
        let ada = try await chat.register("Ada")
        let bob = try await chat.register("Bob")
        let workspace = try await chat.workspace(owner: ada, members: [bob])
        let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
        let due = Self.at(2)
        let scheduled = try chat.json(
            try await chat.client.post(
                "/api/v1/scheduled", json: #"{"channel_id":"\#(general)","text":"posted while down","post_at":"\#(due)"}"#, token: ada.access), 201,
            "schedule")
        let reminder = try chat.json(
            try await chat.client.post("/api/v1/reminders", json: #"{"text":"fired while down","time":"\#(due)"}"#, token: ada.access), 201, "remind")
        await first.kill(SIGKILL)
        try await Task.sleep(for: .seconds(3))

        let second = try ServerProcess(config: config, log: "\(directory)/second.log")
        let again = RemoteChat(port: try await second.port())
        try await waitUntil(timeout: .seconds(15)) {
            let state = try await again.client.get("/api/v1/scheduled/\(scheduled["id"] as? String ?? "")", token: ada.access).json()["state"] as? String
            let fired = try await again.client.get("/api/v1/reminders?state=fired", token: ada.access).json()["items"] as? [[String: Any]]
            return state == "sent" && fired?.count == 1
        }
        // A socket opened now sees nothing more: no second post, no second reminder.
        let watcher = try await again.socket(bob)
        let owner = try await again.socket(ada)
        try await Task.sleep(for: .seconds(2))
        #expect(watcher.events("message.created").isEmpty)
        #expect(owner.events("reminder.fired").isEmpty)
        let history = try await again.client.get("/api/v1/messages?channel_id=\(general)", token: bob.access).json()["items"] as? [[String: Any]]
        #expect(history?.compactMap { $0["text"] as? String } == ["posted while down"])
        let fired = try await again.client.get("/api/v1/reminders", token: ada.access).json()["items"] as? [[String: Any]]
        #expect(fired?.map { $0["id"] as? String } == [reminder["id"] as? String])
        #expect(fired?.first?["state"] as? String == "fired")
        await second.kill(SIGTERM)
        #expect(second.process.terminationStatus == 0)
    }
}
