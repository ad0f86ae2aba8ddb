import Foundation

/// A message as the index keeps it.
struct IndexedMessage: Sendable {
    var id: String
    var channelId: String
    var authorId: String
    var text: String
    var hasFile: Bool
    var hasLink: Bool
    var createdAt: Date
    /// When this content was written (the edit time, or the creation): an older copy never replaces a newer one.
    var version: Date
}

/// What to look for, with the caller's access already turned into channel ids.
struct EngineQuery: Sendable {
    var query: SearchQuery
    /// Only these channels (never empty: a caller who can read nothing is answered before).
    var channelIds: [String]
    /// Only these authors, when not `nil`.
    var authorIds: [String]?
    /// `[from, before)`.
    var from: Date?
    var before: Date?
    /// Only messages older (smaller ids) than this.
    var cursor: String?
    var limit: Int
}

/// One page of message ids, newest first.
struct EnginePage: Sendable {
    var ids: [String]
    var nextCursor: String?
}

/// The search engine behind the plugin: MariaDB FULLTEXT by default. A deployment
/// that outgrows it implements this for OpenSearch or Elasticsearch; the query
/// language, access rules and highlights stay in the plugin.
protocol SearchEngine: Sendable {
    /// Adds or replaces a message, unless the index holds a newer version or its deletion.
    func upsert(_ message: IndexedMessage) async throws
    /// Removes a message for good: later copies of it are ignored.
    func remove(_ messageId: String) async throws
    /// A page of the messages that match.
    func search(_ query: EngineQuery) async throws -> EnginePage
}
