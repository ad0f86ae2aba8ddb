import Foundation
import Testing

/// The findings of the outside security review (issue 10), each driven from outside
/// over HTTP and sockets. Slow-client limits are in ``SlowClientTests``.
@Suite("Security review")
struct SecurityReviewTests {
    /// `ascii` with its letters and `@` in their full-width forms (U+FF01…), as NFKC folds them back.
    static func fullWidth(_ ascii: String) -> String {
        String(String.UnicodeScalarView(ascii.unicodeScalars.map { scalar in
            (0x21...0x7E).contains(scalar.value) && (scalar.properties.isAlphabetic || scalar == "@")
                ? Unicode.Scalar(scalar.value - 0x21 + 0xFF01)! : scalar
        }))
    }

    @Test("an email is one account and one throttle counter however it is spelled: a locked account stays locked under a full-width or upper-case spelling")
    func unicodeLockout() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("ada")
            for _ in 0..<5 { #expect(try await identity.login(ada.email, "wrong password!!").status == 401) }
            #expect(try await identity.login(ada.email, ada.password).status == 429)
            let wide = Self.fullWidth(ada.email)
            #expect(wide != ada.email)
            #expect(try await identity.login(wide, ada.password).status == 429, "the full-width spelling shares the lock")
            #expect(try await identity.login(ada.email.uppercased(), ada.password).status == 429)
            let again = try await identity.client.post(
                "/api/v1/auth/register", json: #"{"email":"\#(wide)","password":"another password","display_name":"Ada 2"}"#)
            #expect(again.status == 409, "registration folds the same way")
            let bob = try await identity.register("bob")
            let signedIn = try await identity.login(Self.fullWidth(bob.email), bob.password)
            #expect(signedIn.status == 200)
            #expect((try signedIn.json()["user"] as? [String: Any])?["id"] as? String == bob.id)
            #expect(try await identity.login(#"bob\u0000@example.com"#, bob.password).status == 401, "NUL is no part of an email")
        }
    }

