import Foundation
import QuikMariaDB
import QuikSupport

/// Random account secrets: 32 hex characters.
package enum Secret {
    package static func make() -> String {
        (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}
