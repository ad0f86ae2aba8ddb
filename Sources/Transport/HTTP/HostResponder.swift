import Foundation
import HTTPTypes
import Hummingbird
import Logging
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport

/// Answers every HTTP request: request ids, authentication, the host's own
/// paths, dispatch to plugin mounts, deadlines, the error envelope and metrics.
///
/// Plugin routes are looked up per request in the live tables rather than
/// compiled into a router, so a reload can swap them atomically.
package struct HostResponder: HTTPResponder {
    package typealias Context = HostRequestContext

    package let host: HostCore
    package let limiter: RateLimiter

    package init(host: HostCore, limiter: RateLimiter) {
        self.host = host
        self.limiter = limiter
    }

    package func respond(to request: Request, context: HostRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let requestId = RequestIDs.accept(request.headers[.requestID])
        var label = "unmatched"
        var response: Response
        do {
            response = try await dispatch(request, requestId: requestId, remoteAddress: context.remoteAddress, label: &label)
        } catch {
            if let visible = ErrorEnvelope.pluginError(for: error) {
                response = ErrorEnvelope.response(visible)
            } else {
                host.logger.error(
                    "request failed",
                    metadata: ["request_id": "\(requestId)", "route": "\(label)", "error": "\(String(reflecting: type(of: error)))"])
                response = ErrorEnvelope.response(PluginError(.internalError, "internal error"))
            }
        }
        response.headers[.requestID] = requestId
        host.metrics.request(route: label, method: request.method.rawValue, status: response.status.code, duration: ContinuousClock.now - started)
        return response
    }

    private func dispatch(_ request: Request, requestId: String, remoteAddress: String?, label: inout String) async throws -> Response {
        let path = request.uri.path
        let method = RouteMethod(rawValue: request.method.rawValue)
        switch (method, path) {
        case (.get, "/health"):
            label = path
            return try json(await host.health())
        case (.get, "/metrics"):
            label = path
            guard MetricsPage.admits(bearer: request.headers[.authorization], token: host.configuration.metricsToken) else {
                throw PluginError(.unauthorized, "metrics need the metrics token, or the metrics address")
            }
            return MetricsPage.response(host.metrics)
        case (.get, "/api/v1/openapi.json"):
            label = path
            return Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: host.openAPI())))
        case (.get, "/api/v1/auth/jwks"):
            label = path
            return try json(await host.runtime.tokens.jwks())
        case (.get, "/api/v1/admin/plugins"):
            label = path
            try await requireAdmin(request)
            return try json(["items": host.manager.statuses])
        case (_, "/api/v1/realtime"):
            label = path
            throw PluginError(.badRequest, "this path upgrades to a WebSocket")
        default:
            break
        }
        if method == .post, let name = Self.reloadTarget(path) {
            label = "/api/v1/admin/plugins/{name}/reload"
            guard host.configuration.devMode else { throw PluginError(.notFound, "no such resource") }
            try await requireAdmin(request)
            let status: PluginStatus
            do {
                status = try await host.manager.reload(name)
            } catch {
                throw PluginError(.conflict, "reload failed; the previous version keeps serving: \(error.message)")
            }
            return try json(status)
        }
        if let builtin = host.builtinRoutes.first(where: { $0.method == method && $0.path == path }) {
            label = path
            let principal = try await authenticate(request, required: builtin.options.requiresAuthentication)
            try limiter.check(method: method, principal: principal, remoteAddress: remoteAddress, route: path, own: builtin.options.rateLimit)
            let pluginRequest = try await makePluginRequest(
                request, requestId: requestId, remoteAddress: remoteAddress, parameters: [:], principal: principal)
            return makeResponse(try await withDeadline(host.configuration.requestTimeout) { try await builtin.handler(pluginRequest) })
        }
        return try await dispatchToPlugin(request, method: method, requestId: requestId, remoteAddress: remoteAddress, label: &label)
    }

    private func dispatchToPlugin(
        _ request: Request, method: RouteMethod, requestId: String, remoteAddress: String?, label: inout String
    ) async throws -> Response {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == "api", parts[1] == "v1" else {
            throw PluginError(.notFound, "no such resource")
        }
        let mount = String(parts[2])
        let timeout = host.configuration.requestTimeout
        var matchedLabel: String?
        let response = try await host.runtime.withInstance({ tables in tables.mounts[mount].flatMap { tables.active[$0] } }) { instance in
            guard let (route, parameters) = instance.sealed.route(method, parts[3...]) else {
                throw PluginError(.notFound, "no such resource")
            }
            matchedLabel = route.label
            let principal = try await authenticate(request, required: route.requiresAuthentication)
            try limiter.check(method: method, principal: principal, remoteAddress: remoteAddress, route: route.label, own: route.rateLimit)
            let streamLimit = route.options.streamedBodyLimit
            let pluginRequest = try await makePluginRequest(
                request, requestId: requestId, remoteAddress: remoteAddress, parameters: parameters, principal: principal,
                streamLimit: streamLimit)
            // A streamed body may take as long as the client sends it; the connection's
            // body-stall timeout, not the request deadline, cuts a client that stops.
            let deadline = route.timeout ?? (streamLimit == nil ? timeout : Self.streamingDeadline)
            do {
                // Counted busy until the handler really ends, even one answered 503 at its deadline.
                instance.enter()
                return try await withDeadline(deadline, onEnd: instance.leave) { try await route.handler(pluginRequest) }
            } catch where ErrorEnvelope.pluginError(for: error) != nil {
                throw error
            } catch {
                host.logger.error(
                    "plugin handler threw",
                    metadata: ["plugin": "\(instance.name)", "request_id": "\(requestId)", "error": "\(String(reflecting: type(of: error)))"])
                throw PluginError(.internalError, "internal error")
            }
        }
        if let matchedLabel { label = matchedLabel }
        guard let response else { throw PluginError(.notFound, "no such resource") }
        return makeResponse(response)
    }

    // MARK: Pieces

    private func authenticate(_ request: Request, required: Bool) async throws -> Principal? {
        var principal: Principal?
        if let token = BearerToken.from(request.headers[.authorization]) {
            principal = try await host.admit(bearer: token)
        }
        if required, principal == nil {
            throw PluginError(.unauthorized, "a valid access token is required")
        }
        return principal
    }

    private func requireAdmin(_ request: Request) async throws {
        let principal = try await authenticate(request, required: true)
        guard principal?.roles.contains("admin") == true else {
            throw PluginError(.forbidden, "administrators only")
        }
    }

    /// The deadline of a route that streams its body and sets none of its own.
    static let streamingDeadline: Duration = .seconds(24 * 3600)

    private func makePluginRequest(
        _ request: Request, requestId: String, remoteAddress: String?, parameters: [String: String], principal: Principal?,
        streamLimit: Int64? = nil
    ) async throws -> PluginRequest {
        var stream: ByteStream?
        var buffer = ByteBuffer()
        if let streamLimit {
            if let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > streamLimit {
                throw PluginError(.payloadTooLarge, "the body is larger than \(streamLimit) bytes", details: ["max_bytes": "\(streamLimit)"])
            }
            stream = RequestBodyReader(request.body, limit: streamLimit).stream
        } else {
            buffer = try await request.body.collect(upTo: host.configuration.maxBodyBytes)
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        var pluginRequest = PluginRequest(
            method: RouteMethod(rawValue: request.method.rawValue),
            path: request.uri.path,
            pathParameters: parameters,
            queryItems: QueryString.parse(request.uri.query),
            headers: headers,
            body: Data(buffer: buffer),
            requestId: requestId,
            principal: principal)
        pluginRequest.remoteAddress = remoteAddress
        pluginRequest.bodyStream = stream
        return pluginRequest
    }

    private func makeResponse(_ response: PluginResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        if let stream = response.bodyStream {
            let length = response.headers.first { $0.key.lowercased() == "content-length" }.flatMap { Int($0.value) }
            return Response(
                status: HTTPResponse.Status(code: response.status), headers: fields,
                body: ResponseBody(contentLength: length) { writer in
                    while let piece = try await stream.next() { try await writer.write(ByteBuffer(bytes: piece)) }
                    try await writer.finish(nil)
                })
        }
        return Response(
            status: HTTPResponse.Status(code: response.status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body)))
    }

    private func json(_ value: some Encodable) throws -> Response {
        let data = try JSONEncoder.quik.encode(value)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `POST /api/v1/admin/plugins/{name}/reload` → name.
    package static func reloadTarget(_ path: String) -> String? {
        let parts = path.split(separator: "/")
        guard parts.count == 6, parts[0] == "api", parts[1] == "v1", parts[2] == "admin", parts[3] == "plugins",
            parts[5] == "reload"
        else { return nil }
        return String(parts[4])
    }
}

extension HTTPField.Name {
    package static var requestID: Self { Self("X-Request-Id")! }
}
