import Foundation
import Logging
import QuikSDK

/// Writes each message as an RFC 5322 `.eml` file, for development and tests.
struct FileMailer: Mailer {
    let directory: String
    let from: String
    let logger: Logger

    func send(_ message: MailMessage, from plugin: String) async throws {
        let text = try message.rfc5322(from: from, plugin: plugin)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = EventID.make()
        let path = directory + "/\(id).eml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        logger.info("mail written", metadata: ["plugin": "\(plugin)", "file": "\(path)"])
    }
}
