import Crypto
import Foundation
import QuikSDK
import QuikTesting
import Testing
@testable import QuikRuntime

/// Notifications end to end: routing into the feed, preferences and DND, Web Push through a
/// receiver that decrypts with http-ece and checks VAPID with py-vapid, a push proxy, and
/// email over SMTP.
@Suite("Notifications", .serialized, .timeLimit(.minutes(3)))
struct NotificationsTests {
    static let plugins = IdentityHost.messaging + ["reminders", "notifications"]

    /// A host with notifications, mail to `sink` (if any), outbound HTTP allowed to 127.0.0.1.
    static func with(sink: SMTPSink? = nil, proxy: String? = nil, _ body: (IdentityHost) async throws -> Void) async throws {
        try await IdentityHost.with(plugins, configure: { configuration in
            if let sink { configuration.mail.smtpURL = "smtp://127.0.0.1:\(sink.port)" }
            configuration.outbound.allowedInternalHosts = ["127.0.0.1"]
            configuration.metricsToken = SecretText(PluginTestHost.metricsToken)
            if let index = configuration.plugins.firstIndex(where: { $0.name == "notifications" }) {
                var settings: [String: SettingValue] = ["email_delay_s": .int(1)]
                if let proxy { settings["push_proxy_url"] = .string(proxy) }
                configuration.plugins[index].settings = settings
            }
            // Sockets here stay "online" (not away) while open.
            if let index = configuration.plugins.firstIndex(where: { $0.name == "presence" }) {
                configuration.plugins[index].settings["away_after_s"] = .int(600)
            }
        }, body)
    }

    static func feed(_ chat: IdentityHost, _ account: IdentityHost.Account, _ query: String = "") async throws -> [[String: Any]] {
        try chat.json(try await chat.client.get("/api/v1/notifications\(query)", token: account.access), 200, "feed")["items"] as? [[String: Any]] ?? []
    }

