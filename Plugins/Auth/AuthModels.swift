import Foundation

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

/// `{id, email, display_name}` as register and login return it.
struct UserSummary: Codable, Sendable {
    var id: String
    var email: String
    var displayName: String
}

/// The token pair of register, login and refresh.
struct TokenPair: Encodable, Sendable {
    var user: UserSummary
    var accessToken: String
    var refreshToken: String
    var expiresIn: Int
    var tokenType = "Bearer"
}

struct SessionView: Encodable, Sendable {
    var id: String
    var device: String
    var ip: String
    var createdAt: Date
    var lastUsedAt: Date
    var current: Bool
}

struct TOTPSetup: Encodable, Sendable {
    var secret: String
    var otpauthUrl: String
}

struct RecoveryCodes: Encodable, Sendable {
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
