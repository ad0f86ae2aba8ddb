import Foundation

/// `auth.create_user` (callers: the host, `admin`): an account without a session.
public struct CreateUserRequest: Codable, Sendable {
    public var email: String
    public var password: String
    public var displayName: String

    public init(email: String, password: String, displayName: String) {
        self.email = email
        self.password = password
        self.displayName = displayName
    }
}

/// `auth.account`: one account's public facts.
public struct AccountRequest: Codable, Sendable {
    public var userId: String

    public init(userId: String) {
        self.userId = userId
    }
}

/// The reply of `auth.account` and `auth.create_user`.
public struct AccountReply: Codable, Sendable {
    public var id: String
    public var email: String
    public var displayName: String
    public var createdAt: Date?

    public init(id: String, email: String, displayName: String, createdAt: Date?) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.createdAt = createdAt
    }
}
