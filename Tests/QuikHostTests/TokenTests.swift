import Foundation
import JWTKit
import QuikSDK
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// Access tokens: signed and verified by the host with keys kept in its schema.
@Suite("Access tokens", .timeLimit(.minutes(2)))
struct TokenTests {
    static func service() async throws -> TokenService {
        var configuration = DatabaseConfiguration()
        configuration.url = try await TestDatabase.socket()
        configuration.schemaPrefix = TestDatabase.uniquePrefix()
        let database = HostDatabase(
            configuration: configuration, target: try ConnectionTarget.parse(configuration.url!), hostMetrics: HostMetrics(),
            drainTimeout: .seconds(1), logger: .init(label: "t"))
        try await database.prepare()
        let tokens = TokenService(database: database, logger: .init(label: "t"))
        try await tokens.prepare()
        return tokens
    }

    static func segments(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ segment: String) -> [String: Any] {
        var text = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return (Data(base64Encoded: text).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }) ?? [:]
    }

    @Test("an issued token is an ES256 JWT with a kid, lives at most 15 minutes, and verifies to its principal")
    func issueAndVerify() async throws {
        let tokens = try await Self.service()
        let issued = try await tokens.issue(userId: "u1", sessionId: "s1", roles: ["user"])
        #expect(issued.expiresIn == 900)
        let header = Self.decode(Self.segments(issued.token)[0])
        #expect(header["alg"] as? String == "ES256")
        #expect((header["kid"] as? String)?.isEmpty == false)
        let claims = Self.decode(Self.segments(issued.token)[1])
        #expect(claims["sub"] as? String == "u1")
        #expect((claims["exp"] as? Double ?? 0) - (claims["iat"] as? Double ?? 0) <= 900)
        let principal = await tokens.authenticate(bearer: issued.token)
        // Roles are not taken from the token: HostAccess.admit adds them from RBAC on every request.
        #expect(principal == Principal(userId: "u1", sessionId: "s1", roles: []))
    }

    @Test("alg none, a wrong key, a tampered payload and an expired token are all refused")
    func refusals() async throws {
        let tokens = try await Self.service()
        let good = try await tokens.issue(userId: "u1", sessionId: nil, roles: ["user"])
        let parts = Self.segments(good.token)

        var claims = Self.decode(parts[1])
        claims["roles"] = ["admin"]
        let tampered = [parts[0], Self.base64URL(try JSONSerialization.data(withJSONObject: claims)), parts[2]].joined(separator: ".")
        #expect(await tokens.authenticate(bearer: tampered) == nil)

        let noneHeader = Self.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
        #expect(await tokens.authenticate(bearer: "\(noneHeader).\(parts[1]).") == nil)
        #expect(await tokens.authenticate(bearer: "\(noneHeader).\(parts[1])") == nil)

        let kid = Self.decode(parts[0])["kid"] as? String ?? ""
        let stranger = JWTKeyCollection()
        await stranger.add(ecdsa: ES256PrivateKey(), kid: JWKIdentifier(string: kid))
        let now = Date()
        let forged = try await stranger.sign(
            AccessClaims(
                sub: SubjectClaim(value: "u1"), exp: ExpirationClaim(value: now.addingTimeInterval(600)), iat: IssuedAtClaim(value: now),
                iss: IssuerClaim(value: TokenService.issuer), sid: nil, roles: ["admin"]),
            kid: JWKIdentifier(string: kid))
        #expect(await tokens.authenticate(bearer: forged) == nil)

        let expired = try await tokens.issue(userId: "u1", sessionId: nil, roles: [], lifetime: -5)
        #expect(await tokens.authenticate(bearer: expired.token) == nil)
        #expect(await tokens.authenticate(bearer: "not a token") == nil)
    }

    @Test("after rotation new tokens use the new key, old tokens still verify, and JWKS publishes both")
    func rotation() async throws {
        let tokens = try await Self.service()
        let before = try await tokens.issue(userId: "u1", sessionId: nil, roles: [])
        let oldKid = Self.decode(Self.segments(before.token)[0])["kid"] as? String
        let newKid = try await tokens.rotate()
        let after = try await tokens.issue(userId: "u2", sessionId: nil, roles: [])
        #expect(Self.decode(Self.segments(after.token)[0])["kid"] as? String == newKid)
        #expect(newKid != oldKid)
        #expect(await tokens.authenticate(bearer: before.token)?.userId == "u1")
        #expect(await tokens.authenticate(bearer: after.token)?.userId == "u2")
        let jwks = await tokens.jwks()
        let published = jwks["keys"]?.compactMap { $0["kid"] } ?? []
        #expect(Set(published) == Set([oldKid ?? "", newKid]))
        #expect(jwks["keys"]?.allSatisfy { $0["kty"] == "EC" && $0["crv"] == "P-256" && $0["d"] == nil } == true, "public parts only")
    }

    @Test("the host verifies its own tokens on HTTP and the socket, and serves JWKS")
    func hostUsesTokens() async throws {
        var configuration = try PluginsFile.parse("plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n", file: "t")
        configuration.port = 0
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        let (host, task) = try await TestHost.start(configuration: configuration, authenticator: nil)
        let token = try await host.host.core.runtime.tokens.issue(userId: "alice", sessionId: "s", roles: ["user"]).token
        let whoami = try await host.client.get("/api/v1/echo/whoami", token: token)
        #expect(try whoami.json()["user_id"] as? String == "alice")
        #expect(try await host.client.get("/api/v1/echo/whoami", token: token + "x").status == 401)
        let jwks = try await host.client.get("/api/v1/auth/jwks").json()
        #expect((jwks["keys"] as? [[String: Any]])?.count == 1)
        let socket = TestSocket(port: host.port, token: token)
        let hello = try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
        #expect(hello["user_id"] as? String == "alice")
        await host.host.shutdown()
        try await task.value
    }
}
