/// Why a Web Push input was refused: `field` names the bad part and `message` says
/// what was wrong with it. Neither ever carries key material.
public struct WebPushError: Error, CustomStringConvertible, Sendable {
    /// The input that was refused, e.g. `p256dh`, `auth`, `payload`, `endpoint`.
    public let field: String
    /// What was wrong with it, in words (no key bytes).
    public let message: String

    /// An error about `field`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    /// `web push <field>: <message>`.
    public var description: String { "web push \(field): \(message)" }
}
