import Foundation

/// Event ids: time-ordered and unique, as the contract's ids are.
package enum EventID {
    package static func make() -> String {
        let millis = UInt64(Date().timeIntervalSince1970 * 1000)
        let random = UInt64.random(in: 0..<(1 << 40))
        return String(millis, radix: 36).leftPadded(to: 9) + String(random, radix: 36).leftPadded(to: 8)
    }
}

extension String {
    package func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
