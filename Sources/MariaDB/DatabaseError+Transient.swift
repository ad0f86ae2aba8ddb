import QuikSDK
import QuikSupport

extension DatabaseError {
    /// Failures a retry later may not see: the server is away or overloaded. Answered 503.
    package var isTransient: Bool { kind == .unavailable || kind == .timeout }
}
