/// A test harness expectation that did not hold (a frame that never came, a socket that never closed).
public struct HarnessFailure: Error, CustomStringConvertible {
    /// What did not happen.
    public let description: String

    /// Creates a failure.
    public init(_ description: String) { self.description = description }
}
