import Crypto
import Foundation
import JWTKit
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import Synchronization

/// Access tokens: ES256 JWTs with a `kid`, signed and verified by the host alone.
///
/// Signing keys live in the host's schema. The first start makes one; rotation
/// makes a new active key and retires the old one, which keeps verifying until
/// every token it signed has expired. Verification is the host's
/// ``Authenticator`` for HTTP and the realtime socket alike.
package final class TokenService: Authenticator, Sendable {
    package static let issuer = "quikapp"
    /// The longest an access token lives, in seconds (15 minutes).
    package static let maximumLifetime: TimeInterval = 900

    private struct Keys: Sendable {
        var collection = JWTKeyCollection()
        var active: String?
        var published: [[String: String]] = []
        var loadedAt: ContinuousClock.Instant?
    }

    private let database: HostDatabase
    private let logger: Logger
    private let keys = Mutex(Keys())
    /// Tokens already verified, until they expire: a client sends the same token
    /// with every request for up to 15 minutes, and an ES256 check costs far more
    /// than a lookup. Only good tokens are kept; standing (deactivation, roles) is
    /// checked on every request regardless, by ``HostAccess``.
    private let verified = Mutex<[String: (principal: Principal, expires: Date)]>([:])
    package static let verifiedCacheLimit = 10_000

    package init(database: HostDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    private var table: String { Identifier.quote(database.configuration.hostSchema) + ".signing_keys" }

    /// Creates the key table, loads the keys and makes a first key when there is none.
    package func prepare() async throws {
        try await database.admin.withConnection { connection in
            _ = try await connection.perform(
                """
                CREATE TABLE IF NOT EXISTS \(table) (
                  kid VARCHAR(64) NOT NULL PRIMARY KEY,
                  private_pem TEXT NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  retired_at DATETIME(3) NULL
                )
                """, [])
        }
        try await reload()
        if keys.withLock({ $0.active == nil }) { try await rotate() }
    }

    /// Makes a new active key; the previous one verifies until its tokens have expired.
    @discardableResult
    package func rotate() async throws -> String {
        let key = ES256PrivateKey()
        let kid = "k" + EventID.make()
        try await database.admin.withConnection { connection in
            _ = try await connection.perform("START TRANSACTION", [])
            do {
                _ = try await connection.perform("UPDATE \(table) SET retired_at = ? WHERE retired_at IS NULL", [.date(Date())])
                _ = try await connection.perform(
                    "INSERT INTO \(table) (kid, private_pem, created_at) VALUES (?, ?, ?)",
                    [.text(kid), .text(key.pemRepresentation), .date(Date())])
                _ = try await connection.perform("COMMIT", [])
            } catch {
                _ = try? await connection.perform("ROLLBACK", [])
                throw error
            }
        }
        logger.info("signing key rotated", metadata: ["kid": "\(kid)"])
        try await reload()
        return kid
    }

    /// Reads the keys that still verify: the active one and those retired less than a token lifetime ago.
    package func reload() async throws {
        let cutoff = Date().addingTimeInterval(-Self.maximumLifetime)
        let rows = try await database.admin.withConnection { connection in
            try await connection.perform(
                "SELECT kid, private_pem, retired_at FROM \(table) WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at",
                [.date(cutoff)]
            ).0
        }
        var fresh = Keys()
        for row in rows {
            guard let kid = row["kid"].string, let pem = row["private_pem"].string else { continue }
            let key = try ES256PrivateKey(pem: pem)
            await fresh.collection.add(ecdsa: key, kid: JWKIdentifier(string: kid))
            if row["retired_at"].isNull { fresh.active = kid }
            if let (x, y) = key.publicKey.parameters {
                fresh.published.append(["kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": x, "y": y])
            }
        }
        fresh.loadedAt = ContinuousClock.now
        keys.withLock { $0 = fresh }
    }

    /// How long loaded keys are trusted before they are read again, so that a key
    /// rotated by another process (`quikapp keys rotate`, another node) is used here too.
    package static let refreshInterval: Duration = .seconds(30)

    private func refreshIfStale() async {
        let stale = keys.withLock { $0.loadedAt.map { ContinuousClock.now - $0 > Self.refreshInterval } ?? true }
        if stale {
            do {
                try await reload()
            } catch {
                logger.warning("signing keys could not be reloaded; using the loaded ones", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Signs an access token for a user, valid for `lifetime` (at most 15 minutes).
    package func issue(userId: String, sessionId: String?, roles: [String], lifetime: TimeInterval = maximumLifetime) async throws -> AccessToken {
        await refreshIfStale()
        let (collection, active) = keys.withLock { ($0.collection, $0.active) }
        guard let active else { throw PluginError(.unavailable, "no signing key is loaded") }
        let now = Date()
        let seconds = min(lifetime, Self.maximumLifetime)
        let claims = AccessClaims(
            sub: SubjectClaim(value: userId), exp: ExpirationClaim(value: now.addingTimeInterval(seconds)),
            iat: IssuedAtClaim(value: now), iss: IssuerClaim(value: Self.issuer), sid: sessionId, roles: roles)
        let token = ES256Signature.canonical(try await collection.sign(claims, kid: JWKIdentifier(string: active)))
        return AccessToken(token: token, expiresIn: Int(seconds))
    }

    /// The principal a token stands for, or `nil` for any token that is not one
    /// of ours, unexpired and intact (`alg: none`, a wrong key or a tampered payload included).
    package func authenticate(bearer token: String) async -> Principal? {
        if let principal = await verify(token) { return principal }
        // A key made by another process (`quikapp keys rotate`) is picked up at most every 5 s.
        let stale = keys.withLock { $0.loadedAt.map { ContinuousClock.now - $0 > .seconds(5) } ?? true }
        guard stale, (try? await reload()) != nil else { return nil }
        return await verify(token)
    }

    private func verify(_ token: String) async -> Principal? {
        let now = Date()
        if let hit = verified.withLock({ $0[token] }) {
            if hit.expires > now { return hit.principal }
            _ = verified.withLock { $0.removeValue(forKey: token) }
        }
        let collection = keys.withLock { $0.collection }
        guard ES256Signature.isCanonical(token), let claims = try? await collection.verify(token, as: AccessClaims.self) else { return nil }
        // Roles come from RBAC on every request (HostAccess.admit), never from a token up to 15 minutes old.
        let principal = Principal(userId: claims.sub.value, sessionId: claims.sid, roles: [])
        verified.withLock { cache in
            if cache.count >= Self.verifiedCacheLimit { cache = cache.filter { $0.value.expires > now } }
            if cache.count >= Self.verifiedCacheLimit { cache.removeAll() }
            cache[token] = (principal, claims.exp.value)
        }
        return principal
    }

    /// `{"keys": [...]}`: the public keys that verify current tokens.
    package func jwks() async -> [String: [[String: String]]] {
        await refreshIfStale()
        return ["keys": keys.withLock { $0.published }]
    }
}
