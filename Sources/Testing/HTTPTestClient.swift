import AsyncHTTPClient
import Foundation
import NIOCore

/// An HTTP client for one test host: JSON in, status, headers and body out.
public struct HTTPTestClient: Sendable {
    /// The host's port on 127.0.0.1.
    public let port: Int

    /// A client for the host on `port`.
    public init(port: Int) {
        self.port = port
    }

    /// A response.
    public struct Reply: Sendable {
        /// The status code.
        public let status: Int
        /// Headers, names lowercased.
        public let headers: [String: String]
        /// The body.
        public let body: Data

        /// The body as a JSON object.
        public func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw HarnessFailure("not a JSON object: \(text)")
            }
            return object
        }

        /// The body as a JSON array.
        public func jsonArray() throws -> [Any] {
            guard let array = try JSONSerialization.jsonObject(with: body) as? [Any] else {
                throw HarnessFailure("not a JSON array: \(text)")
            }
            return array
        }

        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The envelope's `error.code`.
        public var errorCode: String? {
            ((try? json())?["error"] as? [String: Any])?["code"] as? String
        }
    }

    /// `GET path`.
    public func get(_ path: String, token: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
        try await send("GET", path, token: token, headers: headers)
    }

    /// `POST path` with a JSON body.
    public func post(_ path: String, json: String = "{}", token: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
        try await send("POST", path, body: Data(json.utf8), token: token, headers: headers)
    }

    /// Any method, with an optional JSON body.
    public func send(
        _ method: String, _ path: String, body: Data? = nil, token: String? = nil, headers: [String: String] = [:]
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .RAW(value: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            // JSON unless the caller set its own type.
            if !headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        var replyHeaders: [String: String] = [:]
        for header in response.headers { replyHeaders[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: replyHeaders, body: Data(buffer: buffer))
    }
}
