/// An error a client should see, in the contract's envelope:
/// `{"error": {"code", "message", "details"}}`.
///
/// Anything else a handler throws is answered `500 internal` without its text.
public struct PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The contract's error code, which fixes the HTTP status.
    public var code: ErrorCode
    /// Human text for the client; never put secrets or SQL here.
    public var message: String
    /// Extra facts, such as the fields that failed validation.
    public var details: [String: String]
    /// Seconds to wait before retrying, sent as `Retry-After` (for `rate_limited`).
    public var retryAfterSeconds: Int?

    /// Creates an error.
    public init(_ code: ErrorCode, _ message: String, details: [String: String] = [:], retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}

/// An error code of the client contract and the HTTP status it goes with.
public struct ErrorCode: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The code as the client sees it, such as `not_found`.
    public var rawValue: String
    /// The HTTP status it answers with.
    public var status: Int

    /// Creates a code; prefer the named ones.
    public init(_ rawValue: String, status: Int) {
        self.rawValue = rawValue
        self.status = status
    }

    /// 400.
    public static var badRequest: ErrorCode { ErrorCode("bad_request", status: 400) }
    /// 401.
    public static var unauthorized: ErrorCode { ErrorCode("unauthorized", status: 401) }
    /// 403.
    public static var forbidden: ErrorCode { ErrorCode("forbidden", status: 403) }
    /// 404.
    public static var notFound: ErrorCode { ErrorCode("not_found", status: 404) }
    /// 409.
    public static var conflict: ErrorCode { ErrorCode("conflict", status: 409) }
    /// 413.
    public static var payloadTooLarge: ErrorCode { ErrorCode("payload_too_large", status: 413) }
    /// 415: a body in a media type the call does not take. Since SDK 1.4.
    public static var unsupportedMediaType: ErrorCode { ErrorCode("unsupported_media_type", status: 415) }
    /// 422; `details` names the fields.
    public static var validationFailed: ErrorCode { ErrorCode("validation_failed", status: 422) }
    /// 429; set `retryAfterSeconds`.
    public static var rateLimited: ErrorCode { ErrorCode("rate_limited", status: 429) }
    /// 500.
    public static var internalError: ErrorCode { ErrorCode("internal", status: 500) }
    /// 503.
    public static var unavailable: ErrorCode { ErrorCode("unavailable", status: 503) }

    /// The code text.
    public var description: String { rawValue }
}
