import QuikMariaDB
import QuikSDK
import QuikSupport

/// Sends the mail plugins ask for.
package protocol Mailer: Sendable {
    func send(_ message: MailMessage, from plugin: String) async throws
}
