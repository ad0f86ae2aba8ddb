import QuikSDK

/// Turns a bearer token into a principal, for HTTP and the realtime socket alike.
///
/// The identity plugins provide the real one (JWT verification in the host);
/// until one is configured the host uses ``NoAuthenticator``.
public protocol Authenticator: Sendable {
    /// The principal the token stands for, or `nil` when it is not valid.
    func authenticate(bearer token: String) async -> Principal?
}

/// Accepts no token: every caller is anonymous, protected routes answer 401
/// and sockets close with 4401.
public struct NoAuthenticator: Authenticator {
    /// Creates the authenticator.
    public init() {}

    /// Always `nil`.
    public func authenticate(bearer token: String) async -> Principal? { nil }
}
