import QuikHost
import QuikSDK
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

/// Stands in for token verification in tests only: fixed tokens map to fixed principals.
struct TestAuthenticator: Authenticator {
    static let tokens: [String: Principal] = [
        "alice-token": Principal(userId: "alice", roles: ["user"]),
        "bob-token": Principal(userId: "bob", roles: ["user"]),
        "carol-token": Principal(userId: "carol", roles: ["user"]),
        "admin-token": Principal(userId: "root", roles: ["admin", "user"]),
    ]

    func authenticate(bearer token: String) async -> Principal? {
        Self.tokens[token]
    }
}
