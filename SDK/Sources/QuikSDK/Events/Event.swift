import Foundation

/// An event on the host's event bus.
public struct Event: Sendable, Equatable {
    /// Unique id, so that subscribers can ignore a redelivery.
    public var id: String
    /// Dotted topic, such as `message.created`.
    public var topic: String
    /// The payload, JSON by convention.
    public var payload: Data
    /// The plugin that published it.
    public var source: String
    /// When it was published.
    public var publishedAt: Date

    /// Creates an event (the host does this when a plugin publishes).
    public init(id: String, topic: String, payload: Data, source: String, publishedAt: Date) {
        self.id = id
        self.topic = topic
        self.payload = payload
        self.source = source
        self.publishedAt = publishedAt
    }

    /// Decodes the payload with the contract's decoder.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder.quik.decode(type, from: payload)
    }
}

/// Receives events matching a subscription, one at a time, in publish order per topic.
public typealias EventHandler = @Sendable (Event) async -> Void