    @Test("failed sign-ins lock one address out of one account, not the owner at another address; many addresses trigger a short per-account backoff")
    func throttlePerAddress() async throws {
        try await IdentityHost.with(authSettings: ["backoff_after_failures": "8"]) { identity in
            let ada = try await identity.register("ada")
            let port = identity.test.port
            func login(from address: String, _ password: String) async throws -> SourceAddressClient.Reply {
                try await SourceAddressClient(port: port, source: address).post(
                    "/api/v1/auth/login", json: #"{"email":"\#(ada.email)","password":"\#(password)"}"#)
            }
            for _ in 0..<5 { #expect(try await login(from: "127.0.0.2", "wrong password!!").status == 401) }
            #expect(try await login(from: "127.0.0.2", ada.password).status == 429, "the attacker's address is locked out")
            #expect(try await login(from: "127.0.0.3", ada.password).status == 200, "the owner, elsewhere, is not")
            // Failures from three more addresses bring the account to 8: each further try waits a moment.
            for address in ["127.0.0.4", "127.0.0.5", "127.0.0.6"] {
                #expect(try await login(from: address, "wrong password!!").status == 401)
            }
            // The first wait is 1 s, doubling with each failure: a loaded machine may answer a probe after the
            // wait is over (401, and the next wait doubles), so up to three probes, each from a fresh address.
            var backoff: SourceAddressClient.Reply?
            for address in ["127.0.0.7", "127.0.0.8", "127.0.0.9"] {
                let reply = try await login(from: address, "wrong password!!")
                if reply.status == 429 {
                    backoff = reply
                    break
                }
                #expect(reply.status == 401)
            }
            #expect(backoff?.status == 429, "a per-account backoff after the 8th failure")
            #expect((1...60).contains(Int(backoff?.headers["retry-after"] ?? "") ?? 0))
        }
    }

    @Test("registrations are capped per address and reset mails per email and per address, with 429 whether the email is known or not")
    func openEndpointsAreCapped() async throws {
        try await IdentityHost.with(authSettings: ["max_registrations_per_ip": "2", "max_resets_per_email": "2"]) { identity in
            _ = try await identity.register("one")
            _ = try await identity.register("two")
            let third = try await identity.client.post(
                "/api/v1/auth/register", json: #"{"email":"three@example.com","password":"a long password","display_name":"Three"}"#)
            #expect(third.status == 429)
            #expect(third.headers["retry-after"] != nil)
            for email in ["nobody@example.com", "one@example.com"] {
                for _ in 0..<2 {
                    #expect(try await identity.client.post("/api/v1/auth/password/forgot", json: #"{"email":"\#(email)"}"#).status == 202)
                }
                let capped = try await identity.client.post("/api/v1/auth/password/forgot", json: #"{"email":"\#(email)"}"#)
                #expect(capped.status == 429)
                #expect(capped.errorCode == "rate_limited")
            }
        }
    }

    @Test("text limits count code points and refuse NUL: a letter with 300,000 combining marks, or a NUL, is 422 and nothing is stored")
    func codePointLimits() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let general = try await chat.channel(workspace, "general", by: ada)
            let marks = "a" + String(repeating: "\u{301}", count: 300_000)
            #expect(marks.count == 1, "one grapheme")
            let body = try JSONSerialization.data(withJSONObject: ["channel_id": general, "text": marks])
            let huge = try await chat.client.send("POST", "/api/v1/messages", body: body, token: ada.access)
            #expect(huge.status == 422)
            let fits = String(repeating: "\u{301}", count: 39_999)
            #expect(try await chat.post(general, "a" + fits, by: ada).status == 201, "40,000 code points fit")
            #expect(try await chat.post(general, "a" + fits + "\u{301}", by: ada).status == 422)
            let nul = try await chat.client.post(
                "/api/v1/messages", json: #"{"channel_id":"\#(general)","text":"hi\u0000there"}"#, token: ada.access)
            #expect(nul.status == 422)
            let name = try await chat.client.send(
                "PATCH", "/api/v1/users/me", body: Data(#"{"display_name":"Ada\u0000"}"#.utf8), token: ada.access)
            #expect(name.status == 422)
            let topic = try await chat.client.send(
                "PATCH", "/api/v1/channels/\(general)", body: Data(#"{"topic":"a\u0000b"}"#.utf8), token: ada.access)
            #expect(topic.status == 422)
            let list = try await chat.client.get("/api/v1/messages?channel_id=\(general)", token: ada.access).json()
            #expect((list["items"] as? [Any])?.count == 1)
        }
    }

    @Test("a message holds at most 50 distinct reactions (emoji beyond U+FFFF each distinct); the 51st is 409, existing ones still add")
    func reactionCap() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let message = try chat.json(try await chat.post(general, "react to me", by: ada), 201, "post")
            let id = try #require(message["id"] as? String)
            let names = (0..<25).map { String(format: "name%02d", $0) }
            let emoji = (0..<25).map { String(Unicode.Scalar(0x1F600 + $0)!) }
            func react(_ name: String, _ account: IdentityHost.Account) async throws -> Int {
                let body = try JSONSerialization.data(withJSONObject: ["emoji": name])
                return try await chat.client.send("POST", "/api/v1/messages/\(id)/reactions", body: body, token: account.access).status
            }
            for name in names + emoji { #expect(try await react(name, ada) == 200) }
            let stored = try await chat.client.get("/api/v1/messages/\(id)", token: ada.access).json()
            #expect((stored["reactions"] as? [Any])?.count == 50)
            #expect(try await react("one_too_many", ada) == 409)
            #expect(try await react("\u{1F680}", bob) == 409)
            #expect(try await react(emoji[3], bob) == 200, "joining an existing reaction is not a new one")
        }
    }

    @Test("a JSON call with a body in another media type is 415 unsupported_media_type")
    func nonJSONBody() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            for type in ["text/plain", "application/x-www-form-urlencoded"] {
                let reply = try await identity.client.send(
                    "PATCH", "/api/v1/users/me", body: Data(#"{"title":"x"}"#.utf8), token: ada.access, headers: ["Content-Type": type])
                #expect(reply.status == 415, "\(type)")
                #expect(reply.errorCode == "unsupported_media_type")
            }
            let json = try await identity.client.send(
                "PATCH", "/api/v1/users/me", body: Data(#"{"title":"x"}"#.utf8), token: ada.access,
                headers: ["Content-Type": "application/json; charset=utf-8"])
            #expect(json.status == 200)
        }
    }

    @Test("logout and session revocation end the session's access token at once, and close its sockets with 4401")
    func revocationIsImmediate() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let second = try chat.json(try await chat.login(ada.email, ada.password), 200, "second sign-in")
            let otherAccess = try #require(second["access_token"] as? String)
            let socket = try await chat.socket(IdentityHost.Account(id: ada.id, email: ada.email, password: ada.password, access: otherAccess, refresh: ""))
            #expect(try await chat.client.get("/api/v1/users/me", token: otherAccess).status == 200)
            let sessions = try chat.json(try await chat.client.get("/api/v1/auth/sessions", token: ada.access), 200, "sessions")
            let other = try #require((sessions["items"] as? [[String: Any]])?.first { $0["current"] as? Bool == false }?["id"] as? String)
            #expect(try await chat.client.send("DELETE", "/api/v1/auth/sessions/\(other)", token: ada.access).status == 204)
            #expect(try await chat.client.get("/api/v1/users/me", token: otherAccess).status == 401)
            #expect(try await socket.closed.value == 4401)

            #expect(try await chat.client.get("/api/v1/users/me", token: ada.access).status == 200)
            let logout = try await chat.client.post("/api/v1/auth/logout", json: #"{"refresh_token":"\#(ada.refresh)"}"#, token: ada.access)
            #expect(logout.status == 204)
            #expect(try await chat.client.get("/api/v1/users/me", token: ada.access).status == 401)
        }
    }

    @Test("a token whose ES256 signature uses the high S is refused, though the same token with the low S is accepted")
    func highSSignature() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            #expect(try await identity.client.get("/api/v1/users/me", token: ada.access).status == 200)
            let twin = try Self.otherS(ada.access)
            #expect(twin != ada.access)
            #expect(try await identity.client.get("/api/v1/users/me", token: twin).status == 401)
        }
    }

    /// The token with its signature's `s` replaced by n − `s` (n the order of P-256).
    static func otherS(_ token: String) throws -> String {
        let parts = token.split(separator: ".").map(String.init)
        var text = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        var signature = try #require(Data(base64Encoded: text).map(Array.init))
        try #require(signature.count == 64)
        let order: [UInt8] = [
            0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
        ]
        var borrow = 0
        for index in stride(from: 31, through: 0, by: -1) {
            let difference = Int(order[index]) - Int(signature[32 + index]) - borrow
            borrow = difference < 0 ? 1 : 0
            signature[32 + index] = UInt8((difference + 256) % 256)
        }
        let encoded = Data(signature).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return parts[0] + "." + parts[1] + "." + encoded
    }
}

/// Realtime abuse: typing floods and socket hoarding (frame floods: ``RateLimitTests``).
@Suite("Security review: realtime")
struct RealtimeAbuseTests {
    @Test("a hundred typing frames reach the other members once: at most one typing per user and channel every 3 s")
    func typingIsThrottled() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let bobSocket = try await chat.socket(bob)
            let adaSocket = try await chat.socket(ada)
            let started = ContinuousClock.now
            for index in 0..<100 { adaSocket.send(#"{"type":"typing","channel_id":"\#(general)","id":"t\#(index)"}"#) }
            _ = try await adaSocket.waitForCount(100) { $0["type"] as? String == "ack" }
            let took = ContinuousClock.now - started
            try await bobSocket.waitForEvent("typing") { $0["user_id"] as? String == ada.id }
            try await Task.sleep(for: .milliseconds(300))
            // One per 3 s window the hundred frames spanned (one, unless a loaded machine took seconds to answer them).
            let windows = 1 + Int(took.components.seconds / 3)
            #expect((1...windows).contains(bobSocket.events("typing").count), "\(bobSocket.events("typing").count) in \(took)")
        }
    }

    @Test("a user may hold server.max_sockets_per_user sockets; one more is closed with 4429, and a freed slot can be used again")
    func socketsPerUser() async throws {
        try await IdentityHost.with(IdentityHost.messaging, configure: { $0.maxSocketsPerUser = 2 }) { chat in
            let ada = try await chat.register("Ada")
            let first = try await chat.socket(ada)
            _ = try await chat.socket(ada)
            let third = TestSocket(port: chat.test.port, token: ada.access)
            #expect(try await third.closed.value == 4429)
            first.close()
            _ = try await first.closed.value
            try await chat.eventually("a slot is free again") {
                let socket = TestSocket(port: chat.test.port, token: ada.access)
                let hello = try? await socket.waitFor("hello", timeout: .seconds(1)) { $0["type"] as? String == "hello" }
                socket.close()
                return hello != nil
            }
        }
    }
}
