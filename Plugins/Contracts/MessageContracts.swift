/// `message.thread`: a thread's root and replies, if the user may see its channel.
public struct ThreadQuery: Codable, Sendable {
    public var rootId: String
    public var userId: String

    public init(rootId: String, userId: String) {
        self.rootId = rootId
        self.userId = userId
    }
}
