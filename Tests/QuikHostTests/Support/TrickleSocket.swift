import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP client for the connection-guard tests: it writes exactly the bytes it
/// is given, when it is told to, and records what comes back and whether the server has
/// closed. Non-blocking, so a test waiting on it never holds a cooperative thread that
/// the server under test needs.
final class TrickleSocket: @unchecked Sendable {
    private let descriptor: Int32
    /// Everything received so far.
    private(set) var received: [UInt8] = []
    /// Whether the server has ended the stream (end of file or reset).
    private(set) var closed = false

    init(port: Int) throws {
        descriptor = try LoopbackSocket.connect(port: port)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    private var open = true

    deinit { disconnect() }

    /// Closes the client's end.
    func disconnect() {
        guard open else { return }
        open = false
        close(descriptor)
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// Sends `text`, reading whatever arrives meanwhile; `false` once the server no longer takes bytes.
    @discardableResult
    func write(_ text: String) async -> Bool {
        await write(Array(text.utf8))
    }

    @discardableResult
    func write(_ bytes: [UInt8]) async -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                poll()
                if closed { return false }
                try? await Task.sleep(for: .milliseconds(1))
            } else {
                poll()
                return false
            }
        }
        return true
    }

    /// Takes in whatever has arrived, without waiting.
    func poll() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !closed {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received += buffer[0..<count]
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                closed = true
            } else {
                return
            }
        }
    }

    /// Waits until `enough` holds for what was received, the server closes, or `timeout` passes.
    func read(for timeout: Duration, until enough: ([UInt8]) -> Bool = { _ in false }) async {
        let deadline = ContinuousClock.now + timeout
        while true {
            poll()
            if closed || enough(received) || ContinuousClock.now >= deadline { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits for one complete response (head and `Content-Length` body) and returns it, taking it off what was received.
    func response(within timeout: Duration = .seconds(5)) async throws -> RawHTTPResponse {
        await read(for: timeout) { RawHTTPResponse.parse($0) != nil }
        guard let (response, length) = RawHTTPResponse.parse(received) else {
            throw TestFailure("no complete response within \(timeout); got \(received.count) bytes: \(text.prefix(300))")
        }
        received.removeFirst(length)
        return response
    }

    /// Sends `GET path` on this connection and waits for its response.
    func get(_ path: String, headers: String = "") async throws -> RawHTTPResponse {
        await write("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)\r\n")
        return try await response()
    }
}
