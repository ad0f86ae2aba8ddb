import QuikSDK

/// Sends the mail plugins ask for.
protocol Mailer: Sendable {
    func send(_ message: MailMessage, from plugin: String) async throws
}
