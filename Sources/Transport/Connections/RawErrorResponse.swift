import NIOCore
import QuikSupport

/// A complete HTTP/1.1 error response in the contract's envelope, written by the
/// connection guard straight to the socket when no request ever reached Hummingbird
/// (a head too large or too slow, a connection over the cap). It always closes the connection.
package struct RawErrorResponse: Sendable {
    package var status: Int
    package var reason: String
    package var code: String
    package var message: String
    package var retryAfterSeconds: Int?

    package static let headTooLarge = RawErrorResponse(
        status: 431, reason: "Request Header Fields Too Large", code: "request_header_fields_too_large",
        message: "the request head is too large")
    package static let headTimeout = RawErrorResponse(
        status: 408, reason: "Request Timeout", code: "request_timeout", message: "the request head did not arrive in time")
    package static let overCapacity = RawErrorResponse(
        status: 503, reason: "Service Unavailable", code: "unavailable", message: "the server has too many connections; try again shortly",
        retryAfterSeconds: 1)

    /// The bytes, with `requestID` (the client's when it sent a sensible one) as `X-Request-Id`.
    package func bytes(requestID offered: String?, allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = JSONText.object([
            ("error", JSONText.object([("code", JSONText.quoted(code)), ("message", JSONText.quoted(message)), ("details", "{}")]))
        ])
        var head = "HTTP/1.1 \(status) \(reason)\r\n"
        head += "Content-Type: application/json; charset=utf-8\r\n"
        head += "Content-Length: \(body.utf8.count)\r\n"
        head += "Connection: close\r\n"
        head += "X-Request-Id: \(RequestIDs.accept(offered))\r\n"
        if let retryAfterSeconds { head += "Retry-After: \(retryAfterSeconds)\r\n" }
        head += "\r\n"
        var buffer = allocator.buffer(capacity: head.utf8.count + body.utf8.count)
        buffer.writeString(head)
        buffer.writeString(body)
        return buffer
    }
}
