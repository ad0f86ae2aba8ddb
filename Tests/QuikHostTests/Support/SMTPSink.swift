import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A tiny SMTP server for tests: speaks just enough RFC 5321 to take messages
/// and keeps each one's envelope and data.
final class SMTPSink: Sendable {
    struct Message: Sendable {
        var from = ""
        var to: [String] = []
        var data = ""
    }

    let port: Int
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let received = Mutex<[Message]>([])
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    var messages: [Message] { received.withLock { $0 } }

    init() async throws {
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        port = server.channel.localAddress?.port ?? 0
        let server = self.server
        task.withLock {
            $0 = Task {
                try? await server.executeThenClose { connections in
                    await withDiscardingTaskGroup { group in
                        do {
                            for try await connection in connections {
                                group.addTask { await self.serve(connection) }
                            }
                        } catch {}
                    }
                }
            }
        }
    }

    func stop() async {
        try? await server.channel.close()
        await task.withLock { $0 }?.value
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        try? await connection.executeThenClose { inbound, outbound in
            func say(_ line: String) async throws { try await outbound.write(ByteBuffer(string: line + "\r\n")) }
            try await say("220 sink ready")
            var pending = ""
            var message = Message()
            var inData = false
            for try await var buffer in inbound {
                pending += buffer.readString(length: buffer.readableBytes) ?? ""
                while let end = pending.range(of: "\r\n") {
                    let line = String(pending[..<end.lowerBound])
                    pending.removeSubrange(..<end.upperBound)
                    if inData {
                        if line == "." {
                            inData = false
                            let done = message
                            received.withLock { $0.append(done) }
                            message = Message()
                            try await say("250 queued")
                        } else {
                            message.data += (line.hasPrefix("..") ? String(line.dropFirst()) : line) + "\r\n"
                        }
                        continue
                    }
                    let upper = line.uppercased()
                    if upper.hasPrefix("EHLO") || upper.hasPrefix("HELO") {
                        try await say("250-sink")
                        try await say("250 8BITMIME")
                    } else if upper.hasPrefix("MAIL FROM:") {
                        message.from = String(line.dropFirst(10))
                        try await say("250 ok")
                    } else if upper.hasPrefix("RCPT TO:") {
                        message.to.append(String(line.dropFirst(8)))
                        try await say("250 ok")
                    } else if upper == "DATA" {
                        inData = true
                        try await say("354 go ahead")
                    } else if upper == "QUIT" {
                        try await say("221 bye")
                        return
                    } else {
                        try await say("502 not implemented")
                    }
                }
            }
        }
    }
}
