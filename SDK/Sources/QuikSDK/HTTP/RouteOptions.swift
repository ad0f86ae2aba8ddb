/// How the host treats a route.
public struct RouteOptions: Sendable {
    /// Whether anonymous callers are refused with 401 before the handler runs. Default `true`.
    public var requiresAuthentication: Bool
    /// One line for the OpenAPI document.
    public var summary: String
    /// A deadline for this route in seconds, overriding the host's (default 30 s); `nil` keeps the host's.
    public var timeoutSeconds: Double?

    /// Creates options; by default a route needs an authenticated caller.
    public init(requiresAuthentication: Bool = true, summary: String = "", timeoutSeconds: Double? = nil) {
        self.requiresAuthentication = requiresAuthentication
        self.summary = summary
        self.timeoutSeconds = timeoutSeconds
    }
}

/// Answers one request. Throw ``PluginError`` for an error the client should see.
public typealias RouteHandler = @Sendable (PluginRequest) async throws -> PluginResponse
