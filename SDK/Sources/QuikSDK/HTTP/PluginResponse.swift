import Foundation

/// An HTTP response from a plugin route.
public struct PluginResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Response headers; the host adds `X-Request-Id`.
    public var headers: [String: String]
    /// The body bytes.
    public var body: Data
    /// A body sent as it is read, instead of ``body`` (set `content-length` when known). Since SDK 1.4.
    public var bodyStream: ByteStream? = nil

    /// Creates a response.
    public init(status: Int = 200, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response encoding `value` with snake_case keys.
    public static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> PluginResponse {
        PluginResponse(
            status: status,
            headers: ["content-type": "application/json; charset=utf-8"],
            body: try JSONEncoder.quik.encode(value)
        )
    }

    /// A plain-text response.
    public static func text(_ text: String, status: Int = 200) -> PluginResponse {
        PluginResponse(status: status, headers: ["content-type": "text/plain; charset=utf-8"], body: Data(text.utf8))
    }

    /// A response whose body is sent as `stream` gives it. Since SDK 1.4.
    public static func streaming(_ stream: ByteStream, status: Int = 200, headers: [String: String] = [:]) -> PluginResponse {
        var response = PluginResponse(status: status, headers: headers)
        response.bodyStream = stream
        return response
    }

    /// An empty `204 No Content`.
    public static var noContent: PluginResponse { PluginResponse(status: 204) }
}
