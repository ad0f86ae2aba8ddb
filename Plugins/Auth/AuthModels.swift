import Foundation
import QuikPluginKit
import QuikSDK

struct RegisterBody: Decodable {
    var email: String?
    var password: String?
    var displayName: String?
}

struct LoginBody: Decodable {
    var email: String?
    var password: String?
    var totpCode: String?
}

struct RefreshBody: Decodable {
    var refreshToken: String?
}

struct CodeBody: Decodable {
    var code: String?
}

struct EmailBody: Decodable {
    var email: String?
}

struct ResetBody: Decodable {
    var token: String?
    var newPassword: String?
}

struct ChangePasswordBody: Decodable {
    var currentPassword: String?
    var newPassword: String?
}

struct TokenBody: Decodable {
    var token: String?
}

/// The request bodies as the handlers check them, so that a body the schema accepts is not refused with 422.
/// The handlers count characters, the schema code points: its maximums are as strict or stricter, its
/// minimums exact for text without combining marks.
enum AuthSchema {
    /// Some character that trimming keeps (`\s` leaves out U+0085, which trimming removes).
    static let notBlank = #"[^\s\u0085]"#
    static let nonBlank: APISchema = .string(minLength: 1, pattern: notBlank)

    /// What `Checks.isEmail` accepts.
    static let email: APISchema = .string(maxLength: 254, pattern: Checks.emailPattern)

    static let newPassword: APISchema = .string(minLength: AuthService.minimumPassword, maxLength: AuthService.maximumPassword)

    static let register: APISchema = .object(
        ["email": email, "password": newPassword, "display_name": .string(minLength: 1, maxLength: 80, pattern: Checks.notBlankPattern)],
        required: ["email", "password", "display_name"])

    static let login: APISchema = .object(
        [
            "email": nonBlank, "password": .string(minLength: 1),
            "totp_code": APISchema.string.described("A six-digit code or a recovery code; required when two-factor authentication is on"),
        ], required: ["email", "password"])

    static let refresh: APISchema = .object(["refresh_token": nonBlank], required: ["refresh_token"])

    static let enable: APISchema = .object(
        ["code": APISchema.string(pattern: "^[0-9]{6}$").described("The authenticator's current code")], required: ["code"])

    static let disable: APISchema = .object(
        ["code": nonBlank.described("The authenticator's current code or an unused recovery code")], required: ["code"])

    /// Any body is answered 202, whether or not the address has an account.
    /// Anything goes: the answer is 202 whatever is asked, so nothing can be learnt from it.
    static let forgot: APISchema = .object(["email": .string])

    static let reset: APISchema = .object(["token": nonBlank, "new_password": newPassword], required: ["token", "new_password"])

    static let change: APISchema = .object(
        ["current_password": .string(minLength: 1), "new_password": newPassword], required: ["current_password", "new_password"])

    static let token: APISchema = .object(["token": nonBlank], required: ["token"])
}

/// `{id, email, display_name}` as register and login return it.
struct UserSummary: Codable, Sendable {
    var id: String
    var email: String
    var displayName: String
}

/// The token pair of register, login and refresh. This and the views below are `Decodable` only for `APISchema.decoding`.
struct TokenPair: Codable, Sendable {
    var user: UserSummary
    var accessToken: String
    var refreshToken: String
    var expiresIn: Int
    var tokenType = "Bearer"
}

struct SessionView: Codable, Sendable {
    var id: String
    var device: String
    var ip: String
    var createdAt: Date
    var lastUsedAt: Date
    var current: Bool
}

struct TOTPSetup: Codable, Sendable {
    var secret: String
    var otpauthUrl: String
}

struct RecoveryCodes: Codable, Sendable {
    var recoveryCodes: [String]
}

/// The payload of `auth.*` events: who, from where, about whom. Never a secret.
struct AuthEvent: Codable, Sendable {
    var userId: String?
    var actor: String?
    var sessionId: String?
    var email: String?
    var displayName: String?
    var ip: String?
    var device: String?
    var reason: String?
}
