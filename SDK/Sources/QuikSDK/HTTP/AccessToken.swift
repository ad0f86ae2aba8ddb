/// A signed access token, as the host issues it.
public struct AccessToken: Sendable, Equatable, Codable {
    /// The JWT.
    public var token: String
    /// Seconds until it expires (at most 900).
    public var expiresIn: Int

    /// Creates a token value.
    public init(token: String, expiresIn: Int) {
        self.token = token
        self.expiresIn = expiresIn
    }
}
