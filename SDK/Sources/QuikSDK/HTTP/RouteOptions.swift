/// How the host treats a route.
public struct RouteOptions: Sendable {
    /// Whether anonymous callers are refused with 401 before the handler runs. Default `true`.
    public var requiresAuthentication: Bool
    /// One line for the OpenAPI document.
    public var summary: String
    /// A deadline for this route in seconds, overriding the host's (default 30 s); `nil` keeps the host's.
    public var timeoutSeconds: Double?
    /// Query and header parameters, for the OpenAPI document. Since SDK 1.4.
    public var parameters: [APIParameter] = []
    /// The request body's schema; `nil` for none. Since SDK 1.4.
    public var requestBody: APISchema? = nil
    /// The request body's media type. Default `application/json`. Since SDK 1.4.
    public var requestContentType: String = "application/json"
    /// The successful response's schema; `nil` for none (as with 204). Since SDK 1.4.
    public var response: APISchema? = nil
    /// The successful response's media type: `*/*` for bytes of any type. Default `application/json`. Since SDK 1.4.
    public var responseContentType: String = "application/json"
    /// The successful response's status. Default 200. Since SDK 1.4.
    public var responseStatus: Int = 200
    /// Other successful statuses with the same response (such as 200 for a replayed create). Since SDK 1.4.
    public var otherResponseStatuses: [Int] = []
    /// This route's own rate limit per caller, instead of its route class's; `nil` keeps the class's. Since SDK 1.4.
    public var rateLimit: RateLimit? = nil
    /// When set, the body is not collected: the handler reads it from ``PluginRequest/bodyStream``,
    /// and more than this many bytes ends the request with 413. `nil` (the default) collects
    /// the body within the host's `max_body_bytes`. Since SDK 1.4.
    public var streamedBodyLimit: Int64? = nil

    /// Creates options; by default a route needs an authenticated caller.
    public init(requiresAuthentication: Bool = true, summary: String = "", timeoutSeconds: Double? = nil) {
        self.requiresAuthentication = requiresAuthentication
        self.summary = summary
        self.timeoutSeconds = timeoutSeconds
    }

    /// These options with the route's query parameters, request body and response described. Since SDK 1.4.
    /// `also` lists other successful statuses answered with the same response.
    public func documented(
        query: [APIParameter] = [], body: APISchema? = nil, response: APISchema? = nil, status: Int = 200, also: [Int] = []
    ) -> RouteOptions {
        var options = self
        options.parameters += query
        options.requestBody = body ?? options.requestBody
        options.response = response ?? options.response
        options.responseStatus = status
        options.otherResponseStatuses = also
        return options
    }

    /// These options with the body streamed to the handler, up to `maxBytes`. Since SDK 1.4.
    public func streamingBody(maxBytes: Int64) -> RouteOptions {
        var options = self
        options.streamedBodyLimit = maxBytes
        return options
    }

    /// These options with a rate limit of the route's own. Since SDK 1.4.
    public func limited(_ limit: RateLimit) -> RouteOptions {
        var options = self
        options.rateLimit = limit
        return options
    }
}

/// Answers one request. Throw ``PluginError`` for an error the client should see.
public typealias RouteHandler = @Sendable (PluginRequest) async throws -> PluginResponse
