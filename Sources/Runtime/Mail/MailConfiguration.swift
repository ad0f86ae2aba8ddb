import QuikSupport
import QuikMariaDB

/// How the host sends mail. Without SMTP settings, messages are written as
/// `.eml` files for development.
public struct MailConfiguration: Sendable {
    /// The `From:` address. Default `QuikApp <no-reply@quikapp.local>`.
    public var from: String = "QuikApp <no-reply@quikapp.local>"
    /// An SMTP relay, `smtp://host:port` (port default 25); `nil` writes `.eml` files instead.
    public var smtpURL: String?
    /// Where `.eml` files go; `nil` means `<state_dir>/mail`.
    public var directory: String?

    /// The defaults.
    public init() {}
}
