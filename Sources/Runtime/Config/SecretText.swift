import Crypto

/// A secret from the configuration (such as `server.metrics_token`): it prints as
/// `<redacted>` wherever it is interpolated or dumped, and is compared in constant time.
public struct SecretText: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself; read it only to compare or to send it.
    public let value: String

    /// Wraps `value`.
    public init(_ value: String) {
        self.value = value
    }

    /// Whether `candidate` is the secret. Both are hashed first, so the time taken
    /// says nothing about where they differ or how long the secret is.
    public func matches(_ candidate: String) -> Bool {
        let expected = SHA256.hash(data: Array(value.utf8))
        let offered = SHA256.hash(data: Array(candidate.utf8))
        var difference: UInt8 = 0
        for (left, right) in zip(expected, offered) { difference |= left ^ right }
        return difference == 0
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
