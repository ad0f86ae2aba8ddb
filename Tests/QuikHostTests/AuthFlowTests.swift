import Foundation
import Testing

/// Every row of the contract's Auth table, driven over HTTP against the real auth plugin.
@Suite("Auth plugin", .serialized, .timeLimit(.minutes(3)))
struct AuthFlowTests {
    @Test("register answers 201 with the user and a token pair; a taken email is 409, a weak password or bad email 422")
    func register() async throws {
        try await IdentityHost.with { identity in
            let client = identity.client
            let reply = try await client.post(
                "/api/v1/auth/register", json: #"{"email":"Ada@Example.com","password":"correct horse battery","display_name":"Ada"}"#)
            #expect(reply.status == 201)
            let body = try reply.json()
            let user = body["user"] as? [String: Any]
            #expect(user?["email"] as? String == "ada@example.com")
            #expect(user?["display_name"] as? String == "Ada")
            #expect((user?["id"] as? String)?.isEmpty == false)
            #expect(body["expires_in"] as? Int == 900)
            #expect((body["refresh_token"] as? String)?.isEmpty == false)
            let access = try #require(body["access_token"] as? String)

            let me = try await client.get("/api/v1/users/me", token: access)
            #expect(me.status == 200)
            #expect(try me.json()["email"] as? String == "ada@example.com")

            let taken = try await client.post(
                "/api/v1/auth/register", json: #"{"email":"ADA@example.com","password":"another good one","display_name":"Ada 2"}"#)
            #expect(taken.status == 409)
            #expect(taken.errorCode == "conflict")

            let weak = try await client.post(
                "/api/v1/auth/register", json: #"{"email":"not-an-email","password":"short","display_name":"X"}"#)
            #expect(weak.status == 422)
            let details = (try weak.json()["error"] as? [String: Any])?["details"] as? [String: String]
            #expect(details?["password"] != nil)
            #expect(details?["email"] != nil)

            let mails = try identity.mails()
            #expect(mails.count == 1)
            #expect(mails.first?.contains("To: ada@example.com") == true)
            #expect(mails.first?.contains("/verify-email?token=") == true)
        }
    }

    @Test("login answers 200 with a pair; a wrong password and an unknown email get the same 401")
    func login() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let good = try await identity.login(ada.email, ada.password)
            #expect(good.status == 200)
            #expect(try good.json()["access_token"] is String)
            let wrong = try await identity.login(ada.email, "not the password at all")
            let unknown = try await identity.login("nobody@example.com", "not the password at all")
            #expect(wrong.status == 401)
            #expect(unknown.status == 401)
            #expect(wrong.text == unknown.text)
        }
    }

    @Test("refresh rotates: the new pair works, the old refresh token is refused, and presenting it again revokes the session")
    func refreshRotationAndReuse() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let client = identity.client
            let first = try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#)
            #expect(first.status == 200)
            let rotated = try #require(try first.json()["refresh_token"] as? String)
            #expect(rotated != ada.refresh)
            let access = try #require(try first.json()["access_token"] as? String)
            #expect(try await client.get("/api/v1/users/me", token: access).status == 200)

            let reuse = try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#)
            #expect(reuse.status == 401)
            #expect(((try reuse.json()["error"] as? [String: Any])?["details"] as? [String: String])?["reason"] == "token_reused")
            // The whole family is gone: the token rotated in before the reuse no longer works either.
            let family = try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(rotated)"}"#)
            #expect(family.status == 401)
            // Its access token ends with it, at once.
            #expect(try await client.get("/api/v1/auth/sessions", token: access).status == 401)
        }
    }

    @Test("logout answers 204 and that session's refresh token is dead")
    func logout() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let client = identity.client
            let out = try await client.post("/api/v1/auth/logout", json: #"{"refresh_token":"\#(ada.refresh)"}"#, token: ada.access)
            #expect(out.status == 204)
            #expect(try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#).status == 401)
            #expect(try await client.post("/api/v1/auth/logout", json: #"{"refresh_token":"\#(ada.refresh)"}"#).status == 401)
        }
    }

    @Test("sessions lists device, ip, created and last used; revoking one kills its refresh token; another's session is 404")
    func sessions() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let bob = try await identity.register("Bob")
            let client = identity.client
            let phone = try await identity.login(ada.email, ada.password, headers: ["User-Agent": "QuikPhone/2.0"])
            let phoneRefresh = try #require(try phone.json()["refresh_token"] as? String)
            let listed = try await client.get("/api/v1/auth/sessions", token: ada.access)
            let items = try #require(try listed.json()["items"] as? [[String: Any]])
            #expect(items.count == 2)
            let phoneSession = try #require(items.first { $0["device"] as? String == "QuikPhone/2.0" })
            #expect(phoneSession["ip"] as? String == "127.0.0.1")
            #expect(phoneSession["created_at"] is String)
            #expect(phoneSession["last_used_at"] is String)
            #expect(items.filter { $0["current"] as? Bool == true }.count == 1)
            let id = try #require(phoneSession["id"] as? String)

            #expect(try await client.send("DELETE", "/api/v1/auth/sessions/\(id)", token: bob.access).status == 404)
            #expect(try await client.send("DELETE", "/api/v1/auth/sessions/\(id)", token: ada.access).status == 204)
            #expect(try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(phoneRefresh)"}"#).status == 401)
            let after = try await client.get("/api/v1/auth/sessions", token: ada.access)
            #expect((try after.json()["items"] as? [Any])?.count == 1)
        }
    }

    @Test("2FA: enrol, login needs a code, a code or a recovery code signs in, a recovery code works once, disable")
    func twoFactor() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let client = identity.client
            let setup = try await client.post("/api/v1/auth/2fa/setup", token: ada.access)
            #expect(setup.status == 200)
            let secret = try #require(try setup.json()["secret"] as? String)
            #expect((try setup.json()["otpauth_url"] as? String)?.hasPrefix("otpauth://totp/") == true)

            #expect(try await client.post("/api/v1/auth/2fa/enable", json: #"{"code":"000000"}"#, token: ada.access).status == 403)
            let step = TOTPCode.currentStep
            let enabled = try await client.post(
                "/api/v1/auth/2fa/enable", json: #"{"code":"\#(TOTPCode.code(secret: secret, step: step))"}"#, token: ada.access)
            #expect(enabled.status == 200)
            let codes = try #require(try enabled.json()["recovery_codes"] as? [String])
            #expect(codes.count == 10)
            #expect(Set(codes).count == 10)

            let missing = try await identity.login(ada.email, ada.password)
            #expect(missing.status == 401)
            #expect(((try missing.json()["error"] as? [String: Any])?["details"] as? [String: String])?["reason"] == "totp_required")
            #expect(try await identity.login(ada.email, ada.password, code: "123456").status == 401)
            // The enabling code's step is spent; the next one (within the ±1 window) signs in.
            let withCode = try await identity.login(ada.email, ada.password, code: TOTPCode.code(secret: secret, step: step + 1))
            #expect(withCode.status == 200)
            #expect(try await identity.login(ada.email, ada.password, code: TOTPCode.code(secret: secret, step: step + 1)).status == 401)

            let withRecovery = try await identity.login(ada.email, ada.password, code: codes[0])
            #expect(withRecovery.status == 200)
            #expect(try await identity.login(ada.email, ada.password, code: codes[0]).status == 401)

            #expect(try await client.post("/api/v1/auth/2fa/disable", json: #"{"code":"\#(codes[1])"}"#, token: ada.access).status == 204)
            #expect(try await identity.login(ada.email, ada.password).status == 200)
        }
    }

    @Test("password reset: forgot is always 202; the mailed token resets once, every session ends, the token is refused again")
    func passwordReset() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let client = identity.client
            let before = try identity.mails().count
            #expect(try await client.post("/api/v1/auth/password/forgot", json: #"{"email":"nobody@example.com"}"#).status == 202)
            #expect(try await client.post("/api/v1/auth/password/forgot", json: #"{"email":"\#(ada.email)"}"#).status == 202)
            // The mail goes out after the answer; the unknown email, asked first, sends none.
            try await identity.eventually("the reset mail") { try identity.mails().count == before + 1 }
            try await Task.sleep(for: .milliseconds(200))
            #expect(try identity.mails().count == before + 1)
            let mail = try #require(try identity.mails().last)
            #expect(mail.contains("Subject: Reset your QuikApp password"))
            let token = try #require(mail.components(separatedBy: "reset-password?token=").last?.prefix { !$0.isWhitespace })

            #expect(
                try await client.post("/api/v1/auth/password/reset", json: #"{"token":"\#(token)","new_password":"short"}"#).status == 422)
            let reset = try await client.post(
                "/api/v1/auth/password/reset", json: #"{"token":"\#(token)","new_password":"a brand new password"}"#)
            #expect(reset.status == 204)
            #expect(try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#).status == 401)
            #expect(try await identity.login(ada.email, ada.password).status == 401)
            #expect(try await identity.login(ada.email, "a brand new password").status == 200)
            let again = try await client.post(
                "/api/v1/auth/password/reset", json: #"{"token":"\#(token)","new_password":"yet another password"}"#)
            #expect(again.status == 404)
        }
    }

    @Test("repeated failed logins are throttled with 429 and Retry-After, the same for unknown emails")
    func throttling() async throws {
        try await IdentityHost.with(authSettings: ["max_failures_per_account": "3"]) { identity in
            let ada = try await identity.register("Ada")
            for _ in 0..<3 { #expect(try await identity.login(ada.email, "wrong password!!").status == 401) }
            let locked = try await identity.login(ada.email, ada.password)
            #expect(locked.status == 429)
            #expect(locked.errorCode == "rate_limited")
            #expect(Int(locked.headers["retry-after"] ?? "") ?? 0 > 0)

            for _ in 0..<3 { #expect(try await identity.login("ghost@example.com", "wrong password!!").status == 401) }
            let ghost = try await identity.login("ghost@example.com", "wrong password!!")
            #expect(ghost.status == 429)
            #expect(ghost.text == locked.text)
        }
    }
}
