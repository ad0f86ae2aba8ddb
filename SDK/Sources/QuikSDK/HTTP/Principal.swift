/// The authenticated caller of a request or owner of a socket.
public struct Principal: Sendable, Codable, Equatable {
    /// The user id (`sub` of the access token).
    public var userId: String
    /// The session the token belongs to, when known.
    public var sessionId: String?
    /// System roles (`admin`, `user`).
    public var roles: [String]

    /// Creates a principal.
    public init(userId: String, sessionId: String? = nil, roles: [String] = []) {
        self.userId = userId
        self.sessionId = sessionId
        self.roles = roles
    }
}
