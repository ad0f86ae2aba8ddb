/// `user.list` (caller: `admin`): profiles by name or email prefix, paged by id.
public struct UserListRequest: Codable, Sendable {
    public var query: String?
    public var limit: Int
    public var cursor: String?

    public init(query: String?, limit: Int, cursor: String?) {
        self.query = query
        self.limit = limit
        self.cursor = cursor
    }
}

/// `user.set_deactivated` (caller: `admin`).
public struct DeactivationRequest: Codable, Sendable {
    public var userId: String
    public var deactivated: Bool
    public var actor: String?

    public init(userId: String, deactivated: Bool, actor: String?) {
        self.userId = userId
        self.deactivated = deactivated
        self.actor = actor
    }
}