    static func json(_ value: Any) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self) }

    /// Subscribes `account` at the receiver with the server's VAPID key, as a browser would, and registers the device.
    static func subscribe(_ account: IdentityHost.Account, on chat: some ChatDriver, at receiver: WebPushReceiver) async throws
        -> (endpoint: String, p256dh: String, auth: String)
    {
        let key = try #require(try await chat.client.get("/api/v1/notifications/web_push_key", token: account.access).json()["public_key"] as? String)
        let subscription = try await receiver.subscribe(applicationServerKey: key)
        let device = try await chat.client.post(
            "/api/v1/notifications/devices",
            json: try json(["type": "web_push", "subscription": ["endpoint": subscription.endpoint, "keys": ["p256dh": subscription.p256dh, "auth": subscription.auth]]]),
            token: account.access)
        guard device.status == 201 else { throw TestFailure("device: \(device.status) \(device.text)") }
        return subscription
    }

    @Test("routing: mentions, DMs, followed threads, @channel, reminders; never one's own, muted or unseen; read with the channel; gone with the message or the mention")
    func routing() async throws {
        try await Self.with { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let cyd = try await chat.register("Cyd")
            let workspace = try await chat.workspace(owner: ada, members: [bob, cyd])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob, cyd])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada)
            let bobSocket = try await chat.socket(bob)

            let mention = try chat.json(try await chat.post(general, "hi <@\(bob.id)>", by: ada), 201, "post")
            let created = try await bobSocket.waitForEvent("notification.created")
            #expect(created["type"] as? String == "mention")
            #expect(created["message_id"] as? String == mention["id"] as? String)
            #expect(created["actor_id"] as? String == ada.id)
            #expect(created["workspace_id"] as? String == workspace)
            #expect(created["reminder_id"] is NSNull)
            #expect(try await Self.feed(chat, cyd).isEmpty)
            #expect(try chat.json(try await chat.client.get("/api/v1/notifications/unread_count?workspace_id=\(workspace)", token: bob.access), 200, "count")["count"] as? Int == 1)

            // A DM; a reply in a thread Bob started (he follows it); @channel reaches Cyd too; Ada's own posts never notify Ada.
            let direct = try chat.json(
                try await chat.client.post("/api/v1/channels/direct", json: #"{"workspace_id":"\#(workspace)","user_ids":["\#(bob.id)"]}"#, token: ada.access), 200, "dm")
            _ = try chat.json(try await chat.post(try #require(direct["id"] as? String), "psst", by: ada), 201, "dm post")
            let root = try chat.json(try await chat.post(general, "my thread", by: bob), 201, "root")
            _ = try chat.json(try await chat.post(general, "a reply", by: ada, root: root["id"] as? String), 201, "reply")
            _ = try chat.json(try await chat.post(general, "<!channel> standup", by: ada), 201, "channel")
            _ = try chat.json(try await chat.post(secret, "hi <@\(bob.id)> (he cannot see this)", by: ada), 201, "secret")
            try await chat.eventually("four for Bob") { try await Self.feed(chat, bob).count == 4 }
            #expect(try await Self.feed(chat, bob).compactMap { $0["type"] as? String } == ["mention", "thread_reply", "dm", "mention"])
            #expect(try await Self.feed(chat, cyd).compactMap { $0["type"] as? String } == ["mention"])
            #expect(try await Self.feed(chat, ada).isEmpty)

            // Muted: nothing from that channel.
            let put = try await chat.client.send(
                "PUT", "/api/v1/notifications/preferences/channels/\(general)", body: Data(#"{"muted":true}"#.utf8), token: cyd.access)
            #expect(put.status == 200)
            _ = try chat.json(try await chat.post(general, "<!channel> again", by: ada), 201, "channel")
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await Self.feed(chat, cyd).count == 1)

            // Reading the channel reads its notifications up to that message.
            let last = try await Self.feed(chat, bob).first { $0["channel_id"] as? String == general }
            _ = try chat.json(
                try await chat.client.post("/api/v1/channels/\(general)/read", json: #"{"message_id":"\#(last?["message_id"] as? String ?? "")"}"#, token: bob.access),
                200, "read")
            try await chat.eventually("general read") { try await Self.feed(chat, bob, "?unread=true").count == 1 }
            #expect(try await Self.feed(chat, bob, "?unread=true").first?["type"] as? String == "dm")
            #expect(try await chat.client.post("/api/v1/notifications/read", json: #"{"all":true}"#, token: bob.access).status == 204)
            #expect(try await Self.feed(chat, bob, "?unread=true").isEmpty)

            // An edit that drops the mention, and a deletion, take theirs away.
            let edited = try chat.json(try await chat.post(general, "ping <@\(cyd.id)>", by: ada), 201, "post")
            #expect(try await chat.client.send("PUT", "/api/v1/notifications/preferences/channels/\(general)", body: Data(#"{"muted":false}"#.utf8), token: cyd.access).status == 200)
            let again = try chat.json(try await chat.post(general, "ping <@\(cyd.id)> once more", by: ada), 201, "post")
            try await chat.eventually("Cyd's mention") { try await Self.feed(chat, cyd).count == 2 }
            _ = edited
            #expect(try await chat.client.send("PATCH", "/api/v1/messages/\(again["id"] as? String ?? "")", body: Data(#"{"text":"never mind"}"#.utf8), token: ada.access).status == 200)
            try await chat.eventually("the mention gone") { try await Self.feed(chat, cyd).count == 1 }
            #expect(try await chat.client.send("DELETE", "/api/v1/messages/\(mention["id"] as? String ?? "")", token: ada.access).status == 204)
            try await chat.eventually("the deleted message's gone") {
                try await Self.feed(chat, bob).allSatisfy { $0["message_id"] as? String != mention["id"] as? String }
            }

            // A reminder firing.
            _ = try chat.json(try await chat.client.post("/api/v1/reminders", json: #"{"text":"stretch","time":"in 0 minutes"}"#, token: bob.access), 422, "now")
            let at = ISO8601DateFormatter().string(from: Date().addingTimeInterval(1))
            _ = try chat.json(try await chat.client.post("/api/v1/reminders", json: #"{"text":"stretch","time":"\#(at)"}"#, token: bob.access), 201, "remind")
            let reminded = try await bobSocket.waitForEvent("notification.created", timeout: .seconds(6)) { $0["type"] as? String == "reminder" }
            #expect(reminded["text"] as? String == "stretch")
            #expect(reminded["reminder_id"] is String)
        }
    }

    @Test("bad preferences, DND, devices: each a 422 naming the field; a channel one cannot see is 404; the same device again is 200")
    func badInput() async throws {
        try await Self.with { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let secret = try await chat.channel(workspace, "secret", kind: "private", by: ada)
            func expect422(_ method: String, _ path: String, _ body: String, _ field: String) async throws {
                let reply = try await chat.client.send(method, path, body: Data(body.utf8), token: bob.access)
                #expect(reply.status == 422, "\(path) \(body.prefix(60)): \(reply.status) \(reply.text.prefix(200))")
                let details = (try? reply.json()["error"] as? [String: Any])?["details"] as? [String: Any]
                #expect(details?[field] != nil, "\(path) \(body.prefix(60)) names \(field): \(reply.text.prefix(200))")
            }
            try await expect422("PATCH", "/api/v1/notifications/preferences", #"{"push":"sometimes"}"#, "push")
            try await expect422("PATCH", "/api/v1/notifications/preferences", #"{"email_interval":"2h"}"#, "email_interval")
            #expect(try await chat.client.send("PUT", "/api/v1/notifications/preferences/channels/\(secret)", body: Data(#"{"muted":true}"#.utf8), token: bob.access).status == 404)
            try await expect422("PUT", "/api/v1/notifications/dnd/schedule", #"{"start":"22:00","end":"07:00","timezone":"Mars/Olympus"}"#, "timezone")
            try await expect422("PUT", "/api/v1/notifications/dnd/schedule", #"{"start":"09:00","end":"09:00"}"#, "end")
            try await expect422("PUT", "/api/v1/notifications/dnd/schedule", #"{"start":"25:00","end":"07:00"}"#, "start")
            try await expect422("POST", "/api/v1/notifications/dnd", #"{"until":"2001-01-01T00:00:00Z"}"#, "until")
            let point = P256.KeyAgreement.PrivateKey().publicKey.x963Representation.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let keys = #"{"p256dh":"\#(point)","auth":"AAAAAAAAAAAAAAAAAAAAAA"}"#
            try await expect422("POST", "/api/v1/notifications/devices", #"{"type":"web_push","subscription":{"endpoint":"http://push.example.com/x","keys":\#(keys)}}"#, "subscription.endpoint")
            try await expect422("POST", "/api/v1/notifications/devices", #"{"type":"web_push","subscription":{"endpoint":"https://push.example.com/x","keys":{"p256dh":"AAAA","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}"#, "subscription.keys.p256dh")
            try await expect422("POST", "/api/v1/notifications/devices", #"{"type":"web_push","subscription":{"endpoint":"https://push.example.com/x","keys":{"p256dh":"\#(point)","auth":"AAAA"}}}"#, "subscription.keys.auth")
            try await expect422("POST", "/api/v1/notifications/devices", #"{"type":"push_proxy","platform":"apns","token":"\#(String(repeating: "t", count: 10_240))"}"#, "token")
            try await expect422("POST", "/api/v1/notifications/devices", #"{"type":"push_proxy","platform":"blackberry","token":"abc"}"#, "platform")
            try await expect422("POST", "/api/v1/notifications/devices", #"{"type":"carrier_pigeon"}"#, "type")
            let first = try await chat.client.post("/api/v1/notifications/devices", json: #"{"type":"push_proxy","platform":"apns","token":"abc"}"#, token: bob.access)
            #expect(first.status == 201)
            let again = try await chat.client.post("/api/v1/notifications/devices", json: #"{"type":"push_proxy","platform":"apns","token":"abc"}"#, token: ada.access)
            #expect(again.status == 200)
            #expect(try again.json()["id"] as? String == (try first.json()["id"] as? String), "the same device, now Ada's")
            #expect((try await chat.client.get("/api/v1/notifications/devices", token: bob.access).jsonArray()).isEmpty)
            #expect(try await chat.client.get("/api/v1/notifications/web_push_key", token: bob.access).json()["public_key"] is String)
        }
    }

    @Test("Web Push: one push for a mention of an offline user (decrypted and VAPID-checked by http-ece and py-vapid), none while connected, none in DND, one after; a gone endpoint is removed")
    func webPush() async throws {
        let receiver = try WebPushReceiver.start()
        defer { receiver.stop() }
        try await Self.with { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let subscription = try await Self.subscribe(bob, on: chat, at: receiver)
            func payloads() async throws -> [[String: Any]] {
                try await receiver.received(subscription.endpoint).payloads.compactMap {
                    try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
            }

            let first = try chat.json(try await chat.post(general, "are you there <@\(bob.id)>?", by: ada), 201, "post")
            try await chat.eventually("the push", timeout: .seconds(10)) { try await payloads().count == 1 }
            let pushed = try await payloads()[0]
            #expect(pushed["type"] as? String == "mention")
            #expect(pushed["message_id"] as? String == first["id"] as? String)
            #expect(pushed["actor_id"] as? String == ada.id)
            #expect(pushed["text"] as? String == "are you there <@\(bob.id)>?")
            #expect(try await receiver.received(subscription.endpoint).rejected == 0)

            // Connected and active: the feed and the socket, no push.
            let socket = try await chat.socket(bob)
            _ = try chat.json(try await chat.post(general, "and now <@\(bob.id)>?", by: ada), 201, "post")
            try await socket.waitForEvent("notification.created") { $0["text"] as? String == "and now <@\(bob.id)>?" }
            // The push job decides when it runs: the socket stays open until it has (its second run).
            func pushRuns() async throws -> Int {
                let metrics = try await chat.test.metrics().text
                let line = metrics.split(separator: "\n").first { $0.hasPrefix(#"quik_job_runs_total{plugin="notifications",kind="push",outcome="done"}"#) }
                return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            }
            try await chat.eventually("the second push job", timeout: .seconds(10)) { try await pushRuns() >= 2 }
            socket.close()
            // In DND: dropped, not held.
            _ = try chat.json(try await chat.client.post("/api/v1/notifications/dnd", json: #"{"until":"in 1 minute"}"#, token: bob.access), 200, "dnd")
            #expect(try chat.json(try await chat.client.get("/api/v1/notifications/dnd", token: bob.access), 200, "dnd")["active"] as? Bool == true)
            try await Task.sleep(for: .milliseconds(300))
            _ = try chat.json(try await chat.post(general, "quiet please <@\(bob.id)>", by: ada), 201, "post")
            try await Task.sleep(for: .seconds(2))
            #expect(try await payloads().count == 1)
            // DND over: pushed again.
            #expect(try await chat.client.send("DELETE", "/api/v1/notifications/dnd", token: bob.access).status == 204)
            _ = try chat.json(try await chat.post(general, "back? <@\(bob.id)>", by: ada), 201, "post")
            try await chat.eventually("the second push", timeout: .seconds(10)) { try await payloads().count == 2 }
            #expect(try await payloads().last?["text"] as? String == "back? <@\(bob.id)>")

            // The endpoint is gone (410): the device is removed.
            try await receiver.gone(subscription.endpoint)
            _ = try chat.json(try await chat.post(general, "hello? <@\(bob.id)>", by: ada), 201, "post")
            try await chat.eventually("the device removed", timeout: .seconds(10)) {
                (try await chat.client.get("/api/v1/notifications/devices", token: bob.access).jsonArray()).isEmpty
            }
            #expect(try await payloads().count == 2)
        }
    }

    @Test("push proxy: a phone's token is pushed in Mattermost's send_push shape, and dropped when the proxy says REMOVE")
    func pushProxy() async throws {
        let proxy = try PushProxy.start()
        defer { proxy.stop() }
        try await Self.with(proxy: "http://127.0.0.1:\(proxy.port)") { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            #expect(try await chat.client.post("/api/v1/notifications/devices", json: #"{"type":"push_proxy","platform":"fcm","token":"phone-1"}"#, token: bob.access).status == 201)
            #expect(try await chat.client.post("/api/v1/notifications/devices", json: #"{"type":"push_proxy","platform":"apns","token":"gone-token"}"#, token: bob.access).status == 201)
            let posted = try chat.json(try await chat.post(general, "call me <@\(bob.id)>", by: ada), 201, "post")
            try await chat.eventually("two pushes", timeout: .seconds(10)) { try await proxy.received().count == 2 }
            let android = try #require(try await proxy.received().first { $0["device_id"] as? String == "phone-1" })
            #expect(android["platform"] as? String == "android")
            #expect(android["type"] as? String == "message")
            #expect(android["post_id"] as? String == posted["id"] as? String)
            #expect(android["channel_id"] as? String == general)
            #expect(android["sender_id"] as? String == ada.id)
            #expect(android["badge"] as? Int == 1)
            #expect((android["server_id"] as? String)?.isEmpty == false)
            #expect(try await proxy.received().first { $0["device_id"] as? String == "gone-token" }?["platform"] as? String == "apple")
            try await chat.eventually("the gone phone removed") {
                (try await chat.client.get("/api/v1/notifications/devices", token: bob.access).jsonArray()).count == 1
            }
        }
    }

    @Test("email: three unread mentions make one mail; a mention read within the delay makes none; its unsubscribe link works without signing in")
    func email() async throws {
        let sink = try await SMTPSink()
        try await Self.with(sink: sink) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            _ = try chat.json(
                try await chat.client.send("PATCH", "/api/v1/notifications/preferences", body: Data(#"{"email_interval":"immediate"}"#.utf8), token: bob.access),
                200, "prefs")
            for text in ["one <@\(bob.id)>", "two <@\(bob.id)>", "three <@\(bob.id)>"] {
                _ = try chat.json(try await chat.post(general, text, by: ada), 201, "post")
            }
            // Bob's notification mail (not the address check auth sent him on registering).
            @Sendable func notices() -> [SMTPSink.Message] {
                sink.messages.filter { $0.to.contains { $0.contains(bob.email) } && $0.data.contains("notification preferences") }
            }
            // Due after email_delay_s (1 s here), sent by the job of its ten-second window: within about 11 s.
            try await chat.eventually("the mail", timeout: .seconds(25)) { !notices().isEmpty }
            try await Task.sleep(for: .seconds(2))
            let mails = notices()
            #expect(mails.count == 1)
            let mail = try #require(mails.first).data
            for text in ["one", "two", "three"] { #expect(mail.contains("\(text) <@\(bob.id)>")) }
            #expect(mail.contains("#general"))

            // Read within the delay: no mail.
            let read = try chat.json(try await chat.post(general, "four <@\(bob.id)>", by: ada), 201, "post")
            _ = try chat.json(
                try await chat.client.post("/api/v1/channels/\(general)/read", json: #"{"message_id":"\#(read["id"] as? String ?? "")"}"#, token: bob.access),
                200, "read")
            // Past the end of the read mention's window, when its mail would have gone.
            try await Task.sleep(for: .seconds(12))
            #expect(notices().count == 1)

            // Unsubscribe, without a token.
            let unfolded = mail.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "\r\n", with: "\n")
            let link = try #require(unfolded.split(separator: "\n").first { $0.contains("/notifications/unsubscribe?") }.map { String($0) })
            let path = try #require(link.range(of: "/api/v1/").map { String(link[$0.lowerBound...]).trimmingCharacters(in: .whitespaces) })
            #expect(try await chat.client.get(path).status == 200)
            #expect(try chat.json(try await chat.client.get("/api/v1/notifications/preferences", token: bob.access), 200, "prefs")["email"] as? String == "none")
            #expect(try await chat.client.get(path.replacingOccurrences(of: "sig=", with: "sig=x")).status == 403)
        }
    }
}

extension NotificationsTests {
    @Test("a host killed with -9 between a mention and its push sends the push once after the restart, never twice")
    func pushSurvivesKill() async throws {
        let receiver = try WebPushReceiver.start()
        defer { receiver.stop() }
        let directory = try Fixtures.temporaryDirectory()
        // A 3 s push delay puts the kill between the mention and the push; a 2 s job limit (a 5 s claim)
        // would let a push lost mid-flight go again within the test's wait, so a second push would show.
        let config = try await ServerProcess.configuration(
            in: directory, plugins: Self.plugins, settings: ["notifications": "push_delay_s: 3"],
            extra: "outbound:\n  allowed_internal_hosts: [127.0.0.1]\njobs:\n  timeout_s: 2")

        let first = try ServerProcess(config: config, log: "\(directory)/first.log")
        let chat = RemoteChat(port: try await first.port())
        let ada = try await chat.register("Ada")
        let bob = try await chat.register("Bob")
        let workspace = try await chat.workspace(owner: ada, members: [bob])
        let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
        let subscription = try await Self.subscribe(bob, on: chat, at: receiver)
        _ = try chat.json(try await chat.post(general, "urgent-ish <@\(bob.id)>", by: ada), 201, "mention")
        await first.kill(SIGKILL)
        #expect(try await receiver.received(subscription.endpoint).payloads.isEmpty, "killed before the push")

        let second = try ServerProcess(config: config, log: "\(directory)/second.log")
        _ = try await second.port()
        let deadline = ContinuousClock.now + .seconds(20)
        while try await receiver.received(subscription.endpoint).payloads.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        // Past a lapsed claim's rerun, had there been one.
        try await Task.sleep(for: .seconds(7))
        let received = try await receiver.received(subscription.endpoint)
        #expect(received.payloads.count == 1, "\(received.payloads)")
        #expect(received.payloads.first?.contains("urgent-ish") == true)
        await second.kill(SIGTERM)
        #expect(second.process.terminationStatus == 0)
    }
}

/// `Tests/Clients/push_proxy.py`: a push proxy that records what it is sent.
final class PushProxy: Sendable {
    let port: Int
    private let process: Process

    private init(port: Int, process: Process) {
        self.port = port
        self.process = process
    }

    static func start() throws -> PushProxy {
        let (process, fields) = try PythonServer.start("push_proxy.py", what: "the push proxy")
        return PushProxy(port: Int(fields[0]) ?? 0, process: process)
    }

    func stop() { process.terminate() }

    /// Every body received so far.
    func received() async throws -> [[String: Any]] {
        let reply = try await TestClient(port: port).get("/received")
        return try reply.json()["pushes"] as? [[String: Any]] ?? []
    }
}
