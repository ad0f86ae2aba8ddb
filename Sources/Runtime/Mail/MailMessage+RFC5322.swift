import Foundation
import QuikMariaDB
import QuikSDK
import QuikSupport

extension MailMessage {
    /// The message as RFC 5322 text with CRLF line ends, as both mailers send it.
    /// Throws `validation_failed` when the recipient or subject would break the header block.
    package func rfc5322(from sender: String, plugin: String) throws -> String {
        guard Self.isSafeHeader(to), Self.isSafeHeader(subject), to.contains("@") else {
            throw PluginError(.validationFailed, "a mail's recipient and subject are one line each", details: ["to": "malformed"])
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss"
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return [
            "From: \(sender)",
            "To: \(to)",
            "Subject: \(subject)",
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
    private static func isSafeHeader(_ value: String) -> Bool {
        !value.isEmpty && !value.contains(where: { $0 == "\r" || $0 == "\n" })
    }
}
