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

/// `user.lookup`: people by id or by display name (compared without case or accents).
public struct UserLookup: Codable, Sendable {
    public var userIds: [String]
    public var displayNames: [String]

    public init(userIds: [String] = [], displayNames: [String] = []) {
        self.userIds = userIds
        self.displayNames = displayNames
    }
}

/// One person found by `user.lookup`.
public struct UserSummary: Codable, Sendable {
    public var id: String
    public var displayName: String
    /// An IANA zone name; `UTC` when unset.
    public var timezone: String

    public init(id: String, displayName: String, timezone: String) {
        self.id = id
        self.displayName = displayName
        self.timezone = timezone
    }
}

/// The reply of `user.lookup`.
public struct UserLookupReply: Codable, Sendable {
    public var users: [UserSummary]

    public init(users: [UserSummary]) {
        self.users = users
    }
}

/// `user.contacts` (caller: `notifications`): where to write to people.
public struct ContactsQuery: Codable, Sendable {
    public var userIds: [String]

    public init(userIds: [String]) {
        self.userIds = userIds
    }
}

/// One person of `user.contacts`.
public struct Contact: Codable, Sendable {
    public var id: String
    public var email: String
    public var displayName: String
    public var timezone: String

    public init(id: String, email: String, displayName: String, timezone: String) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.timezone = timezone
    }
}

/// The reply of `user.contacts`.
public struct Contacts: Codable, Sendable {
    public var contacts: [Contact]

    public init(contacts: [Contact]) {
        self.contacts = contacts
    }
}
