import Foundation
import Testing

/// Message, channel and file search, driven over HTTP as a client would.
@Suite("Search", .serialized, .timeLimit(.minutes(3)))
struct SearchTests {
    static let plugins = IdentityHost.messaging + ["files", "search"]

    /// A host with search reading `window` newest messages first (1: every query goes to the FULLTEXT index).
    static func with(window: Int, _ body: (IdentityHost) async throws -> Void) async throws {
        try await IdentityHost.with(plugins, configure: { configuration in
            if let index = configuration.plugins.firstIndex(where: { $0.name == "search" }) {
                configuration.plugins[index].settings = ["scan_window": .int(window)]
            }
        }, body)
    }

    /// `GET /search/<what>` as `account`.
    static func search(
        _ chat: IdentityHost, _ workspace: String, _ q: String, as account: IdentityHost.Account, what: String = "messages", extra: String = ""
    )
        async throws -> TestClient.Reply
    {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = q.addingPercentEncoding(withAllowedCharacters: allowed) ?? q
        return try await chat.client.get("/api/v1/search/\(what)?workspace_id=\(workspace)&q=\(encoded)\(extra)", token: account.access)
    }

    /// The texts of the hits, newest first.
    static func texts(_ chat: IdentityHost, _ workspace: String, _ q: String, as account: IdentityHost.Account) async throws -> [String] {
        let reply = try await search(chat, workspace, q, as: account)
        guard reply.status == 200 else { throw TestFailure("search \(q): \(reply.status) \(reply.text)") }
        return (try reply.json()["items"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["text"] as? String }
    }

    /// Waits until the hits of `q` are `expected` (at most 10 s: API.md's 2 s freshness bound is the search bench's index-lag figure,
    /// which a loaded test run cannot measure).
    static func eventually(_ chat: IdentityHost, _ workspace: String, _ q: String, as account: IdentityHost.Account, _ expected: [String])
        async throws -> [String]
    {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let found = try await texts(chat, workspace, q, as: account)
            if found == expected || ContinuousClock.now > deadline { return found }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("a private channel's messages never reach a non-member's results, nor a member's once they leave", arguments: [3000, 1])
    func privateChannelsStayPrivate(window: Int) async throws {
        try await Self.with(window: window) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob, cyd])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada, adding: [bob])
            _ = try chat.json(try await chat.post(general, "zebra crossing at noon", by: ada), 201, "post")
            _ = try chat.json(try await chat.post(secret, "zebra acquisition plans", by: ada), 201, "post")
            let direct = try chat.json(
                try await chat.client.post("/api/v1/channels/direct", json: #"{"workspace_id":"\#(workspace)","user_ids":["\#(bob.id)"]}"#, token: ada.access),
                200, "dm")
            _ = try chat.json(try await chat.post(try #require(direct["id"] as? String), "zebra whispers", by: ada), 201, "dm post")

            #expect(try await Self.eventually(chat, workspace, "zebra", as: bob, ["zebra whispers", "zebra acquisition plans", "zebra crossing at noon"]).count == 3)
            #expect(try await Self.texts(chat, workspace, "zebra", as: cyd) == ["zebra crossing at noon"])
            #expect(try await Self.texts(chat, workspace, "acquisition", as: cyd) == [])
            #expect(try await Self.texts(chat, workspace, "in:secret", as: cyd) == [])
            #expect(try await Self.texts(chat, workspace, "in:\(secret)", as: cyd) == [])

            #expect(try await chat.client.post("/api/v1/channels/\(secret)/leave", token: bob.access).status == 204)
            #expect(try await Self.texts(chat, workspace, "zebra", as: bob) == ["zebra whispers", "zebra crossing at noon"])
            #expect(try await Self.texts(chat, workspace, "acquisition", as: bob) == [])

            // Someone outside the workspace: 404, as for anything inside it.
            let eve = try await chat.register("Eve")
            #expect(try await Self.search(chat, workspace, "zebra", as: eve).status == 404)
        }
    }

    @Test("an edit is found by its new words and not its old ones within 2 s; a deleted message is never found", arguments: [3000, 1])
    func editsAndDeletesAreReflected(window: Int) async throws {
        try await Self.with(window: window) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            let posted = try chat.json(try await chat.post(general, "alpaca bravado charlie", by: ada), 201, "post")
            let id = try #require(posted["id"] as? String)
            #expect(try await Self.eventually(chat, workspace, "bravado", as: ada, ["alpaca bravado charlie"]) == ["alpaca bravado charlie"])

            let edited = try await chat.client.send("PATCH", "/api/v1/messages/\(id)", body: Data(#"{"text":"delta echo foxtrot"}"#.utf8), token: ada.access)
            #expect(edited.status == 200)
            #expect(try await Self.eventually(chat, workspace, "echo", as: ada, ["delta echo foxtrot"]) == ["delta echo foxtrot"])
            #expect(try await Self.texts(chat, workspace, "bravado", as: ada) == [])

            #expect(try await chat.client.send("DELETE", "/api/v1/messages/\(id)", token: ada.access).status == 204)
            #expect(try await Self.eventually(chat, workspace, "echo", as: ada, []) == [])
        }
    }

    @Test(
        "query syntax: words, prefix*, phrases, exclusions, from:, in:, dates, has:link, has:file, thread replies, highlights as written, paging; the same from the recent scan and the index",
        arguments: [3000, 1])
    func querySyntax(window: Int) async throws {
        try await Self.with(window: window) { chat in
            let ada = try await chat.register("Ada", displayName: "Ada Lovelace")
            let bob = try await chat.register("Bob", displayName: "Bob Byron")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let looms = try await chat.channel(workspace, "looms", by: ada, adding: [bob])
            let root = try chat.json(try await chat.post(general, "The Analytical Engine weaves algebraical patterns", by: ada), 201, "post")
            _ = try chat.json(try await chat.post(general, "Jacquard looms weave flowers and leaves", by: bob), 201, "post")
            _ = try chat.json(try await chat.post(looms, "engine notes: see https://example.org/notes", by: bob), 201, "post")
            _ = try chat.json(try await chat.post(general, "Patterns of the engine, in a reply", by: bob, root: root["id"] as? String), 201, "reply")
            let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")!
            let file = try chat.json(
                try await chat.client.send(
                    "POST", "/api/v1/files?workspace_id=\(workspace)&name=loom-diagram.png", body: png, token: ada.access,
                    headers: ["Content-Type": "image/png"]), 201, "upload")
            let fileId = try #require(file["id"] as? String)
            let withFile = try JSONSerialization.data(withJSONObject: ["channel_id": general, "text": "the engine diagram", "file_ids": [fileId]])
            _ = try chat.json(try await chat.client.post("/api/v1/messages", json: String(decoding: withFile, as: UTF8.self), token: ada.access), 201, "post file")

            let all = try await Self.eventually(chat, workspace, "engine", as: ada, [
                "the engine diagram", "Patterns of the engine, in a reply", "engine notes: see https://example.org/notes",
                "The Analytical Engine weaves algebraical patterns",
            ])
            #expect(all.count == 4, "thread replies are found too")
            #expect(try await Self.texts(chat, workspace, "ENGINE -notes -diagram -reply", as: ada) == ["The Analytical Engine weaves algebraical patterns"])
            #expect(try await Self.texts(chat, workspace, "weav*", as: ada) == ["Jacquard looms weave flowers and leaves", "The Analytical Engine weaves algebraical patterns"])
            #expect(try await Self.texts(chat, workspace, "\"analytical engine\"", as: ada) == ["The Analytical Engine weaves algebraical patterns"])
            #expect(try await Self.texts(chat, workspace, "\"engine analytical\"", as: ada) == [])
            #expect(try await Self.texts(chat, workspace, "engine -\"in a reply\" -\"engine diagram\"", as: ada).count == 2)
            #expect(try await Self.texts(chat, workspace, "from:@\"Bob Byron\" engine", as: ada) == [
                "Patterns of the engine, in a reply", "engine notes: see https://example.org/notes",
            ])
            #expect(try await Self.texts(chat, workspace, "from:@\(bob.id) in:#looms", as: ada) == ["engine notes: see https://example.org/notes"])
            #expect(try await Self.texts(chat, workspace, "from:@nobody engine", as: ada) == [])
            #expect(try await Self.texts(chat, workspace, "in:general in:looms notes", as: ada) == ["engine notes: see https://example.org/notes"])
            #expect(try await Self.texts(chat, workspace, "has:link", as: ada) == ["engine notes: see https://example.org/notes"])
            #expect(try await Self.texts(chat, workspace, "has:file engine", as: ada) == ["the engine diagram"])
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let yesterday = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400)).prefix(10))
            let tomorrow = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400)).prefix(10))
            #expect(try await Self.texts(chat, workspace, "engine on:\(today)", as: ada).count == 4)
            #expect(try await Self.texts(chat, workspace, "engine after:\(yesterday) before:\(tomorrow)", as: ada).count == 4)
            #expect(try await Self.texts(chat, workspace, "engine before:\(today)", as: ada) == [])
            #expect(try await Self.texts(chat, workspace, "engine after:\(today)", as: ada) == [])

            let hits = try await Self.search(chat, workspace, "analytical weav*", as: ada).json()["items"] as? [[String: Any]] ?? []
            #expect(hits.first?["highlights"] as? [String] == ["Analytical", "weaves"])
            #expect(hits.first?["channel_id"] as? String == general)

            let first = try await Self.search(chat, workspace, "engine", as: ada, extra: "&limit=3").json()
            #expect((first["items"] as? [Any])?.count == 3)
            let cursor = try #require(first["next_cursor"] as? String)
            let second = try await Self.search(chat, workspace, "engine", as: ada, extra: "&limit=3&cursor=\(cursor)").json()
            #expect(((second["items"] as? [[String: Any]])?.compactMap { ($0["message"] as? [String: Any])?["text"] as? String }) == [
                "The Analytical Engine weaves algebraical patterns"
            ])
            #expect(second["next_cursor"] is NSNull)

            // Channels and files.
            _ = try await chat.client.send("PATCH", "/api/v1/channels/\(looms)", body: Data(#"{"topic":"Weaving machinery"}"#.utf8), token: ada.access)
            let channels = try await Self.search(chat, workspace, "weav", as: bob, what: "channels").json()["items"] as? [[String: Any]] ?? []
            #expect(channels.compactMap { $0["name"] as? String } == ["looms"])
            #expect((try await Self.search(chat, workspace, "gen", as: bob, what: "channels").json()["items"] as? [[String: Any]])?.count == 1)
            let files = try await Self.search(chat, workspace, "diagram", as: bob, what: "files").json()["items"] as? [[String: Any]] ?? []
            #expect(files.compactMap { $0["id"] as? String } == [fileId])
            #expect((try await Self.search(chat, workspace, "diagram from:@\(bob.id)", as: bob, what: "files").json()["items"] as? [Any])?.count == 0)
        }
    }

    @Test("bad queries answer 200 or 422 in the envelope, never 500", arguments: [3000, 1])
    func badQueries(window: Int) async throws {
        try await Self.with(window: window) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            _ = try chat.json(try await chat.post(general, "quokka sightings reported", by: ada), 201, "post")
            _ = try await Self.eventually(chat, workspace, "quokka", as: ada, ["quokka sightings reported"])
            for q in ["\"quokka sightings", "the of and", "+-*\"@~<>()", "+quokka -", "quokka*~@>(", "(((", "\"\"", "-", "*", "@", "in:", "from:", "has:nothing",
                "a an the is", "quokka \" -\""]
            {
                let reply = try await Self.search(chat, workspace, q, as: ada)
                #expect(reply.status == 200, "\(q): \(reply.status) \(reply.text)")
            }
            #expect(try await Self.texts(chat, workspace, "\"quokka sightings", as: ada) == ["quokka sightings reported"])
            #expect(try await Self.texts(chat, workspace, "the of and", as: ada) == [])
            #expect(try await Self.texts(chat, workspace, "quokka*~@>(", as: ada) == ["quokka sightings reported"])
            for (q, field) in [("", "q"), ("   ", "q"), (String(repeating: "quokka ", count: 1500), "q"), ("quokka on:2026-13-01", "q"),
                ("before:yesterday", "q"), ("after:2026-02-30", "q")]
            {
                let reply = try await Self.search(chat, workspace, q, as: ada)
                #expect(reply.status == 422, "\(q.prefix(30)): \(reply.status)")
                let error = try reply.json()["error"] as? [String: Any]
                #expect(error?["code"] as? String == "validation_failed")
                #expect((error?["details"] as? [String: Any])?[field] != nil)
            }
            #expect(try await chat.client.get("/api/v1/search/messages?q=quokka", token: ada.access).status == 422)
            #expect(try await chat.client.get("/api/v1/search/messages?workspace_id=\(workspace)&q=quokka&limit=500", token: ada.access).status == 400)
            #expect(try await chat.client.get("/api/v1/search/messages?workspace_id=\(workspace)&q=quokka").status == 401)
        }
    }
}
