import Crypto
import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

extension AuthService {

    func accountRow(_ userId: String) async throws -> SQLRow {
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
}
