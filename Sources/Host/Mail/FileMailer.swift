import Foundation
import Logging
import QuikSDK

/// Writes each message as an RFC 5322 `.eml` file, for development and tests.
struct FileMailer: Mailer {
    let directory: String
    let from: String
    let logger: Logger

    func send(_ message: MailMessage, from plugin: String) async throws {
        guard Self.isSafeHeader(message.to), Self.isSafeHeader(message.subject), message.to.contains("@") else {
            throw PluginError(.validationFailed, "a mail's recipient and subject are one line each", details: ["to": "malformed"])
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = Self.render(message, from: from, plugin: plugin)
        let id = EventID.make()
        let path = directory + "/\(id).eml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        logger.info("mail written", metadata: ["plugin": "\(plugin)", "file": "\(path)"])
    }

    /// The message as RFC 5322 text with CRLF line ends.
    static func render(_ message: MailMessage, from: String, plugin: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss"
        let body = message.text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return [
            "From: \(from)",
            "To: \(message.to)",
            "Subject: \(message.subject)",
            "Date: \(formatter.string(from: Date())) +0000",
            "Message-ID: <\(EventID.make())@quikapp.local>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "X-QuikApp-Plugin: \(plugin)",
            "",
            body,
        ].joined(separator: "\r\n")
    }

    /// Header values may not break the header block.
    static func isSafeHeader(_ value: String) -> Bool {
        !value.isEmpty && !value.contains(where: { $0 == "\r" || $0 == "\n" })
    }
}
