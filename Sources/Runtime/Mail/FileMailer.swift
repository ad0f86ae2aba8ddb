import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport

/// Writes each message as an RFC 5322 `.eml` file, for development and tests.
package struct FileMailer: Mailer {
    package let directory: String
    package let from: String
    package let logger: Logger

    package func send(_ message: MailMessage, from plugin: String) async throws {
        let text = try message.rfc5322(from: from, plugin: plugin)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = EventID.make()
        let path = directory + "/\(id).eml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        logger.info("mail written", metadata: ["plugin": "\(plugin)", "file": "\(path)"])
    }
}
