import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP client on loopback, for tests that need to see bytes and
/// end-of-stream exactly as the server sends them.
final class RawSocket {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = try LoopbackSocket.connect(port: port)
    }

    deinit { close(descriptor) }

    func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// What arrives within `timeout` (or until `enough` holds), and whether the server ended the stream.
    func read(for timeout: Duration, until enough: ([UInt8]) -> Bool = { _ in false }) -> (bytes: [UInt8], ended: Bool) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline, !enough(received) {
            var wait = timeval(tv_sec: 0, tv_usec: 50_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (received, true) }
            if count > 0 { received += buffer[0..<count] }
        }
        return (received, false)
    }
}
