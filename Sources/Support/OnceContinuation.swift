import Synchronization

/// Resumes a continuation once, from whichever of several racing sides comes first.
package final class OnceContinuation<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    package init(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation = Mutex(continuation)
    }

    /// Resumes with `value` unless another side already did; returns whether this call did.
    @discardableResult
    package func resume(_ value: T) -> Bool {
        guard let continuation = continuation.withLock({ stored in defer { stored = nil }; return stored }) else { return false }
        continuation.resume(returning: value)
        return true
    }
}
