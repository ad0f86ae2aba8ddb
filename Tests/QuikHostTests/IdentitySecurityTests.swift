import Foundation
import JWTKit
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// Tokens, logs and the admin bootstrap, against the real identity plugins.
@Suite("Identity security", .serialized, .timeLimit(.minutes(3)))
struct IdentitySecurityTests {
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test("alg none, a wrong key, a tampered payload and an expired token get 401 from a plugin route and 4401 on the socket")
    func forgedTokens() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let bob = try await identity.register("Bob")
            let parts = ada.access.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            var claims = TokenTests.decode(parts[1])
            claims["sub"] = bob.id
            let tampered = [parts[0], Self.base64URL(try JSONSerialization.data(withJSONObject: claims)), parts[2]].joined(separator: ".")
            let none = Self.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
            let kid = TokenTests.decode(parts[0])["kid"] as? String ?? ""
            let stranger = JWTKeyCollection()
            await stranger.add(ecdsa: ES256PrivateKey(), kid: JWKIdentifier(string: kid))
            let now = Date()
            let wrongKey = try await stranger.sign(
                AccessClaims(
                    sub: SubjectClaim(value: ada.id), exp: ExpirationClaim(value: now.addingTimeInterval(600)), iat: IssuedAtClaim(value: now),
                    iss: IssuerClaim(value: TokenService.issuer), sid: nil, roles: ["admin"]),
                kid: JWKIdentifier(string: kid))
            let expired = try await identity.host.core.runtime.tokens.issue(userId: ada.id, sessionId: nil, roles: [], lifetime: -5).token

            #expect(try await identity.client.get("/api/v1/users/me", token: ada.access).status == 200)
            for (name, token) in [("tampered", tampered), ("alg none", none), ("wrong key", wrongKey), ("expired", expired)] {
                let reply = try await identity.client.get("/api/v1/users/me", token: token)
                #expect(reply.status == 401, "\(name)")
                #expect(reply.errorCode == "unauthorized", "\(name)")
                #expect(try await TestSocket(port: identity.test.port, token: token).closed.value == 4401, "\(name)")
            }
        }
    }

    @Test("no password, token, hash, reset token, TOTP secret or recovery code appears in any log line")
    func noSecretsInLogs() async throws {
        let logs = CapturedLogs()
        var secrets: [String] = []
        try await IdentityHost.with(logs: logs) { identity in
            let client = identity.client
            let ada = try await identity.register("Ada", password: "ada's secret password")
            secrets += [ada.password, ada.access, ada.refresh]
            _ = try await identity.login(ada.email, "a wrong secret password")
            let login = try await identity.login(ada.email, ada.password).json()
            let signedIn = login["access_token"] as? String ?? ""
            secrets += [signedIn, login["refresh_token"] as? String ?? ""]
            let refreshed = try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#).json()
            secrets.append(refreshed["refresh_token"] as? String ?? "")
            _ = try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#)
            // The reuse above ended the first session, its access token included: go on with the second.
            let setup = try await client.post("/api/v1/auth/2fa/setup", token: signedIn).json()
            let secret = setup["secret"] as? String ?? ""
            let enabled = try await client.post(
                "/api/v1/auth/2fa/enable", json: #"{"code":"\#(TOTPCode.code(secret: secret, step: TOTPCode.currentStep))"}"#, token: signedIn
            ).json()
            secrets += [secret] + (enabled["recovery_codes"] as? [String] ?? [])
            let mailed = try identity.mails().count
            _ = try await client.post("/api/v1/auth/password/forgot", json: #"{"email":"\#(ada.email)"}"#)
            try await identity.eventually("the reset mail") { try identity.mails().count > mailed }
            let token = try identity.mails().last?.components(separatedBy: "reset-password?token=").last?.prefix { !$0.isWhitespace } ?? ""
            secrets.append(String(token))
            _ = try await client.post("/api/v1/auth/password/reset", json: #"{"token":"\#(token)","new_password":"the next secret password"}"#)
            secrets.append("the next secret password")
            _ = try await identity.admin()
        }
        let lines = logs.all
        #expect(lines.count > 20, "the logs were captured")
        secrets = secrets.filter { $0.count >= 8 }
        #expect(secrets.count >= 15)
        for line in lines {
            for secret in secrets { #expect(!line.contains(secret), "a secret leaked into: \(line)") }
            #expect(!line.contains("$argon2id$"), "a password hash leaked into: \(line)")
        }
    }

    @Test("quikapp admin create makes a system admin who can sign in and read the audit log; a second one with that email is refused")
    func adminCommand() async throws {
        let yaml = "server:\n  state_dir: \(try Fixtures.temporaryDirectory())\n" + IdentityHost.yaml()
        let path = try await CommandLineTests.write(yaml)
        let email = "boss-\(UUID().uuidString.prefix(6))@example.com"
        let created = try await CommandLineTests.quikapp([
            "admin", "create", "--config", path, "--email", email, "--password", "boss password 1", "--log-level", "critical",
        ])
        #expect(created.status == 0, "\(created.output)")
        #expect(created.output.contains("created system admin"))
        let again = try await CommandLineTests.quikapp([
            "admin", "create", "--config", path, "--email", email, "--password", "boss password 1", "--log-level", "critical",
        ])
        #expect(again.status != 0)
        #expect(again.output.contains("already exists"))
        let weak = try await CommandLineTests.quikapp([
            "admin", "create", "--config", path, "--email", "x@example.com", "--password", "short", "--log-level", "critical",
        ])
        #expect(weak.status != 0)
        #expect(weak.output.contains("password"))

        var configuration = try PluginsFile.load(path: path)
        configuration.port = 0
        let (test, task) = try await TestHost.start(configuration: configuration, authenticator: nil)
        let identity = IdentityHost(test: test)
        let login = try await identity.login(email, "boss password 1")
        #expect(login.status == 200)
        let token = try login.json()["access_token"] as? String
        let audit = try await test.client.get("/api/v1/audit?action=access.role_assigned", token: token)
        #expect(audit.status == 200)
        #expect((try audit.json()["items"] as? [Any])?.count == 1)
        await test.host.shutdown()
        try await task.value
    }
}
