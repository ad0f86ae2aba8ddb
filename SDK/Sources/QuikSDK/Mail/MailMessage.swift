/// A plain-text email, sent through the host's mailer.
public struct MailMessage: Sendable, Codable, Equatable {
    /// The recipient's address.
    public var to: String
    /// The subject line.
    public var subject: String
    /// The plain-text body.
    public var text: String

    /// Creates a message.
    public init(to: String, subject: String, text: String) {
        self.to = to
        self.subject = subject
        self.text = text
    }
}
