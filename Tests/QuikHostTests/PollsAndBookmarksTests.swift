import Foundation
import OpenAPIKit
import QuikSDK
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime

/// Saved items (`bookmarks`) and polls (`polls`), driven over HTTP and real sockets.
@Suite("Polls and bookmarks", .serialized, .timeLimit(.minutes(5)))
struct PollsAndBookmarksTests {
    static let plugins = IdentityHost.messaging + ["bookmarks", "polls"]

    // MARK: Bookmarks

    @Test("bookmark round trip: 201 {message, created_at}, again 200 the same, listed last saved first with paging, 204 on delete (saved or not)")
    func bookmarkRoundTrip() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            var ids: [String] = []
            for text in ["first", "second", "third"] {
                ids.append(try #require(try chat.json(try await chat.post(general, text, by: ada), 201, "post")["id"] as? String))
            }

            let saved = try chat.json(try await chat.saveBookmark(ids[0], by: ada), 201, "save")
            let message = try #require(saved["message"] as? [String: Any])
            let shown = try chat.json(try await chat.client.get("/api/v1/messages/\(ids[0])", token: ada.access), 200, "read")
            #expect(try MessagingTests.canonical(message) == MessagingTests.canonical(shown))
            #expect(message["poll"] is NSNull)
            let savedAt = try #require(saved["created_at"] as? String)
            let again = try chat.json(try await chat.saveBookmark(ids[0], by: ada), 200, "save again")
            #expect(again["created_at"] as? String == savedAt)
            #expect(try MessagingTests.canonical(again["message"] as Any) == MessagingTests.canonical(message))

            try await Task.sleep(for: .milliseconds(5))
            _ = try chat.json(try await chat.saveBookmark(ids[2], by: ada), 201, "save third")
            try await Task.sleep(for: .milliseconds(5))
            _ = try chat.json(try await chat.saveBookmark(ids[1], by: ada), 201, "save second")
            #expect(try await chat.bookmarkTexts(workspace, by: ada) == ["second", "third", "first"])

            let page1 = try chat.json(try await chat.client.get("/api/v1/bookmarks?workspace_id=\(workspace)&limit=2", token: ada.access), 200, "page 1")
            #expect((page1["items"] as? [[String: Any]])?.count == 2)
            let cursor = try #require(page1["next_cursor"] as? String)
            let page2 = try chat.json(
                try await chat.client.get("/api/v1/bookmarks?workspace_id=\(workspace)&limit=2&cursor=\(cursor)", token: ada.access), 200, "page 2")
            #expect((page2["items"] as? [[String: Any]])?.compactMap { ($0["message"] as? [String: Any])?["text"] as? String } == ["first"])
            #expect(page2["next_cursor"] is NSNull)

            #expect(try await chat.client.send("DELETE", "/api/v1/bookmarks/\(ids[2])", token: ada.access).status == 204)
            #expect(try await chat.client.send("DELETE", "/api/v1/bookmarks/\(ids[2])", token: ada.access).status == 204)
            #expect(try await chat.bookmarkTexts(workspace, by: ada) == ["second", "first"])

            // The contract's refusals.
            #expect(try await chat.client.get("/api/v1/bookmarks", token: ada.access).status == 422)
            #expect(try await chat.client.post("/api/v1/bookmarks", json: "{}", token: ada.access).status == 422)
            #expect(try await chat.saveBookmark("M000000000nosuchid", by: ada).status == 404)
            #expect(try await chat.client.get("/api/v1/bookmarks?workspace_id=\(workspace)&cursor=nonsense", token: ada.access).status == 400)
            let cyd = try await chat.register("Cyd")
            #expect(try await chat.client.get("/api/v1/bookmarks?workspace_id=\(workspace)", token: cyd.access).status == 404)
        }
    }

    @Test("bookmarks drop out when the message is deleted or its private channel is left; a stranger's bookmark attempt is 404")
    func bookmarksDropOut() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada, adding: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let hidden = try #require(try chat.json(try await chat.post(secret, "in the secret channel", by: ada), 201, "post")["id"] as? String)
            let doomed = try #require(try chat.json(try await chat.post(general, "about to go", by: ada), 201, "post")["id"] as? String)
            let kept = try #require(try chat.json(try await chat.post(general, "staying", by: ada), 201, "post")["id"] as? String)

            // Cyd is in the workspace but not the private channel: as if the message did not exist.
            let refused = try await chat.saveBookmark(hidden, by: cyd)
            #expect(refused.status == 404)
            #expect(refused.errorCode == "not_found")

            for id in [hidden, doomed, kept] { _ = try chat.json(try await chat.saveBookmark(id, by: bob), 201, "save") }
            #expect(try await chat.bookmarkTexts(workspace, by: bob) == ["staying", "about to go", "in the secret channel"])

            #expect(try await chat.client.send("DELETE", "/api/v1/messages/\(doomed)", token: ada.access).status == 204)
            #expect(try await chat.bookmarkTexts(workspace, by: bob) == ["staying", "in the secret channel"])

            #expect(try await chat.client.post("/api/v1/channels/\(secret)/leave", token: bob.access).status == 204)
            try await chat.eventually("the left channel's message drops out") {
                try await chat.bookmarkTexts(workspace, by: bob) == ["staying"]
            }
            #expect(try await chat.saveBookmark(hidden, by: bob).status == 404)
        }
    }

    // MARK: Polls

    @Test("poll creation: 201 the message (text = question, poll with zero votes); 1, 11, duplicate and 101-character options, no question: 422 naming the field")
    func pollValidation() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            let long = String(repeating: "é", count: 101)
            let cases: [(String, [String: Any])] = [
                ("options", ["question": "Q?", "options": ["only"]]),
                ("options", ["question": "Q?", "options": (1...11).map { "option \($0)" }]),
                ("options", ["question": "Q?", "options": ["Tea", " tea "]]),
                ("options", ["question": "Q?", "options": ["fine", long]]),
                ("options", ["question": "Q?", "options": ["fine", "   "]]),
                ("options", ["question": "Q?"]),
                ("question", ["question": "  ", "options": ["a", "b"]]),
                ("question", ["question": String(repeating: "q", count: 301), "options": ["a", "b"]]),
                ("question", ["options": ["a", "b"]]),
                ("channel_id", ["question": "Q?", "options": ["a", "b"], "channel_id": ""]),
            ]
            for (field, body) in cases {
                var body = body
                if body["channel_id"] == nil { body["channel_id"] = general }
                let reply = try await chat.createPoll(body, by: ada)
                #expect(reply.status == 422, "\(body): \(reply.text)")
                #expect(((try? reply.json())?["error"] as? [String: Any]).flatMap { $0["details"] as? [String: Any] }?[field] != nil, "\(reply.text)")
            }
            let history = try chat.json(try await chat.client.get("/api/v1/messages?channel_id=\(general)", token: ada.access), 200, "history")
            #expect((history["items"] as? [[String: Any]])?.isEmpty == true)

            let reply = try await chat.createPoll(
                ["channel_id": general, "question": " Lunch? ", "options": [" Pizza", String(repeating: "é", count: 100), "Soup"]], by: ada)
            let message = try chat.json(reply, 201, "create")
            #expect(message["text"] as? String == "Lunch?")
            let poll = try #require(message["poll"] as? [String: Any])
            #expect(poll["question"] as? String == "Lunch?")
            #expect(poll["multiple"] as? Bool == false && poll["anonymous"] as? Bool == false && poll["closed"] as? Bool == false)
            let options = try #require(poll["options"] as? [[String: Any]])
            #expect(options.map { $0["text"] as? String } == ["Pizza", String(repeating: "é", count: 100), "Soup"])
            #expect(options.allSatisfy { $0["votes"] as? Int == 0 && ($0["user_ids"] as? [String])?.isEmpty == true })
            #expect(Set(options.compactMap { $0["id"] as? String }).count == 3)
            // The message plugin shows the poll wherever it shows the message.
            let read = try chat.json(try await chat.client.get("/api/v1/messages/\(message["id"] as? String ?? "")", token: ada.access), 200, "read")
            #expect(try MessagingTests.canonical(read) == MessagingTests.canonical(message))
        }
    }

    @Test("voting: one option, change, withdraw, the same vote again; multiple takes several and single refuses two (422); unknown option 422; non-members 403, strangers 404")
    func voting() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada, adding: [bob])

            let single = try chat.json(try await chat.createPoll(["channel_id": general, "question": "Tea?", "options": ["yes", "no"]], by: ada), 201, "poll")
            let id = try #require(single["id"] as? String)
            let (yes, no) = try Self.optionIds(single)

            var poll = try chat.json(try await chat.vote(id, [yes], by: bob), 200, "vote")
            #expect(Self.tally(poll) == ["yes": [bob.id], "no": []])
            poll = try chat.json(try await chat.vote(id, [no], by: bob), 200, "change")
            #expect(Self.tally(poll) == ["yes": [], "no": [bob.id]])
            poll = try chat.json(try await chat.vote(id, [yes], by: ada), 200, "ada votes")
            poll = try chat.json(try await chat.vote(id, [no], by: bob), 200, "the same again")
            #expect(Self.tally(poll) == ["yes": [ada.id], "no": [bob.id]])
            poll = try chat.json(try await chat.vote(id, [], by: bob), 200, "withdraw")
            #expect(Self.tally(poll) == ["yes": [ada.id], "no": []])
            #expect(Self.votes(poll) == ["yes": 1, "no": 0])

            let two = try await chat.vote(id, [yes, no], by: bob)
            #expect(two.status == 422)
            #expect(two.text.contains("option_ids"))
            #expect(try await chat.vote(id, ["O000000000unknown1"], by: bob).status == 422)
            #expect(try await chat.vote(id, [yes, yes], by: bob).status == 422)
            #expect(try await chat.client.send("PUT", "/api/v1/polls/\(id)/vote", body: Data("{}".utf8), token: bob.access).status == 422)
            #expect(try await chat.vote("M000000000nosuchid", [yes], by: bob).status == 404)
            // Cyd may read the public channel but is not in it.
            #expect(try await chat.vote(id, [yes], by: cyd).status == 403)

            let multiple = try chat.json(
                try await chat.createPoll(["channel_id": general, "question": "Which?", "options": ["yes", "no"], "multiple": true], by: ada), 201, "poll")
            let multipleId = try #require(multiple["id"] as? String)
            let (both1, both2) = try Self.optionIds(multiple)
            poll = try chat.json(try await chat.vote(multipleId, [both1, both2], by: bob), 200, "both")
            #expect(Self.tally(poll) == ["yes": [bob.id], "no": [bob.id]])
            poll = try chat.json(try await chat.vote(multipleId, [both2], by: bob), 200, "one of them")
            #expect(Self.tally(poll) == ["yes": [], "no": [bob.id]])

            // Cyd cannot see the private channel: its poll does not exist for her.
            let hidden = try chat.json(try await chat.createPoll(["channel_id": secret, "question": "Shh?", "options": ["a", "b"]], by: ada), 201, "poll")
            let (hiddenA, _) = try Self.optionIds(hidden)
            #expect(try await chat.vote(hidden["id"] as? String ?? "", [hiddenA], by: cyd).status == 404)
            #expect(try await chat.createPoll(["channel_id": secret, "question": "Me?", "options": ["a", "b"]], by: cyd).status == 404)
            #expect(try await chat.createPoll(["channel_id": general, "question": "Me?", "options": ["a", "b"]], by: cyd).status == 403)
        }
    }

    @Test("closing: a non-author non-admin 403; the author or a workspace admin 200 with closed: true; a vote after that 409")
    func closing() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob, cyd])

            let first = try chat.json(try await chat.createPoll(["channel_id": general, "question": "Bob's?", "options": ["a", "b"]], by: bob), 201, "poll")
            let firstId = try #require(first["id"] as? String)
            let (a, _) = try Self.optionIds(first)
            _ = try chat.json(try await chat.vote(firstId, [a], by: cyd), 200, "vote")
            let refused = try await chat.client.post("/api/v1/polls/\(firstId)/close", token: cyd.access)
            #expect(refused.status == 403)
            #expect(refused.errorCode == "forbidden")
            let closed = try chat.json(try await chat.client.post("/api/v1/polls/\(firstId)/close", token: bob.access), 200, "author closes")
            #expect((closed["poll"] as? [String: Any])?["closed"] as? Bool == true)
            #expect(Self.tally(closed) == ["a": [cyd.id], "b": []])
            let late = try await chat.vote(firstId, [a], by: cyd)
            #expect(late.status == 409)
            #expect(late.errorCode == "conflict")
            #expect(try await chat.vote(firstId, [], by: cyd).status == 409)
            _ = try chat.json(try await chat.client.post("/api/v1/polls/\(firstId)/close", token: bob.access), 200, "closed again")

            // Ada owns the workspace: she closes Bob's poll.
            let second = try chat.json(try await chat.createPoll(["channel_id": general, "question": "Again?", "options": ["a", "b"]], by: bob), 201, "poll")
            let byAdmin = try chat.json(try await chat.client.post("/api/v1/polls/\(second["id"] as? String ?? "")/close", token: ada.access), 200, "admin")
            #expect((byAdmin["poll"] as? [String: Any])?["closed"] as? Bool == true)
            #expect(try await chat.client.post("/api/v1/polls/M000000000nosuchid/close", token: ada.access).status == 404)
        }
    }

    @Test("every change reaches another member's second socket as message.updated with the live counts; an anonymous poll shows user_ids: []")
    func liveResults() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            _ = try await chat.socket(bob)
            let bobPhone = try await chat.socket(bob)

            let created = try chat.json(
                try await chat.createPoll(["channel_id": general, "question": "Who?", "options": ["me", "you"], "anonymous": true], by: ada), 201, "poll")
            let id = try #require(created["id"] as? String)
            let announced = try await bobPhone.waitForEvent("message.created") { $0["id"] as? String == id }
            #expect(try MessagingTests.canonical(announced) == MessagingTests.canonical(created))
            let (me, you) = try Self.optionIds(created)

            let voted = try chat.json(try await chat.vote(id, [me], by: ada), 200, "vote")
            let update = try await bobPhone.waitForEvent("message.updated") { Self.votes($0)["me"] == 1 }
            #expect(try MessagingTests.canonical(update) == MessagingTests.canonical(voted))
            #expect(Self.tally(update) == ["me": [], "you": []])

            _ = try chat.json(try await chat.vote(id, [you], by: bob), 200, "bob votes")
            try await bobPhone.waitForEvent("message.updated") { Self.votes($0) == ["me": 1, "you": 1] }
            _ = try chat.json(try await chat.client.post("/api/v1/polls/\(id)/close", token: ada.access), 200, "close")
            let closed = try await bobPhone.waitForEvent("message.updated") { ($0["poll"] as? [String: Any])?["closed"] as? Bool == true }
            #expect(Self.votes(closed) == ["me": 1, "you": 1])
            #expect(Self.tally(closed) == ["me": [], "you": []])
        }
    }

    @Test("20 concurrent votes by different users all count, and the last message.updated shows all 20")
    func concurrentVotes() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            var voters: [IdentityHost.Account] = []
            for index in 0..<20 { voters.append(try await chat.register("Voter\(index)")) }
            let workspace = try await chat.workspace(owner: ada, members: voters)
            let general = try await chat.channel(workspace, "general", by: ada, adding: voters)
            let adaSocket = try await chat.socket(ada)
            let poll = try chat.json(try await chat.createPoll(["channel_id": general, "question": "Go?", "options": ["yes", "no"]], by: ada), 201, "poll")
            let id = try #require(poll["id"] as? String)
            let (yes, no) = try Self.optionIds(poll)

            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, voter) in voters.enumerated() {
                    group.addTask { try await chat.vote(id, [index % 4 == 0 ? no : yes], by: voter).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 20))
            let read = try chat.json(try await chat.client.get("/api/v1/messages/\(id)", token: ada.access), 200, "read")
            #expect(Self.votes(read) == ["yes": 15, "no": 5])
            #expect(Set(Self.tally(read).values.flatMap { $0 }) == Set(voters.map(\.id)))
            try await adaSocket.waitForEvent("message.updated") { Self.votes($0) == ["yes": 15, "no": 5] }
        }
    }

    @Test("the crash window: a message left behind its poll's votes, or a poll whose message was posted but never linked, is caught up by the sweep")
    func crashWindow() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            let adaSocket = try await chat.socket(ada)
            let created = try chat.json(try await chat.createPoll(["channel_id": general, "question": "Up?", "options": ["yes", "no"]], by: ada), 201, "poll")
            let id = try #require(created["id"] as? String)
            let (yes, no) = try Self.optionIds(created)
            _ = try chat.json(try await chat.vote(id, [yes], by: ada), 200, "vote")

            // As if the host stopped after the vote committed and before message.set_poll: the message
            // shows the poll without the vote, and the poll is marked as not yet shown.
            let configuration = chat.host.configuration.database
            let polls = configuration.schema(for: "polls")
            let messages = configuration.schema(for: "message")
            let stale = String(decoding: try JSONSerialization.data(withJSONObject: try #require(created["poll"])), as: UTF8.self)
            let pool = try await TestDatabase.adminPool()
            let past = SQLValue.date(Date().addingTimeInterval(-60))
            try await pool.withConnection { connection in
                _ = try await connection.perform("UPDATE `\(messages)`.messages SET poll_json = ? WHERE id = ?", [.text(stale), .text(id)])
                _ = try await connection.perform("UPDATE `\(polls)`.polls SET needs_sync = 1, updated_at = ? WHERE message_id = ?", [past, .text(id)])
            }
            let behind = try chat.json(try await chat.client.get("/api/v1/messages/\(id)", token: ada.access), 200, "read")
            #expect(Self.votes(behind) == ["yes": 0, "no": 0])
            let told = adaSocket.events("message.updated").count
            try await chat.eventually("the message catches up", timeout: .seconds(15)) {
                let read = try chat.json(try await chat.client.get("/api/v1/messages/\(id)", token: ada.access), 200, "read")
                return Self.tally(read) == ["yes": [ada.id], "no": []]
            }
            try await chat.eventually("message.updated tells the channel") {
                adaSocket.events("message.updated").dropFirst(told).contains { Self.votes($0["data"] as? [String: Any] ?? [:]) == ["yes": 1, "no": 0] }
            }

            // As if the host stopped after message.post and before the poll learned its message's id:
            // the sweep posts again with the same client_msg_id, gets the first message back, and links it.
            try await pool.withConnection { connection in
                _ = try await connection.perform("UPDATE `\(polls)`.polls SET message_id = NULL, needs_sync = 1, updated_at = ? WHERE message_id = ?", [past, .text(id)])
            }
            #expect(try await chat.vote(id, [no], by: ada).status == 404)
            try await chat.eventually("the poll is linked again", timeout: .seconds(15)) {
                try await chat.vote(id, [no], by: ada).status == 200
            }
            let history = try chat.json(try await chat.client.get("/api/v1/messages?channel_id=\(general)", token: ada.access), 200, "history")
            #expect((history["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
            let final = try chat.json(try await chat.client.get("/api/v1/messages/\(id)", token: ada.access), 200, "read")
            #expect(Self.tally(final) == ["yes": [], "no": [ada.id]])
            await pool.close(timeout: .seconds(2))
        }
    }

    @Test("with bookmarks and polls running, the OpenAPI document is valid and documents their routes, message.poll included")
    func documented() async throws {
        try await IdentityHost.with(Self.plugins) { chat in
            let data = try await chat.client.get("/api/v1/openapi.json").body
            let document = try JSONDecoder().decode(OpenAPI.Document.self, from: data)
            try document.validate()
            let paths = Set(document.paths.keys.map(\.rawValue))
            for path in ["/api/v1/bookmarks", "/api/v1/bookmarks/{message_id}", "/api/v1/polls", "/api/v1/polls/{message_id}/vote", "/api/v1/polls/{message_id}/close"] {
                #expect(paths.contains(path), "\(path) missing from \(paths.sorted())")
            }
            for (path, item) in document.paths where path.rawValue.hasPrefix("/api/v1/bookmarks") || path.rawValue.hasPrefix("/api/v1/polls") {
                for endpoint in item.pathItemValue?.endpoints ?? [] {
                    let successes = endpoint.operation.responses.filter { $0.key.isSuccess }
                    #expect(!successes.isEmpty, "\(endpoint.method) \(path.rawValue)")
                    #expect(endpoint.operation.responses[.default] != nil, "\(endpoint.method) \(path.rawValue)")
                }
            }
            #expect(String(decoding: data, as: UTF8.self).contains("\"anonymous\""))
        }
    }

    @Test("schemathesis on the bookmarks and polls routes, with a valid token: no 5xx, no response outside its schema, no schema-valid request refused")
    func schemaDrivenFuzzing() async throws {
        let schemathesis = OpenAPITests.root + "/.build-venv/bin/schemathesis"
        guard FileManager.default.isExecutableFile(atPath: schemathesis) else {
            throw TestFailure("\(schemathesis) is missing: scripts/test installs it (pip install schemathesis into .build-venv)")
        }
        try await IdentityHost.with(Self.plugins) { chat in
            let user = try await chat.register("fuzz")
            // A workspace of the caller's with saved items, so listing gets past 404 to paging and cursors.
            let workspace = try await chat.workspace(owner: user, members: [])
            let general = try await chat.channel(workspace, "general", by: user)
            for text in ["one", "two", "three"] {
                let id = try #require(try chat.json(try await chat.post(general, text, by: user), 201, "post")["id"] as? String)
                _ = try chat.json(try await chat.saveBookmark(id, by: user), 201, "save")
            }
            let config = try Fixtures.temporaryDirectory() + "/schemathesis.toml"
            try "[parameters]\n\"query.workspace_id\" = \"\(workspace)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
            let (status, output) = try await runProgram(schemathesis, [
                "--config-file", config,
                "run", "http://127.0.0.1:\(chat.test.port)/api/v1/openapi.json",
                "--header", "Authorization: Bearer \(user.access)",
                "--checks", "all", "--exclude-checks", "unsupported_method",
                "--max-examples", "25", "--workers", "1", "--seed", "1",
                "--include-path-regex", "^/api/v1/(bookmarks|polls)",
            ])
            #expect(status == 0, "\(output.suffix(6000))")
            #expect(output.contains("passed"), "\(output.suffix(2000))")
        }
    }

    // MARK: Helpers

    /// The poll's first two option ids.
    static func optionIds(_ message: [String: Any]) throws -> (String, String) {
        let options = ((message["poll"] as? [String: Any])?["options"] as? [[String: Any]]) ?? []
        guard options.count >= 2, let first = options[0]["id"] as? String, let second = options[1]["id"] as? String else {
            throw TestFailure("no poll options in \(message)")
        }
        return (first, second)
    }

    /// Option text → user ids.
    static func tally(_ message: [String: Any]) -> [String: [String]] {
        let options = ((message["poll"] as? [String: Any])?["options"] as? [[String: Any]]) ?? []
        return Dictionary(options.map { ($0["text"] as? String ?? "", $0["user_ids"] as? [String] ?? ["?"]) }, uniquingKeysWith: { $1 })
    }

    /// Option text → votes.
    static func votes(_ message: [String: Any]) -> [String: Int] {
        let options = ((message["poll"] as? [String: Any])?["options"] as? [[String: Any]]) ?? []
        return Dictionary(options.map { ($0["text"] as? String ?? "", $0["votes"] as? Int ?? -1) }, uniquingKeysWith: { $1 })
    }
}

extension IdentityHost {
    func saveBookmark(_ messageId: String, by account: Account) async throws -> TestClient.Reply {
        try await client.post("/api/v1/bookmarks", json: #"{"message_id":"\#(messageId)"}"#, token: account.access)
    }

    /// The texts of the account's saved messages in a workspace, as listed.
    func bookmarkTexts(_ workspace: String, by account: Account) async throws -> [String] {
        let list = try json(try await client.get("/api/v1/bookmarks?workspace_id=\(workspace)", token: account.access), 200, "bookmarks")
        return (list["items"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["text"] as? String }
    }

    func createPoll(_ body: [String: Any], by account: Account) async throws -> TestClient.Reply {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await client.post("/api/v1/polls", json: String(decoding: data, as: UTF8.self), token: account.access)
    }

    func vote(_ messageId: String, _ optionIds: [String], by account: Account) async throws -> TestClient.Reply {
        let data = try JSONSerialization.data(withJSONObject: ["option_ids": optionIds])
        return try await client.send("PUT", "/api/v1/polls/\(messageId)/vote", body: data, token: account.access)
    }
}
