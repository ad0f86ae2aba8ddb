import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Which addresses an outbound request may reach: public unicast only. Loopback,
/// private (RFC 1918, fc00::/7), link-local (cloud metadata among them), CGNAT,
/// multicast, broadcast, reserved and unspecified addresses are internal.
package enum AddressPolicy {
    /// Whether `address` (IPv4 or IPv6 text) is internal; unparsable text counts as internal.
    package static func isInternal(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return isInternal(v4: UInt32(bigEndian: v4.s_addr))
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return true }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms are judged as IPv4.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), (bytes[10] == 0xFF && bytes[11] == 0xFF) || (bytes[10] == 0 && bytes[11] == 0) {
            let value = bytes[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if bytes[10] == 0xFF || value > 1 { return isInternal(v4: value) }
        }
        if bytes.allSatisfy({ $0 == 0 }) { return true }  // ::
        if bytes[0..<15].allSatisfy({ $0 == 0 }), bytes[15] == 1 { return true }  // ::1
        if bytes[0] & 0xFE == 0xFC { return true }  // fc00::/7 unique local
        if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0x80 { return true }  // fe80::/10 link-local
        if bytes[0] == 0xFF { return true }  // multicast
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return true }  // documentation
        if bytes[0] == 0x00, bytes[1] == 0x64, bytes[2] == 0xFF, bytes[3] == 0x9B { return true }  // NAT64, may reach IPv4 internals
        return false
    }

    private static func isInternal(v4 value: UInt32) -> Bool {
        func within(_ base: UInt32, _ bits: UInt32) -> Bool { value >> (32 - bits) == base >> (32 - bits) }
        return within(0x0000_0000, 8)  // 0.0.0.0/8 unspecified
            || within(0x0A00_0000, 8)  // 10/8
            || within(0x6440_0000, 10)  // 100.64/10 CGNAT
            || within(0x7F00_0000, 8)  // loopback
            || within(0xA9FE_0000, 16)  // 169.254/16 link-local, metadata
            || within(0xAC10_0000, 12)  // 172.16/12
            || within(0xC000_0000, 24)  // 192.0.0/24 protocol assignments
            || within(0xC000_0200, 24)  // 192.0.2/24 documentation
            || within(0xC0A8_0000, 16)  // 192.168/16
            || within(0xC612_0000, 15)  // 198.18/15 benchmarking
            || within(0xC633_6400, 24)  // 198.51.100/24 documentation
            || within(0xCB00_7100, 24)  // 203.0.113/24 documentation
            || within(0xE000_0000, 4)  // multicast
            || within(0xF000_0000, 4)  // reserved, broadcast
    }

    /// The addresses `host` resolves to (a literal is itself). Blocking: call off the cooperative pool.
    package static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                let address = String(cString: text)
                if !addresses.contains(address) { addresses.append(address) }
            }
            node = current.pointee.ai_next
        }
        return addresses
    }
}
