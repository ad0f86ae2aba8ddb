import Foundation
import Logging
import NIOCore
import NIOPosix
import QuikMariaDB
import QuikSDK
import QuikSupport

/// Sends each message to an SMTP relay (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT),
/// such as a local Postfix or a development catcher. No TLS and no AUTH: point it
/// at a relay on the same machine or network, which forwards with its own credentials.
package struct SMTPMailer: Mailer {
    package let host: String
    package let port: Int
    package let from: String
    package let logger: Logger
    /// Deadline for one whole conversation.
    package var timeout: Duration = .seconds(15)

    package func send(_ message: MailMessage, from plugin: String) async throws {
        let text = try message.rfc5322(from: from, plugin: plugin)
        do {
            try await withDeadline(timeout) { try await converse(recipient: message.to, text: text) }
            logger.info("mail sent", metadata: ["plugin": "\(plugin)", "relay": "\(host):\(port)"])
        } catch let error as PluginError {
            throw error
        } catch {
            logger.warning("mail relay failed", metadata: ["relay": "\(host):\(port)", "error": "\(error)"])
            throw PluginError(.unavailable, "the mail relay did not take the message")
        }
    }

    private func converse(recipient: String, text: String) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        try await channel.executeThenClose { inbound, outbound in
            var lines = LineReader(inbound.makeAsyncIterator())
            func expect(_ codes: Set<Int>, after command: String?) async throws {
                if let command { try await outbound.write(ByteBuffer(string: command + "\r\n")) }
                let code = try await lines.reply()
                guard codes.contains(code) else { throw SMTPError(code: code, command: command.map { String($0.prefix(4)) } ?? "greeting") }
            }
            try await expect([220], after: nil)
            try await expect([250], after: "EHLO quikapp.local")
            try await expect([250], after: "MAIL FROM:<\(Self.address(in: from))>")
            try await expect([250, 251], after: "RCPT TO:<\(Self.address(in: recipient))>")
            try await expect([354], after: "DATA")
            // Dot-stuffing: a line starting with "." gets another, so only "\r\n.\r\n" ends the data.
            let body = text.components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n")
            try await expect([250], after: body + "\r\n.")
            try await expect([221], after: "QUIT")
        }
    }

    /// `Name <a@b>` → `a@b`.
    package static func address(in text: String) -> String {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else {
            return text.trimmingCharacters(in: .whitespaces)
        }
        return String(text[text.index(after: open)..<close])
    }

    /// `smtp://host:port` (port default 25).
    package static func parse(_ url: String) -> (host: String, port: Int)? {
        guard let components = URLComponents(string: url), components.scheme == "smtp", let host = components.host, !host.isEmpty else {
            return nil
        }
        return (host, components.port ?? 25)
    }
}

package struct SMTPError: Error, CustomStringConvertible {
    package let code: Int
    package let command: String
    package var description: String { "the relay answered \(code) to \(command)" }
}

/// Reads CRLF-terminated lines from a stream of buffers.
package struct LineReader {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var pending = ""

    package init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        self.iterator = iterator
    }

    package mutating func line() async throws -> String {
        while true {
            if let end = pending.range(of: "\r\n") {
                let line = String(pending[..<end.lowerBound])
                pending.removeSubrange(..<end.upperBound)
                return line
            }
            guard var buffer = try await iterator.next() else { throw SMTPError(code: 0, command: "connection closed") }
            pending += buffer.readString(length: buffer.readableBytes) ?? ""
        }
    }

    /// One reply, possibly multi-line (`250-…` continues, `250 …` ends): its code.
    package mutating func reply() async throws -> Int {
        while true {
            let text = try await line()
            guard text.count >= 3, let code = Int(text.prefix(3)) else { throw SMTPError(code: 0, command: "malformed reply") }
            if text.count == 3 || text[text.index(text.startIndex, offsetBy: 3)] == " " { return code }
        }
    }
}
