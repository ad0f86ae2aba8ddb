import Crypto
import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// Who is signing in, as far as the server can tell.
struct Client: Sendable {
    var ip: String
    var device: String

    init(_ request: PluginRequest) {
        ip = request.remoteAddress ?? "unknown"
        device = String((request.headers["user-agent"] ?? "unknown").prefix(200))
    }

    init(ip: String, device: String) {
        self.ip = ip
        self.device = device
    }
}

/// Accounts, passwords, sessions with rotating refresh tokens, two-factor codes and resets.
final class AuthService: Sendable {
    static let minimumPassword = 10
    static let maximumPassword = 1024
    static let resetLifetime: TimeInterval = 3600
    static let verifyLifetime: TimeInterval = 7 * 86400
    static let recoveryCodeCount = 10

    let context: any PluginContext
    let database: any PluginDatabase
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    let publicURL: String
    let refreshLifetime: TimeInterval
    /// A hash of a random password that unknown emails are checked against, so
    /// that they take as long to refuse as a wrong password.
    let decoyHash: String

    init(
        context: any PluginContext, database: any PluginDatabase, hasher: PasswordHasher, throttle: LoginThrottle, publicURL: String,
        refreshLifetime: TimeInterval, decoyHash: String
    ) {
        self.context = context
        self.database = database
        self.hasher = hasher
        self.throttle = throttle
        self.publicURL = publicURL
        self.refreshLifetime = refreshLifetime
        self.decoyHash = decoyHash
    }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func normalizedEmail(_ email: String?) -> String {
        (email ?? "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    private func checkNewPassword(_ password: String?, field: String, into validator: inout Validator) {
        let count = password?.count ?? 0
        validator.check(password != nil, field, "is required")
        validator.check(count >= Self.minimumPassword, field, "must be at least \(Self.minimumPassword) characters")
        validator.check(count <= Self.maximumPassword, field, "must be at most \(Self.maximumPassword) characters")
    }

    // MARK: Accounts

    /// Creates an account; `session` also signs it in.
    func createAccount(
        email rawEmail: String?, password: String?, displayName rawName: String?, session client: Client?
    ) async throws -> (UserSummary, (sessionId: String, refresh: String)?) {
        let email = Self.normalizedEmail(rawEmail)
        let displayName = Checks.trimmed(rawName) ?? ""
        var validator = Validator()
        validator.check(Checks.isEmail(email), "email", "is not a valid email address")
        checkNewPassword(password, field: "password", into: &validator)
        validator.check(!displayName.isEmpty, "display_name", "is required")
        validator.check(displayName.count <= 80, "display_name", "must be at most 80 characters")
        try validator.finish()

        let hash = try await hasher.hash(password!)
        let user = UserSummary(id: IDs.make("U"), email: email, displayName: displayName)
        let verifyToken = Secrets.token()
        let now = Date()
        do {
            let session = try await database.transaction { transaction -> (sessionId: String, refresh: String)? in
                try await transaction.execute(
                    """
                    INSERT INTO accounts (user_id, email, password_hash, display_name, created_at, password_changed_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, [.text(user.id), .text(email), .text(hash), .text(displayName), .date(now), .date(now)])
                try await transaction.execute(
                    "INSERT INTO one_time_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES (?, ?, 'verify', ?, ?)",
                    [.text(Self.digest(verifyToken)), .text(user.id), .date(now), .date(now.addingTimeInterval(Self.verifyLifetime))])
                try await transaction.publish(
                    "auth.user_registered", AuthEvent(userId: user.id, actor: user.id, email: email, displayName: displayName, ip: client?.ip))
                guard let client else { return nil }
                return try await startSession(transaction, userId: user.id, client: client)
            }
            await mail(
                to: email, subject: "Confirm your QuikApp email address",
                text: "Welcome to QuikApp, \(displayName).\n\nConfirm your address by opening:\n\(publicURL)/verify-email?token=\(verifyToken)\n")
            return (user, session)
        } catch let error as DatabaseError where error.kind == .duplicateKey {
            throw PluginError(.conflict, "an account with this email already exists", details: ["email": "taken"])
        }
    }

    func register(_ body: RegisterBody, client: Client) async throws -> TokenPair {
        let (user, session) = try await createAccount(
            email: body.email, password: body.password, displayName: body.displayName, session: client)
        return try await pair(user, session!)
    }

    func account(_ userId: String) async throws -> AccountReply {
        guard let row = try await database.query(
            "SELECT user_id, email, display_name, created_at FROM accounts WHERE user_id = ?", [.text(userId)]
        ).first else { throw PluginError(.notFound, "no such user") }
        return AccountReply(
            id: row["user_id"].string ?? userId, email: row["email"].string ?? "", displayName: row["display_name"].string ?? "",
            createdAt: row["created_at"].date)
    }

    // MARK: Sessions

    private func startSession(_ transaction: any SQLTransaction, userId: String, client: Client) async throws -> (
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

    private func pair(_ user: UserSummary, _ session: (sessionId: String, refresh: String)) async throws -> TokenPair {
        let access = try await context.issueAccessToken(userId: user.id, sessionId: session.sessionId, roles: [])
        return TokenPair(user: user, accessToken: access.token, refreshToken: session.refresh, expiresIn: access.expiresIn)
    }

    private func isDeactivated(_ userId: String) async -> Bool {
        (try? await context.accessControl?.isDeactivated(userId)) ?? false
    }

    func login(_ body: LoginBody, client: Client) async throws -> TokenPair {
        let email = Self.normalizedEmail(body.email)
        var validator = Validator()
        validator.check(!email.isEmpty, "email", "is required")
        validator.check(!(body.password ?? "").isEmpty, "password", "is required")
        try validator.finish()
        let password = body.password!
        if let wait = await throttle.retryAfter(account: email, address: client.ip) {
            try? await context.publish("auth.login_throttled", AuthEvent(email: email, ip: client.ip, reason: "too_many_failures"))
            throw PluginError(.rateLimited, "too many failed sign-ins; try again later", retryAfterSeconds: wait)
        }
        let badCredentials = PluginError(.unauthorized, "the email or password is not right")
        guard let row = try await database.query(
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
        await throttle.recordSuccess(account: email)
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

    private func failed(email: String, userId: String?, client: Client, reason: String) async {
        await throttle.recordFailure(account: email, address: client.ip)
        try? await context.publish(
            "auth.login_failed", AuthEvent(userId: userId, actor: userId, email: email, ip: client.ip, device: client.device, reason: reason))
    }

    /// A TOTP code for a step later than the last one used, or an unused recovery code.
    private func acceptSecondFactor(_ code: String, userId: String, secret: [UInt8]) async throws -> Bool {
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
        try? await context.publish("auth.recovery_code_used", AuthEvent(userId: userId, actor: userId))
        return true
    }

    private enum RefreshOutcome: Sendable {
        case renewed(UserSummary, (sessionId: String, refresh: String))
        case reused
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
    private func consume(_ token: String, purpose: String, in transaction: any SQLTransaction) async throws -> String? {
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
                return .reused
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
        case .reused:
            throw PluginError(
                .unauthorized, "this refresh token was already used; its session has been revoked", details: ["reason": "token_reused"])
        case .renewed(let user, let session):
            guard !(await isDeactivated(user.id)) else { throw invalid }
            return try await pair(user, session)
        }
    }

    func logout(_ body: RefreshBody, principal: Principal) async throws {
        let token = try Self.refreshToken(in: body)
        try await database.transaction { transaction in
            let rows = try await transaction.query(
                """
                SELECT s.id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
                WHERE r.token_hash = ? AND s.user_id = ? AND s.revoked_at IS NULL FOR UPDATE
                """, [.text(Self.digest(token)), .text(principal.userId)])
            guard let sessionId = rows.first?["id"].string else { return }
            try await transaction.execute(
                "UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ?", [.date(Date()), .text(sessionId)])
            try await transaction.publish("auth.logout", AuthEvent(userId: principal.userId, actor: principal.userId, sessionId: sessionId))
        }
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
    }

    /// Ends every live session of a user (deactivation, password reset).
    func revokeAll(userId: String, reason: String, except keep: String? = nil, in transaction: any SQLTransaction) async throws {
        try await transaction.execute(
            "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ?",
            [.date(Date()), .text(reason), .text(userId), .text(keep ?? "")])
    }

    // MARK: Two-factor

    private func accountRow(_ userId: String) async throws -> SQLRow {
        guard let row = try await database.query(
            "SELECT user_id, email, totp_secret, totp_pending FROM accounts WHERE user_id = ?", [.text(userId)]
        ).first else { throw PluginError(.notFound, "no such account") }
        return row
    }

    func setupTOTP(_ principal: Principal) async throws -> TOTPSetup {
        let row = try await accountRow(principal.userId)
        guard row["totp_secret"].isNull else { throw PluginError(.conflict, "two-factor authentication is already on") }
        let secret = Base32.encode(Secrets.bytes(20))
        try await database.execute("UPDATE accounts SET totp_pending = ? WHERE user_id = ?", [.text(secret), .text(principal.userId)])
        let label = ("QuikApp:" + (row["email"].string ?? principal.userId))
            .addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#&="))) ?? "QuikApp"
        return TOTPSetup(
            secret: secret, otpauthUrl: "otpauth://totp/\(label)?secret=\(secret)&issuer=QuikApp&algorithm=SHA1&digits=6&period=30")
    }

    func enableTOTP(_ body: CodeBody, principal: Principal) async throws -> RecoveryCodes {
        let row = try await accountRow(principal.userId)
        guard row["totp_secret"].isNull else { throw PluginError(.conflict, "two-factor authentication is already on") }
        guard let pending = row["totp_pending"].string, let secret = Base32.decode(pending) else {
            throw PluginError(.conflict, "start with POST /api/v1/auth/2fa/setup")
        }
        guard let code = Checks.trimmed(body.code), let step = TOTP.matchingStep(code, secret: secret, at: Date()) else {
            throw PluginError(.forbidden, "the code does not match; check the device's clock", details: ["code": "does not match"])
        }
        let codes = (0..<Self.recoveryCodeCount).map { _ in RecoveryCode.make() }
        try await database.transaction { transaction in
            try await transaction.execute(
                "UPDATE accounts SET totp_secret = ?, totp_pending = NULL, totp_last_step = ? WHERE user_id = ?",
                [.text(pending), .int(step), .text(principal.userId)])
            try await transaction.execute("DELETE FROM recovery_codes WHERE user_id = ?", [.text(principal.userId)])
            for code in codes {
                try await transaction.execute(
                    "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
                    [.text(principal.userId), .text(Self.digest(RecoveryCode.normalize(code)))])
            }
            try await transaction.publish("auth.2fa_enabled", AuthEvent(userId: principal.userId, actor: principal.userId))
        }
        return RecoveryCodes(recoveryCodes: codes)
    }

    func disableTOTP(_ body: CodeBody, principal: Principal) async throws {
        let row = try await accountRow(principal.userId)
        guard let secret = row["totp_secret"].string.flatMap(Base32.decode) else {
            throw PluginError(.conflict, "two-factor authentication is not on")
        }
        guard let code = Checks.trimmed(body.code), !code.isEmpty,
            try await acceptSecondFactor(code, userId: principal.userId, secret: secret)
        else {
            throw PluginError(.forbidden, "the code does not match", details: ["code": "does not match"])
        }
        try await database.transaction { transaction in
            try await transaction.execute(
                "UPDATE accounts SET totp_secret = NULL, totp_pending = NULL WHERE user_id = ?", [.text(principal.userId)])
            try await transaction.execute("DELETE FROM recovery_codes WHERE user_id = ?", [.text(principal.userId)])
            try await transaction.publish("auth.2fa_disabled", AuthEvent(userId: principal.userId, actor: principal.userId))
        }
    }

    // MARK: Passwords and email

    func forgotPassword(_ body: EmailBody, client: Client) async throws {
        let email = Self.normalizedEmail(body.email)
        guard Checks.isEmail(email),
            let row = try await database.query("SELECT user_id FROM accounts WHERE email = ?", [.text(email)]).first,
            let userId = row["user_id"].string, !(await isDeactivated(userId))
        else { return }
        let token = Secrets.token()
        let now = Date()
        try await database.transaction { transaction in
            try await transaction.execute(
                "INSERT INTO one_time_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES (?, ?, 'reset', ?, ?)",
                [.text(Self.digest(token)), .text(userId), .date(now), .date(now.addingTimeInterval(Self.resetLifetime))])
            try await transaction.publish("auth.password_reset_requested", AuthEvent(userId: userId, actor: userId, ip: client.ip))
        }
        await mail(
            to: email, subject: "Reset your QuikApp password",
            text: """
                Someone asked to reset the password of this QuikApp account. If it was you, open this link within an hour:
                \(publicURL)/reset-password?token=\(token)

                If it was not you, ignore this message; your password stays as it is.
                """)
    }

    func resetPassword(_ body: ResetBody) async throws {
        var validator = Validator()
        validator.check(!(Checks.trimmed(body.token) ?? "").isEmpty, "token", "is required")
        checkNewPassword(body.newPassword, field: "new_password", into: &validator)
        try validator.finish()
        let hash = try await hasher.hash(body.newPassword!)
        let token = Checks.trimmed(body.token)!
        let done = try await database.transaction(retryOnDeadlock: true) { transaction -> Bool in
            guard let userId = try await consume(token, purpose: "reset", in: transaction) else { return false }
            let now = Date()
            // Any other reset link for the account dies with this one.
            try await transaction.execute(
                "UPDATE one_time_tokens SET used_at = ? WHERE user_id = ? AND purpose = 'reset' AND used_at IS NULL",
                [.date(now), .text(userId)])
            try await transaction.execute(
                "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE user_id = ?", [.text(hash), .date(now), .text(userId)])
            try await revokeAll(userId: userId, reason: "password_reset", in: transaction)
            try await transaction.publish("auth.password_reset", AuthEvent(userId: userId, actor: userId))
            return true
        }
        guard done else {
            throw PluginError(.notFound, "this reset token is not valid: it was used already or has expired", details: ["token": "invalid"])
        }
    }

    func changePassword(_ body: ChangePasswordBody, principal: Principal) async throws {
        var validator = Validator()
        validator.check(!(body.currentPassword ?? "").isEmpty, "current_password", "is required")
        checkNewPassword(body.newPassword, field: "new_password", into: &validator)
        try validator.finish()
        guard let stored = try await database.query(
            "SELECT password_hash FROM accounts WHERE user_id = ?", [.text(principal.userId)]
        ).first?["password_hash"].string, await hasher.verify(body.currentPassword!, against: stored) else {
            throw PluginError(.forbidden, "the current password is not right", details: ["current_password": "does not match"])
        }
        let hash = try await hasher.hash(body.newPassword!)
        try await database.transaction { transaction in
            try await transaction.execute(
                "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE user_id = ?",
                [.text(hash), .date(Date()), .text(principal.userId)])
            try await revokeAll(userId: principal.userId, reason: "password_changed", except: principal.sessionId, in: transaction)
            try await transaction.publish("auth.password_changed", AuthEvent(userId: principal.userId, actor: principal.userId))
        }
    }

    func verifyEmail(_ body: TokenBody) async throws {
        guard let token = Checks.trimmed(body.token), !token.isEmpty else {
            throw PluginError(.validationFailed, "token is required", details: ["token": "is required"])
        }
        let done = try await database.transaction { transaction -> Bool in
            guard let userId = try await consume(token, purpose: "verify", in: transaction) else { return false }
            try await transaction.execute("UPDATE accounts SET email_verified_at = ? WHERE user_id = ?", [.date(Date()), .text(userId)])
            try await transaction.publish("auth.email_verified", AuthEvent(userId: userId, actor: userId))
            return true
        }
        guard done else { throw PluginError(.notFound, "this verification token is not valid", details: ["token": "invalid"]) }
    }

    /// Mail is best effort: a mailer failure is logged, never shown (it would tell whether an email exists).
    private func mail(to address: String, subject: String, text: String) async {
        do {
            try await context.sendMail(MailMessage(to: address, subject: subject, text: text))
        } catch {
            context.logger.warning("mail not sent", metadata: ["error": "\(error)"])
        }
    }
}

/// Recovery codes: 16 base32 characters in four groups, single use, stored hashed.
enum RecoveryCode {
    static func make() -> String {
        let text = Base32.encode(Secrets.bytes(10))
        return stride(from: 0, to: 16, by: 4).map { offset in
            String(text.dropFirst(offset).prefix(4))
        }.joined(separator: "-")
    }

    /// Upper-case, without dashes or spaces, as users type them back.
    static func normalize(_ code: String) -> String {
        code.uppercased().filter { $0 != "-" && !$0.isWhitespace }
    }
}
