import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP socket connected to the host under test on 127.0.0.1, optionally
/// from a chosen local address (any of 127.0.0.0/8 on Linux), for the raw clients.
enum LoopbackSocket {
    static func connect(port: Int, from source: String? = nil) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket: errno \(errno)") }
        func address(_ host: String, _ port: Int) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr(host)
            return address
        }
        func call(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32, _ target: sockaddr_in) -> Int32 {
            var target = target
            return withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if let source, call({ bind(descriptor, $0, $1) }, address(source, 0)) != 0 {
            close(descriptor)
            throw TestFailure("bind \(source): errno \(errno)")
        }
        guard call({ Glibc.connect(descriptor, $0, $1) }, address("127.0.0.1", port)) == 0 else {
            close(descriptor)
            throw TestFailure("cannot connect to port \(port)")
        }
        return descriptor
    }
}
