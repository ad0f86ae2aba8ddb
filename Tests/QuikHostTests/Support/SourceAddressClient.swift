import Foundation
import Glibc

/// One HTTP/1.1 request over a TCP connection whose local address is chosen
/// (any of 127.0.0.0/8 on Linux), so tests can play callers at different addresses.
struct SourceAddressClient {
    let port: Int
    let source: String

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    func post(_ path: String, json: String) async throws -> Reply {
        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)"
        let (port, source) = (port, source)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.exchange(request, port: port, source: source) })
            }
        }
    }

    private static func exchange(_ request: String, port: Int, source: String) throws -> Reply {
        let fd = try LoopbackSocket.connect(port: port, from: source)
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw TestFailure("send: \(errno)") }
            sent += count
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[..<count]
        }
        guard let (parsed, _) = RawHTTPResponse.parse(response) else {
            throw TestFailure("no complete response: \(String(decoding: response, as: UTF8.self))")
        }
        return Reply(status: parsed.status, headers: parsed.headers, body: String(decoding: parsed.body, as: UTF8.self))
    }
}
