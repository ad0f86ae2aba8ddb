import Foundation

/// Who a realtime event goes to.
public enum Audience: Sendable, Equatable, Codable {
    /// Every socket of one user.
    case user(String)
    /// Every socket of each of these users.
    case users([String])
    /// Every socket of the members of a named group, such as `channel:<id>`.
    case group(String)
    /// One socket, by its `connection_id`. Since SDK 1.5.
    case connection(String)
}

/// An event pushed to clients as `{"type": "event", "topic", "data", "seq"}`.
public struct RealtimeEvent: Sendable, Equatable {
    /// The topic, such as `message.created`.
    public var topic: String
    /// The `data` member: one JSON value, already encoded.
    public var data: Data

    /// Creates an event from encoded JSON.
    public init(topic: String, data: Data) {
        self.topic = topic
        self.data = data
    }

    /// Creates an event encoding `value` with the contract's encoder.
    public init<T: Encodable>(topic: String, value: T) throws {
        self.init(topic: topic, data: try JSONEncoder.quik.encode(value))
    }
}

/// A frame a client sent, of a type the plugin registered.
public struct ClientFrame: Sendable {
    /// The frame's `type`.
    public var type: String
    /// The frame's `id`, when the client wants an `ack` or `error` back.
    public var id: String?
    /// The whole frame as JSON.
    public var json: Data
    /// The user who owns the socket.
    public var principal: Principal
    /// The socket's connection id.
    public var connectionId: String

    /// Creates a frame (the host does this; tests may too).
    public init(type: String, id: String?, json: Data, principal: Principal, connectionId: String) {
        self.type = type
        self.id = id
        self.json = json
        self.principal = principal
        self.connectionId = connectionId
    }

    /// Decodes the frame into `T` with the contract's decoder; failure is a `bad_request`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder.quik.decode(type, from: json)
        } catch {
            throw PluginError(.badRequest, "frame '\(self.type)' does not have the expected fields")
        }
    }
}

/// Handles a client frame. Returning normally acks a frame that carried an `id`;
/// throwing ``PluginError`` answers it with an `error` frame.
public typealias FrameHandler = @Sendable (ClientFrame) async throws -> Void
