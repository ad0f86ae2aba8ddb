import Foundation

/// An HTTP request as a plugin sees it: plain values, already authenticated.
public struct PluginRequest: Sendable {
    /// The HTTP method.
    public var method: RouteMethod
    /// The full path, such as `/api/v1/messages/42`.
    public var path: String
    /// Values of the `{name}` segments of the matched route.
    public var pathParameters: [String: String]
    /// Query items in order; a name may repeat.
    public var queryItems: [(name: String, value: String)]
    /// Request headers, names lower-cased; repeated headers are joined with `, `.
    public var headers: [String: String]
    /// The body, already collected within the host's size limit.
    public var body: Data
    /// The request id echoed in `X-Request-Id`.
    public var requestId: String
    /// Who is calling, when the request carried a valid token.
    public var principal: Principal?
    /// The peer's IP address as the host saw it. Since SDK 1.3.
    public var remoteAddress: String? = nil
    /// The body, read as it arrives, on a route with ``RouteOptions/streamedBodyLimit``
    /// (``body`` is then empty); `nil` elsewhere. Since SDK 1.4.
    public var bodyStream: ByteStream? = nil

    /// Creates a request (the host does this; tests may too).
    public init(
        method: RouteMethod,
        path: String,
        pathParameters: [String: String] = [:],
        queryItems: [(name: String, value: String)] = [],
        headers: [String: String] = [:],
        body: Data = Data(),
        requestId: String,
        principal: Principal? = nil
    ) {
        self.method = method
        self.path = path
        self.pathParameters = pathParameters
        self.queryItems = queryItems
        self.headers = headers
        self.body = body
        self.requestId = requestId
        self.principal = principal
    }

    /// The first query value named `name`.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// The path parameter `name`; throws `bad_request` when the route has none.
    public func parameter(_ name: String) throws -> String {
        guard let value = pathParameters[name] else {
            throw PluginError(.badRequest, "missing path parameter '\(name)'")
        }
        return value
    }

    /// Decodes the JSON body: a body sent as anything but `application/json` (or a
    /// `+json` type) is `unsupported_media_type`; one that does not decode is a `bad_request`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if !body.isEmpty {
            let mediaType = (headers["content-type"] ?? "").split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
            guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
                throw PluginError(
                    .unsupportedMediaType, "send the body as application/json", details: ["content-type": mediaType.isEmpty ? "missing" : mediaType])
            }
        }
        do {
            return try JSONDecoder.quik.decode(type, from: body)
        } catch {
            throw PluginError(.badRequest, "request body is not valid JSON for this call")
        }
    }

    /// The caller, or an `unauthorized` error when the request is anonymous.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw PluginError(.unauthorized, "authentication required") }
        return principal
    }
}
