import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport

/// The contract's error body: `{"error": {"code", "message", "details"}}`.
package enum ErrorEnvelope {
    package static func response(_ error: PluginError) -> Response {
        var details = "{}"
        if !error.details.isEmpty {
            details = JSONText.object(error.details.sorted { $0.key < $1.key }.map { ($0.key, JSONText.quoted($0.value)) })
        }
        let body = JSONText.object([
            ("error", JSONText.object([
                ("code", JSONText.quoted(error.code.rawValue)),
                ("message", JSONText.quoted(error.message)),
                ("details", details),
            ]))
        ])
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter = error.retryAfterSeconds {
            headers[.retryAfter] = String(retryAfter)
        }
        return Response(
            status: HTTPResponse.Status(code: error.code.status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// Maps anything thrown while answering a request to what the client may see.
    /// Only ``PluginError`` keeps its message; everything else is `internal` with no detail.
    package static func pluginError(for error: any Error) -> PluginError? {
        switch error {
        case let error as PluginError:
            return error
        case let error as DatabaseError where error.isTransient:
            return PluginError(.unavailable, "the database is unavailable; try again shortly")
        case is HTTPParserError:
            // A request the client broke off or garbled (a body cut short when the connection closed).
            return PluginError(.badRequest, "malformed request")
        case is NIOTooManyBytesError:
            return PluginError(.payloadTooLarge, "the request body is too large")
        case is DeadlineExceeded:
            return PluginError(.unavailable, "the request did not finish in time")
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: return PluginError(.payloadTooLarge, "the request body is too large")
            case .notFound: return PluginError(.notFound, "no such resource")
            case .badRequest: return PluginError(.badRequest, "malformed request")
            default:
                return error.status.code < 500
                    ? PluginError(.badRequest, "malformed request")
                    : nil
            }
        default:
            return nil
        }
    }
}
