import Foundation
import QuikPluginKit
import QuikSDK

/// tus 1.0.0 as the contract serves it: core, creation, termination, expiration.
enum Tus {
    static let version = "1.0.0"
    static let extensions = "creation,termination,expiration"

    /// `filename d29ybGQ=,filetype aW1hZ2UvcG5n` → `["filename": "world", "filetype": "image/png"]`.
    static func metadata(_ header: String?) -> [String: String] {
        var values: [String: String] = [:]
        for pair in (header ?? "").split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1).map(String.init)
            guard let key = parts.first, !key.isEmpty else { continue }
            let decoded = parts.count == 2 ? Data(base64Encoded: parts[1]).map { String(decoding: $0, as: UTF8.self) } : ""
            if let decoded { values[key] = decoded }
        }
        return values
    }

    /// An HTTP date (RFC 9110), as `Upload-Expires` carries it.
    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    /// Runs a tus handler so that every answer, errors included, carries `Tus-Resumable`,
    /// and a request without it (OPTIONS aside) gets 412.
    static func answer(_ request: PluginRequest, _ body: () async throws -> PluginResponse) async -> PluginResponse {
        var response: PluginResponse
        if request.method != .options, request.headers["tus-resumable"] != version {
            response = envelope(PluginError(.init("precondition_failed", status: 412), "this server speaks tus \(version): send Tus-Resumable: \(version)"))
            response.headers["tus-version"] = version
        } else {
            do {
                response = try await body()
            } catch let error as PluginError {
                response = envelope(error)
            } catch {
                response = envelope(PluginError(.internalError, "internal error"))
            }
        }
        response.headers["tus-resumable"] = version
        return response
    }

    static func envelope(_ error: PluginError) -> PluginResponse {
        struct Envelope: Encodable {
            struct Body: Encodable {
                var code: String
                var message: String
                var details: [String: String]
            }

            var error: Body
        }
        let data = (try? JSONEncoder.quik.encode(Envelope(error: .init(code: error.code.rawValue, message: error.message, details: error.details)))) ?? Data()
        var headers = ["content-type": "application/json; charset=utf-8"]
        if let wait = error.retryAfterSeconds { headers["retry-after"] = "\(wait)" }
        return PluginResponse(status: error.code.status, headers: headers, body: data)
    }
}
