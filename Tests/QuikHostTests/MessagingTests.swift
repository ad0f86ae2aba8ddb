import Foundation
import Testing

/// Workspaces, channels, messages and threads, driven over HTTP and real sockets.
@Suite("Messaging", .serialized, .timeLimit(.minutes(3)))
struct MessagingTests {
    static func canonical(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("end to end: B receives A's message with the REST shape, C outside the channel nothing; replies, reactions, edits and deletes arrive in order")
    func endToEnd() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada, adding: [bob])
            let adaSocket = try await chat.socket(ada)
            let bobSocket = try await chat.socket(bob)
            let bobPhone = try await chat.socket(bob)
            let cydSocket = try await chat.socket(cyd)

            let posted = try chat.json(try await chat.post(secret, "hello <@\(bob.id)>", by: ada), 201, "post")
            let received = try await bobSocket.waitForEvent("message.created")
            #expect(try Self.canonical(received) == Self.canonical(posted))
            #expect(posted["mentions"] as? [String] == [bob.id])
            #expect(try Self.canonical(try await bobPhone.waitForEvent("message.created")) == Self.canonical(posted))
            let rootId = try #require(posted["id"] as? String)

            bobSocket.send(#"{"type":"typing","channel_id":"\#(secret)","id":"t1"}"#)
            let typing = try await adaSocket.waitForEvent("typing")
            #expect(typing["user_id"] as? String == bob.id)
            #expect(typing["channel_id"] as? String == secret)
            try await bobSocket.waitFor("ack") { $0["type"] as? String == "ack" && $0["id"] as? String == "t1" }

            let reply = try chat.json(try await chat.post(secret, "hi back", by: bob, root: rootId), 201, "reply")
            #expect(reply["thread_root_id"] as? String == rootId)
            let replied = try await adaSocket.waitForEvent("thread.replied")
            #expect(replied["root_id"] as? String == rootId)
            #expect(replied["reply_count"] as? Int == 1)

            _ = try chat.json(
                try await chat.client.post("/api/v1/messages/\(rootId)/reactions", json: #"{"emoji":"tada"}"#, token: ada.access), 200, "react")
            let edited = try chat.json(
                try await chat.client.send("PATCH", "/api/v1/messages/\(rootId)", body: Data(#"{"text":"hello, edited"}"#.utf8), token: ada.access), 200,
                "edit")
            #expect(edited["edited_at"] is String)
            #expect(try await chat.client.send("DELETE", "/api/v1/messages/\(rootId)", token: ada.access).status == 204)
            try await bobSocket.waitForEvent("message.deleted")

            let topics = bobSocket.received.filter { $0["type"] as? String == "event" }.compactMap { frame -> String? in
                let topic = frame["topic"] as? String ?? ""
                return topic.hasPrefix("presence") || topic.hasPrefix("channel.") || topic == "typing" ? nil : topic
            }
            #expect(topics == ["message.created", "message.created", "thread.replied", "reaction.added", "message.updated", "message.deleted"])
            let seqs = bobSocket.received.compactMap { $0["seq"] as? Int }
            #expect(seqs == Array(1...seqs.count))
            #expect((bobSocket.events("message.updated").first?["data"] as? [String: Any])?["text"] as? String == "hello, edited")
            #expect(try await chat.client.get("/api/v1/messages/\(rootId)", token: bob.access).status == 404)

            // Cyd shares the workspace but not the channel: not one of its events, and the channel is 404 to her.
            try await Task.sleep(for: .milliseconds(200))
            #expect(cydSocket.received.allSatisfy { frame in
                let topic = frame["topic"] as? String ?? ""
                return !(topic.hasPrefix("message.") || topic.hasPrefix("thread.") || topic.hasPrefix("reaction.") || topic == "typing")
            })
            #expect(try await chat.client.get("/api/v1/channels/\(secret)", token: cyd.access).status == 404)
            #expect(try await chat.client.get("/api/v1/messages?channel_id=\(secret)", token: cyd.access).status == 404)
            #expect(try await chat.post(secret, "let me in", by: cyd).status == 404)

            // Removed from the private channel, Bob stops receiving it at once.
            #expect(try await chat.client.send("DELETE", "/api/v1/channels/\(secret)/members/\(bob.id)", token: ada.access).status == 204)
            try await bobSocket.waitForEvent("channel.member_left") { $0["user_id"] as? String == bob.id }
            _ = try chat.json(try await chat.post(secret, "after Bob left", by: ada), 201, "post after removal")
            try await adaSocket.waitForEvent("message.created") { $0["text"] as? String == "after Bob left" }
            try await Task.sleep(for: .milliseconds(200))
            #expect(!bobSocket.events("message.created").contains { ($0["data"] as? [String: Any])?["text"] as? String == "after Bob left" })
        }
    }

    @Test("the rest of the realtime list: channel.created, member_joined, channel.updated, reaction.removed; pins; a thread's view and followers")
    func channelEventsPinsAndThreads() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let adaSocket = try await chat.socket(ada)
            let bobSocket = try await chat.socket(bob)

            let news = try await chat.channel(workspace, "news", by: ada)
            #expect(try await bobSocket.waitForEvent("channel.created")["id"] as? String == news)
            _ = try chat.json(try await chat.client.post("/api/v1/channels/\(news)/join", token: bob.access), 200, "join")
            try await adaSocket.waitForEvent("channel.member_joined") { $0["user_id"] as? String == bob.id }
            _ = try chat.json(
                try await chat.client.send("PATCH", "/api/v1/channels/\(news)", body: Data(#"{"topic":"launch day"}"#.utf8), token: bob.access), 200,
                "topic")
            #expect(try await chat.client.send(
                "PATCH", "/api/v1/channels/\(news)", body: Data(#"{"name":"renamed"}"#.utf8), token: bob.access
            ).status == 403, "renaming needs a channel or workspace admin")
            #expect(try await adaSocket.waitForEvent("channel.updated")["topic"] as? String == "launch day")

            let root = try #require(try chat.json(try await chat.post(news, "big news", by: ada), 201, "post")["id"] as? String)
            _ = try chat.json(
                try await chat.client.post("/api/v1/messages/\(root)/reactions", json: #"{"emoji":"rocket"}"#, token: bob.access), 200, "react")
            _ = try chat.json(
                try await chat.client.post("/api/v1/messages/\(root)/reactions", json: #"{"emoji":"rocket"}"#, token: bob.access), 200, "react again")
            #expect(try await chat.client.send("DELETE", "/api/v1/messages/\(root)/reactions/rocket", token: bob.access).status == 204)
            try await adaSocket.waitForEvent("reaction.removed") { $0["emoji"] as? String == "rocket" && $0["user_id"] as? String == bob.id }
            #expect(adaSocket.events("reaction.added").count == 1, "a repeated reaction changes nothing")

            let pinned = try chat.json(try await chat.client.post("/api/v1/messages/\(root)/pin", token: bob.access), 200, "pin")
            #expect(pinned["pinned"] as? Bool == true)
            try await adaSocket.waitForEvent("message.updated") { $0["pinned"] as? Bool == true }
            let pins = try await chat.client.get("/api/v1/messages/pins?channel_id=\(news)", token: ada.access).json()
            #expect((pins["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [root])
            #expect(try await chat.client.send("DELETE", "/api/v1/messages/\(root)/pin", token: ada.access).status == 204)
            #expect((try await chat.client.get("/api/v1/messages/pins?channel_id=\(news)", token: ada.access).json()["items"] as? [Any])?.isEmpty == true)

            let first = try #require(try chat.json(try await chat.post(news, "first reply", by: bob, root: root), 201, "reply")["id"] as? String)
            let second = try #require(try chat.json(try await chat.post(news, "second reply", by: ada, root: root), 201, "reply")["id"] as? String)
            let rootNow = try await chat.client.get("/api/v1/messages/\(root)", token: bob.access).json()
            #expect(rootNow["reply_count"] as? Int == 2)
            #expect(rootNow["last_reply_at"] is String)
            let top = try await chat.client.get("/api/v1/messages?channel_id=\(news)", token: bob.access).json()
            #expect((top["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [root], "replies stay out of the channel list")
            try await chat.eventually("bob follows the thread he replied to") {
                try await chat.client.get("/api/v1/threads/\(root)", token: bob.access).json()["following"] as? Bool == true
            }
            let thread = try await chat.client.get("/api/v1/threads/\(root)", token: bob.access).json()
            #expect((thread["root"] as? [String: Any])?["id"] as? String == root)
            #expect((thread["replies"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [first, second])
            #expect(thread["participants"] as? [String] == [ada.id, bob.id])
            let unfollowed = try chat.json(try await chat.client.send("DELETE", "/api/v1/threads/\(root)/follow", token: bob.access), 200, "unfollow")
            #expect(unfollowed["following"] as? Bool == false)
            #expect(try await chat.client.get("/api/v1/threads/\(root)", token: bob.access).json()["following"] as? Bool == false)
            #expect(try await chat.client.get("/api/v1/threads/\(first)", token: bob.access).status == 404, "a reply is not a thread root")
        }
    }

    @Test("a DM between the same people is always the same channel; only they see it")
    func directMessages() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let direct = { (from: IdentityHost.Account, to: [String]) in
                try chat.json(
                    try await chat.client.post(
                        "/api/v1/channels/direct", json: #"{"workspace_id":"\#(workspace)","user_ids":\#(try Self.canonical(to))}"#,
                        token: from.access), 200, "direct")
            }
            let first = try await direct(ada, [bob.id])
            let again = try await direct(ada, [bob.id, bob.id])
            let fromBob = try await direct(bob, [ada.id])
            #expect(first["kind"] as? String == "direct")
            #expect(first["id"] as? String == again["id"] as? String)
            #expect(first["id"] as? String == fromBob["id"] as? String)
            #expect(first["member_count"] as? Int == 2)
            let group = try await direct(ada, [bob.id, cyd.id])
            #expect(group["id"] as? String != first["id"] as? String)
            let id = try #require(first["id"] as? String)
            #expect(try await chat.client.get("/api/v1/channels/\(id)", token: cyd.access).status == 404)
            #expect(try await chat.post(id, "psst", by: bob).status == 201)
        }
    }

    @Test("unread counts follow posts and read marks; client_msg_id replays return the first message with 200")
    func unreadAndReplay() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            var ids: [String] = []
            for index in 1...3 {
                let first = try await chat.post(general, "note \(index)", by: ada, clientId: "client-\(index)")
                #expect(first.status == 201)
                let replay = try await chat.post(general, "note \(index) again", by: ada, clientId: "client-\(index)")
                #expect(replay.status == 200)
                #expect(try replay.json()["id"] as? String == first.json()["id"] as? String)
                #expect(try replay.json()["text"] as? String == "note \(index)")
                ids.append(try #require(try first.json()["id"] as? String))
            }
            let unread = { (account: IdentityHost.Account) -> Int? in
                let list = try await chat.client.get("/api/v1/channels?workspace_id=\(workspace)", token: account.access).json()
                let channel = (list["items"] as? [[String: Any]])?.first { $0["id"] as? String == general }
                return channel?["unread_count"] as? Int
            }
            try await chat.eventually("three unread") { try await unread(bob) == 3 }
            #expect(try await unread(ada) == 0, "one's own messages are not unread")
            let marked = try chat.json(
                try await chat.client.post("/api/v1/channels/\(general)/read", json: #"{"message_id":"\#(ids[1])"}"#, token: bob.access), 200, "read")
            #expect(marked["last_read_id"] as? String == ids[1])
            #expect(try await unread(bob) == 1)
            // Marks only move forward.
            _ = try await chat.client.post("/api/v1/channels/\(general)/read", json: #"{"message_id":"\#(ids[0])"}"#, token: bob.access)
            #expect(try await unread(bob) == 1)
            let page = try chat.json(try await chat.client.get("/api/v1/messages?channel_id=\(general)&limit=2", token: bob.access), 200, "list")
            #expect((page["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
            let cursor = try #require(page["next_cursor"] as? String)
            let next = try chat.json(
                try await chat.client.get("/api/v1/messages?channel_id=\(general)&limit=2&cursor=\(cursor)", token: bob.access), 200, "next page")
            #expect((next["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[0]])
            #expect(next["next_cursor"] is NSNull)
        }
    }

    @Test("validation: empty or oversize text 422, unknown channel 404, non-member 403, archived channel 409, nothing half-written")
    func validation() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada)
            #expect(try await chat.post(general, "   ", by: ada).status == 422)
            #expect(try await chat.post(general, String(repeating: "x", count: 40_001), by: ada).status == 422)
            #expect(try await chat.post(general, String(repeating: "x", count: 40_000), by: ada).status == 201)
            #expect(try await chat.post("C000000000nosuchch", "hi", by: ada).status == 404)
            #expect(try await chat.post(general, "not a member", by: bob).status == 403)
            #expect(try await chat.client.post("/api/v1/channels/\(general)/archive", token: bob.access).status == 403)
            #expect(try await chat.client.post("/api/v1/channels/\(general)/archive", token: ada.access).status == 200)
            // The message plugin learns of the archive from a channel event, within milliseconds.
            try await chat.eventually("archived channel refuses posts") { try await chat.post(general, "too late", by: ada).status == 409 }
            // A post racing the archive event may land; nothing refused with 422 did.
            let list = try await chat.client.get("/api/v1/messages?channel_id=\(general)", token: ada.access).json()
            let texts = (list["items"] as? [[String: Any]])?.compactMap { $0["text"] as? String } ?? []
            #expect(texts.filter { $0 != "too late" }.count == 1)
        }
    }

    @Test("a guest sees only the channels they are in, cannot create or join channels, and can post where they belong")
    func guestLimits() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let gus = try await chat.register("Gus")
            let workspace = try await chat.workspace(owner: ada, members: [gus])
            let role = try await chat.client.send(
                "PATCH", "/api/v1/workspaces/\(workspace)/members/\(gus.id)", body: Data(#"{"role":"guest"}"#.utf8), token: ada.access)
            #expect(role.status == 200)
            let lobby = try await chat.channel(workspace, "lobby", by: ada)
            let project = try await chat.channel(workspace, "project", by: ada, adding: [gus])
            let visible = try await chat.client.get("/api/v1/channels?workspace_id=\(workspace)", token: gus.access).json()
            #expect((visible["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [project])
            #expect(try await chat.client.post("/api/v1/channels/\(lobby)/join", token: gus.access).status == 404)
            #expect(try await chat.client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspace)","name":"mine"}"#, token: gus.access
            ).status == 403)
            #expect(try await chat.client.post("/api/v1/workspaces/\(workspace)/invites", token: gus.access).status == 403)
            #expect(try await chat.post(project, "hello from a guest", by: gus).status == 201)
        }
    }

    @Test("a will_post interceptor rejects a message with its reason (422) and rewrites another before it is stored")
    func interceptor() async throws {
        try await IdentityHost.with(IdentityHost.messaging, extraPlugins: [("moderator", Fixtures.library("FixtureModerator"))]) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            let rejected = try await chat.post(general, "this is forbidden talk", by: ada)
            #expect(rejected.status == 422)
            #expect(((try rejected.json()["error"] as? [String: Any])?["message"] as? String) == "this message breaks the house rules")
            let rewritten = try chat.json(try await chat.post(general, "oh darn", by: ada), 201, "rewritten")
            #expect(rewritten["text"] as? String == "oh d**n")
            let stored = try await chat.client.get("/api/v1/messages/\(rewritten["id"] as? String ?? "")", token: ada.access).json()
            #expect(stored["text"] as? String == "oh d**n")
            // A post racing the archive event may land; nothing refused with 422 did.
            let list = try await chat.client.get("/api/v1/messages?channel_id=\(general)", token: ada.access).json()
            let texts = (list["items"] as? [[String: Any]])?.compactMap { $0["text"] as? String } ?? []
            #expect(texts.filter { $0 != "too late" }.count == 1)
        }
    }

    @Test("presence: online on connect, offline after the last socket closes past the grace period, told to people sharing a workspace")
    func presence() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let stranger = try await chat.register("Stranger")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            _ = workspace
            let bobSocket = try await chat.socket(bob)
            let strangerSocket = try await chat.socket(stranger)
            let adaSocket = try await chat.socket(ada)
            try await bobSocket.waitForEvent("presence.changed") { $0["user_id"] as? String == ada.id && $0["status"] as? String == "online" }
            let status = try await chat.client.get("/api/v1/presence?user_ids=\(ada.id)", token: bob.access).jsonArray()
            #expect((status.first as? [String: Any])?["status"] as? String == "online")
            let strange = try await chat.client.get("/api/v1/presence?user_ids=\(ada.id),\(stranger.id)", token: bob.access)
            #expect(strange.status == 404, "strangers are not found")

            // Silent past away_after_s (1.5 s in tests): away; any frame brings her back.
            try await bobSocket.waitForEvent("presence.changed") { $0["user_id"] as? String == ada.id && $0["status"] as? String == "away" }
            adaSocket.send(#"{"type":"ping"}"#)
            let back = bobSocket.events("presence.changed").count
            try await bobSocket.waitFor("online again") { _ in
                bobSocket.events("presence.changed").dropFirst(back).contains {
                    ($0["data"] as? [String: Any])?["status"] as? String == "online"
                }
            }
            adaSocket.send(#"{"type":"presence.set","status":"dnd","id":"p1"}"#)
            try await bobSocket.waitForEvent("presence.changed") { $0["user_id"] as? String == ada.id && $0["status"] as? String == "dnd" }

            adaSocket.close()
            _ = try await adaSocket.closed.value
            try await Task.sleep(for: .milliseconds(300))
            #expect(!bobSocket.events("presence.changed").contains { ($0["data"] as? [String: Any])?["status"] as? String == "offline" },
                "still within the grace period")
            try await bobSocket.waitForEvent("presence.changed") { $0["user_id"] as? String == ada.id && $0["status"] as? String == "offline" }
            #expect(!strangerSocket.events("presence.changed").contains { ($0["data"] as? [String: Any])?["user_id"] as? String == ada.id })
        }
    }

    @Test("another workspace's resources are 404 to a non-member, as the identity contract requires")
    func otherWorkspaceIsNotFound() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let eve = try await chat.register("Eve")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            let message = try chat.json(try await chat.post(general, "inside", by: ada), 201, "post")
            for path in [
                "/api/v1/workspaces/\(workspace)", "/api/v1/workspaces/\(workspace)/members", "/api/v1/channels/\(general)",
                "/api/v1/messages?channel_id=\(general)", "/api/v1/messages/\(message["id"] as? String ?? "")",
                "/api/v1/channels?workspace_id=\(workspace)",
            ] {
                #expect(try await chat.client.get(path, token: eve.access).status == 404, "\(path)")
            }
            #expect(try await chat.client.post("/api/v1/workspaces/\(workspace)/invites", token: eve.access).status == 404)
        }
    }
}
