import Foundation

/// HTTP to the outside world through the host, which refuses loopback, private,
/// link-local, CGNAT, multicast and unspecified addresses (after resolving the name,
/// at every redirect) unless the deployment allows the host by name
/// (`outbound.allowed_internal_hosts`), and bounds time and size. A plugin reaches
/// only the hosts its manifest lists in `capabilities.outboundHosts` (`*` for any). Since SDK 1.4.
public protocol OutboundHTTP: Sendable {
    /// Sends the request and returns the final response (after redirects).
    func fetch(_ request: OutboundRequest) async throws -> OutboundResponse

    /// Whether the deployment lets requests reach `host` although it is private or loopback
    /// (`outbound.allowed_internal_hosts`), for checking URLs users hand in. Since SDK 1.5.
    func allowsInternal(host: String) -> Bool
}

extension OutboundHTTP {
    /// None, as on a host older than SDK 1.5.
    public func allowsInternal(host: String) -> Bool { false }
}

/// A request for ``OutboundHTTP``. Since SDK 1.4.
public struct OutboundRequest: Sendable {
    /// An absolute `http` or `https` URL.
    public var url: String
    /// The method. Default GET.
    public var method: RouteMethod = .get
    /// Headers to send.
    public var headers: [String: String] = [:]
    /// The body to send.
    public var body: Data = Data()
    /// The whole exchange, redirects included, in seconds. Default 5.
    public var timeoutSeconds: Double = 5
    /// Most bytes of the response body read; the rest is cut off. Default 1 MiB.
    public var maxBytes: Int = 1 << 20
    /// Redirects followed. Default 3.
    public var maxRedirects: Int = 3

    /// A GET of `url`.
    public init(url: String) {
        self.url = url
    }
}

/// What ``OutboundHTTP/fetch(_:)`` got. Since SDK 1.4.
public struct OutboundResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Headers, names lower-cased.
    public var headers: [String: String]
    /// The body, at most the request's `maxBytes`.
    public var body: Data
    /// Whether the body was longer than `maxBytes`.
    public var truncated: Bool
    /// The URL that answered, after redirects.
    public var url: String

    /// Creates a response.
    public init(status: Int, headers: [String: String], body: Data, truncated: Bool, url: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.truncated = truncated
        self.url = url
    }
}
