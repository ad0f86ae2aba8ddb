import QuikMariaDB
import QuikSDK
import QuikSupport

/// Turns a bearer token into a principal, for HTTP and the realtime socket alike.
///
/// The host's own access-token verification (`TokenService`) is the default;
/// tests give the host a fixed-token one instead.
public protocol Authenticator: Sendable {
    /// The principal the token stands for, or `nil` when it is not valid.
    func authenticate(bearer token: String) async -> Principal?
}
