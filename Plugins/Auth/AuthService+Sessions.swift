import Crypto
import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

extension AuthService {

    func startSession(_ transaction: any SQLTransaction, userId: String, client: Client) async throws -> (
        sessionId: String, refresh: String
    ) {
        let sessionId = IDs.make("S")
        let refresh = "rt_" + Secrets.token()
        let now = Date()
        try await transaction.execute(
            "INSERT INTO sessions (id, user_id, device, ip, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
            [.text(sessionId), .text(userId), .text(client.device), .text(client.ip), .date(now), .date(now)])
        try await transaction.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
            [.text(Self.digest(refresh)), .text(sessionId), .date(now), .date(now.addingTimeInterval(refreshLifetime))])
        return (sessionId, refresh)
    }

    func pair(_ user: UserSummary, _ session: (sessionId: String, refresh: String)) async throws -> TokenPair {
        let access = try await context.issueAccessToken(userId: user.id, sessionId: session.sessionId, roles: [])
        return TokenPair(user: user, accessToken: access.token, refreshToken: session.refresh, expiresIn: access.expiresIn)
    }

    func isDeactivated(_ userId: String) async -> Bool {
        (try? await context.accessControl?.isDeactivated(userId)) ?? false
    }

    func login(_ body: LoginBody, client: Client) async throws -> TokenPair {
        let email = EmailAddress.folded(body.email)
        var validator = Validator()
        validator.check(!email.isEmpty, "email", "is required")
        validator.check(!(body.password ?? "").isEmpty, "password", "is required")
        try validator.finish()
        let password = body.password!
        if let wait = await throttle.retryAfter(account: email, address: client.ip) {
            _ = try? await context.publish("auth.login_throttled", AuthEvent(email: email, ip: client.ip, reason: "too_many_failures"))
            throw PluginError(.rateLimited, "too many failed sign-ins; try again later", retryAfterSeconds: wait)
        }
        let badCredentials = PluginError(.unauthorized, "the email or password is not right")
        guard Checks.isEmail(email), let row = try await database.query(
            "SELECT user_id, email, display_name, password_hash, totp_secret FROM accounts WHERE email = ?", [.text(email)]
        ).first, let stored = row["password_hash"].string, let userId = row["user_id"].string else {
            _ = await hasher.verify(password, against: decoyHash)
            await failed(email: email, userId: nil, client: client, reason: "bad_credentials")
            throw badCredentials
        }
        guard await hasher.verify(password, against: stored) else {
            await failed(email: email, userId: userId, client: client, reason: "bad_credentials")
            throw badCredentials
        }
        if await isDeactivated(userId) {
            await failed(email: email, userId: userId, client: client, reason: "deactivated")
            throw badCredentials
        }
        if let secret = row["totp_secret"].string.flatMap(Base32.decode) {
            guard let code = Checks.trimmed(body.totpCode), !code.isEmpty else {
                throw PluginError(.unauthorized, "a two-factor code is required", details: ["reason": "totp_required"])
            }
            guard try await acceptSecondFactor(code, userId: userId, secret: secret) else {
                await failed(email: email, userId: userId, client: client, reason: "totp_invalid")
                throw PluginError(.unauthorized, "the two-factor code is not right", details: ["reason": "totp_invalid"])
            }
        }
        await throttle.recordSuccess(account: email, address: client.ip)
        if hasher.needsRehash(stored), let fresh = try? await hasher.hash(password) {
            try? await database.execute("UPDATE accounts SET password_hash = ? WHERE user_id = ?", [.text(fresh), .text(userId)])
        }
        let user = UserSummary(id: userId, email: row["email"].string ?? email, displayName: row["display_name"].string ?? "")
        let session = try await database.transaction { transaction in
            let session = try await startSession(transaction, userId: userId, client: client)
            try await transaction.publish(
                "auth.login_succeeded",
                AuthEvent(userId: userId, actor: userId, sessionId: session.sessionId, ip: client.ip, device: client.device))
            return session
        }
        return try await pair(user, session)
    }

    func failed(email: String, userId: String?, client: Client, reason: String) async {
        await throttle.recordFailure(account: email, address: client.ip)
        _ = try? await context.publish(
            "auth.login_failed", AuthEvent(userId: userId, actor: userId, email: email, ip: client.ip, device: client.device, reason: reason))
    }

    /// A TOTP code for a step later than the last one used, or an unused recovery code.
    func acceptSecondFactor(_ code: String, userId: String, secret: [UInt8]) async throws -> Bool {
        let digits = code.filter { !$0.isWhitespace }
        if digits.count == TOTP.digits, digits.allSatisfy(\.isNumber) {
            guard let step = TOTP.matchingStep(digits, secret: secret, at: Date()) else { return false }
            // One statement both checks and records the step, so a code is accepted once even under concurrent sign-ins.
            let outcome = try await database.execute(
                "UPDATE accounts SET totp_last_step = ? WHERE user_id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
                [.int(step), .text(userId), .int(step)])
            return outcome.affectedRows == 1
        }
        let outcome = try await database.execute(
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            [.date(Date()), .text(userId), .text(Self.digest(RecoveryCode.normalize(code)))])
        guard outcome.affectedRows == 1 else { return false }
        _ = try? await context.publish("auth.recovery_code_used", AuthEvent(userId: userId, actor: userId))
        return true
    }

    private enum RefreshOutcome: Sendable {
        case renewed(UserSummary, (sessionId: String, refresh: String))
        case reused(userId: String, sessionId: String)
        case invalid
    }

    private static func refreshToken(in body: RefreshBody) throws -> String {
        guard let token = Checks.trimmed(body.refreshToken), !token.isEmpty else {
            throw PluginError(.validationFailed, "refresh_token is required", details: ["refresh_token": "is required"])
        }
        return token
    }

    /// Locks a mailed token of `purpose` and marks it used; returns its user, or
    /// `nil` when it is unknown, used already or expired.
    func consume(_ token: String, purpose: String, in transaction: any SQLTransaction) async throws -> String? {
        let tokenHash = Self.digest(token)
        guard let row = try await transaction.query(
            "SELECT user_id, expires_at, used_at FROM one_time_tokens WHERE token_hash = ? AND purpose = ? FOR UPDATE",
            [.text(tokenHash), .text(purpose)]
        ).first, let userId = row["user_id"].string, row["used_at"].isNull, let expires = row["expires_at"].date, expires > Date()
        else { return nil }
        try await transaction.execute("UPDATE one_time_tokens SET used_at = ? WHERE token_hash = ?", [.date(Date()), .text(tokenHash)])
        return userId
    }

    func refresh(_ body: RefreshBody, client: Client) async throws -> TokenPair {
        let token = try Self.refreshToken(in: body)
        let invalid = PluginError(.unauthorized, "this refresh token is not valid")
        let outcome = try await database.transaction(retryOnDeadlock: true) { transaction -> RefreshOutcome in
            guard let row = try await transaction.query(
                """
                SELECT r.session_id, r.used_at, r.expires_at, s.user_id, s.revoked_at, a.email, a.display_name
                FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN accounts a ON a.user_id = s.user_id
                WHERE r.token_hash = ? FOR UPDATE
                """, [.text(Self.digest(token))]
            ).first, let sessionId = row["session_id"].string, let userId = row["user_id"].string else { return .invalid }
            let now = Date()
            guard row["revoked_at"].isNull else { return .invalid }
            guard row["used_at"].isNull else {
                // A rotated token came back: someone holds a copy. End the whole session.
                try await transaction.execute(
                    "UPDATE sessions SET revoked_at = ?, revoked_reason = 'token_reuse' WHERE id = ?", [.date(now), .text(sessionId)])
                try await transaction.publish(
                    "auth.token_reuse_detected", AuthEvent(userId: userId, actor: userId, sessionId: sessionId, ip: client.ip, device: client.device))
                return .reused(userId: userId, sessionId: sessionId)
            }
            guard let expires = row["expires_at"].date, expires > now else { return .invalid }
            try await transaction.execute("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", [.date(now), .text(Self.digest(token))])
            let refresh = "rt_" + Secrets.token()
            try await transaction.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                [.text(Self.digest(refresh)), .text(sessionId), .date(now), .date(now.addingTimeInterval(refreshLifetime))])
            try await transaction.execute(
                "UPDATE sessions SET last_used_at = ?, ip = ? WHERE id = ?", [.date(now), .text(client.ip), .text(sessionId)])
            let user = UserSummary(id: userId, email: row["email"].string ?? "", displayName: row["display_name"].string ?? "")
            return .renewed(user, (sessionId, refresh))
        }
        switch outcome {
        case .invalid:
            throw invalid
        case .reused(let userId, let sessionId):
            await endAccess([sessionId], userId: userId, actor: userId)
            throw PluginError(
                .unauthorized, "this refresh token was already used; its session has been revoked", details: ["reason": "token_reused"])
        case .renewed(let user, let session):
            guard !(await isDeactivated(user.id)) else { throw invalid }
            return try await pair(user, session)
        }
    }

    func logout(_ body: RefreshBody, principal: Principal) async throws {
        let token = try Self.refreshToken(in: body)
        let ended = try await database.transaction { transaction -> String? in
            let rows = try await transaction.query(
                """
                SELECT s.id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
                WHERE r.token_hash = ? AND s.user_id = ? AND s.revoked_at IS NULL FOR UPDATE
                """, [.text(Self.digest(token)), .text(principal.userId)])
            guard let sessionId = rows.first?["id"].string else { return nil }
            try await transaction.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ?", [.date(Date()), .text(sessionId)])
            try await transaction.publish("auth.logout", AuthEvent(userId: principal.userId, actor: principal.userId, sessionId: sessionId))
            return sessionId
        }
        if let ended { await endAccess([ended], userId: principal.userId, actor: principal.userId) }
    }

    func sessions(of principal: Principal) async throws -> [SessionView] {
        try await database.query(
            """
            SELECT id, device, ip, created_at, last_used_at FROM sessions
            WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 200
            """, [.text(principal.userId)]
        ).map { row in
            let id = row["id"].string ?? ""
            return SessionView(
                id: id, device: row["device"].string ?? "", ip: row["ip"].string ?? "", createdAt: row["created_at"].date ?? Date(),
                lastUsedAt: row["last_used_at"].date ?? Date(), current: id == principal.sessionId)
        }
    }

    func revokeSession(_ sessionId: String, principal: Principal) async throws {
        let found = try await database.transaction { transaction -> Bool in
            let rows = try await transaction.query(
                "SELECT revoked_at FROM sessions WHERE id = ? AND user_id = ? FOR UPDATE", [.text(sessionId), .text(principal.userId)])
            guard let row = rows.first else { return false }
            if row["revoked_at"].isNull {
                try await transaction.execute(
                    "UPDATE sessions SET revoked_at = ?, revoked_reason = 'revoked' WHERE id = ?", [.date(Date()), .text(sessionId)])
                try await transaction.publish(
                    "auth.session_revoked", AuthEvent(userId: principal.userId, actor: principal.userId, sessionId: sessionId))
            }
            return true
        }
        guard found else { throw PluginError(.notFound, "no such session") }
        await endAccess([sessionId], userId: principal.userId, actor: principal.userId)
    }

    /// Has the host refuse the sessions' access tokens at once, rather than when they
    /// expire. Their refresh tokens are dead already; a failure here is logged.
    func endAccess(_ sessionIds: [String], userId: String, actor: String?) async {
        guard !sessionIds.isEmpty, let access = context.accessControl else { return }
        do {
            try await access.revokeSessions(sessionIds, userId: userId, actor: actor)
        } catch {
            context.logger.error("sessions revoked, but their access tokens live on until they expire", metadata: ["error": "\(error)"])
        }
    }

    /// Ends every live session of a user (deactivation, password reset) and returns them,
    /// for ``endAccess(_:userId:actor:)`` once the transaction commits.
    @discardableResult
    func revokeAll(userId: String, reason: String, except keep: String? = nil, in transaction: any SQLTransaction) async throws -> [String] {
        let live = try await transaction.query(
            "SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND id <> ? FOR UPDATE", [.text(userId), .text(keep ?? "")]
        ).compactMap { $0["id"].string }
        try await transaction.execute(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ?",
            [.date(Date()), .text(reason), .text(userId), .text(keep ?? "")])
        return live
    }
}
