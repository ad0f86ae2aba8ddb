import Foundation
import Hummingbird
import QuikSDK

/// A request body handed to a plugin as a ``ByteStream``, piece by piece as it
/// arrives, ending the request with 413 once it passes the route's limit.
final class RequestBodyReader: @unchecked Sendable {
    // One reader pulls the stream in order; the iterator is never shared.
    private var iterator: RequestBody.AsyncIterator
    private var received: Int64 = 0
    private let limit: Int64

    init(_ body: RequestBody, limit: Int64) {
        iterator = body.makeAsyncIterator()
        self.limit = limit
    }

    var stream: ByteStream { ByteStream { try await self.next() } }

    private func next() async throws -> Data? {
        guard let buffer = try await iterator.next() else { return nil }
        received += Int64(buffer.readableBytes)
        guard received <= limit else {
            throw PluginError(.payloadTooLarge, "the body is larger than \(limit) bytes", details: ["max_bytes": "\(limit)"])
        }
        return Data(buffer.readableBytesView)
    }
}
