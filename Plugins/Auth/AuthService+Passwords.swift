import Crypto
import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

extension AuthService {

    /// Counts the request and answers at once; the lookup and the mail happen after,
    /// so a known email takes as long to answer as an unknown one.
    func forgotPassword(_ body: EmailBody, client: Client) async throws {
        let email = EmailAddress.folded(body.email)
        let waits = [
            await resetRequests.wait("e:" + email, limit: limits.resetsPerEmail),
            await resetRequests.wait("i:" + client.ip, limit: limits.resetsPerAddress),
        ].compactMap { $0 }
        if let wait = waits.max() {
            throw PluginError(.rateLimited, "too many reset requests; try again later", retryAfterSeconds: wait)
        }
        await resetRequests.record("e:" + email)
        await resetRequests.record("i:" + client.ip)
        guard Checks.isEmail(email) else { return }
        try context.run("password reset mail") { [self] in
            do {
                try await self.mailResetLink(to: email, client: client)
            } catch {
                self.context.logger.warning("reset link not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    private func mailResetLink(to email: String, client: Client) async throws {
        guard let row = try await database.query("SELECT user_id FROM accounts WHERE email = ?", [.text(email)]).first,
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
        let done = try await database.transaction(retryOnDeadlock: true) { transaction -> (userId: String, sessions: [String])? in
            guard let userId = try await consume(token, purpose: "reset", in: transaction) else { return nil }
            let now = Date()
            // Any other reset link for the account dies with this one.
            try await transaction.execute(
                "UPDATE one_time_tokens SET used_at = ? WHERE user_id = ? AND purpose = 'reset' AND used_at IS NULL",
                [.date(now), .text(userId)])
            try await transaction.execute(
                "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE user_id = ?", [.text(hash), .date(now), .text(userId)])
            let sessions = try await revokeAll(userId: userId, reason: "password_reset", in: transaction)
            try await transaction.publish("auth.password_reset", AuthEvent(userId: userId, actor: userId))
            return (userId, sessions)
        }
        guard let done else {
            throw PluginError(.notFound, "this reset token is not valid: it was used already or has expired", details: ["token": "invalid"])
        }
        await endAccess(done.sessions, userId: done.userId, actor: done.userId)
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
        let ended = try await database.transaction { transaction -> [String] in
            try await transaction.execute(
                "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE user_id = ?",
                [.text(hash), .date(Date()), .text(principal.userId)])
            let ended = try await revokeAll(userId: principal.userId, reason: "password_changed", except: principal.sessionId, in: transaction)
            try await transaction.publish("auth.password_changed", AuthEvent(userId: principal.userId, actor: principal.userId))
            return ended
        }
        await endAccess(ended, userId: principal.userId, actor: principal.userId)
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
    func mail(to address: String, subject: String, text: String) async {
        do {
            try await context.sendMail(MailMessage(to: address, subject: subject, text: text))
        } catch {
            context.logger.warning("mail not sent", metadata: ["error": "\(error)"])
        }
    }
}
