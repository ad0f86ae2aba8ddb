import Foundation

/// Bytes that arrive in pieces (an upload, a stored object), read once, from
/// start to end, by one reader. Since SDK 1.4.
public final class ByteStream: Sendable {
    private let pull: @Sendable () async throws -> Data?

    /// A stream whose pieces `next` gives, `nil` at the end.
    public init(_ next: @escaping @Sendable () async throws -> Data?) {
        pull = next
    }

    /// The next piece (never empty), or `nil` at the end.
    public func next() async throws -> Data? {
        while let piece = try await pull() {
            if !piece.isEmpty { return piece }
        }
        return nil
    }

    /// A stream of `data`, in one piece.
    public static func of(_ data: Data) -> ByteStream {
        let taken = LockedFlag()
        return ByteStream { taken.take() ? nil : data }
    }

    /// Everything left, in one `Data`; more than `limit` bytes is `payload_too_large`.
    public func collect(upTo limit: Int) async throws -> Data {
        var all = Data()
        while let piece = try await next() {
            guard all.count + piece.count <= limit else {
                throw PluginError(.payloadTooLarge, "more than \(limit) bytes", details: ["max_bytes": "\(limit)"])
            }
            all.append(piece)
        }
        return all
    }
}

/// A flag that is false until taken once.
private final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = false

    /// Whether it was taken before; takes it.
    func take() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        defer { taken = true }
        return taken
    }
}
