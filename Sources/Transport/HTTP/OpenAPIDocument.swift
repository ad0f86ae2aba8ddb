import Foundation
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport

/// Assembles `/api/v1/openapi.json` (OpenAPI 3.1) from the host's own paths and
/// every running plugin's routes, with the parameters, bodies and responses each
/// route declares (`RouteOptions.documented`). Every operation may also answer
/// the error envelope, with any status (`default`).
package enum OpenAPIDocument {
    package static func build(version: String, instances: [PluginInstance], devMode: Bool) -> Data {
        var paths: [String: [String: Any]] = [:]
        func add(_ path: String, _ method: String, _ operation: [String: Any]) {
            paths[path, default: [:]][method.lowercased()] = operation
        }
        for (path, method, operation) in hostOperations(devMode: devMode) { add(path, method, operation) }
        for instance in instances {
            guard let mount = instance.manifest.mount else { continue }
            for route in instance.sealed.routes {
                let suffix = route.pattern.description == "/" ? "" : route.pattern.description
                let operationId = "\(instance.name).\(route.method.rawValue.lowercased())\(suffix.replacingOccurrences(of: "/", with: "."))"
                    .replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")
                add("/api/v1/\(mount)\(suffix)", route.method.rawValue, operation(route, tag: instance.name, operationId: operationId))
            }
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "QuikApp", "version": version,
                "description": "The host and every running plugin. Errors are the envelope of components.schemas.Error.",
            ],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
                "responses": [
                    "Error": [
                        "description": "The error envelope",
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
                    ]
                ],
                "schemas": ["Error": object(errorEnvelope)],
            ],
        ]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    /// One plugin route's operation.
    private static func operation(_ route: PluginRoute, tag: String, operationId: String) -> [String: Any] {
        let options = route.options
        var operation: [String: Any] = ["tags": [tag], "summary": options.summary, "operationId": operationId]
        if options.requiresAuthentication { operation["security"] = [["bearer": []]] }
        var parameters: [[String: Any]] = route.pattern.segments.compactMap {
            if case .parameter(let name) = $0 { ["name": name, "in": "path", "required": true, "schema": ["type": "string"]] } else { nil }
        }
        for parameter in options.parameters {
            var entry: [String: Any] = ["name": parameter.name, "in": parameter.location, "required": parameter.required, "schema": object(parameter.schema)]
            if !parameter.summary.isEmpty { entry["description"] = parameter.summary }
            parameters.append(entry)
        }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let body = options.requestBody {
            operation["requestBody"] = ["required": true, "content": [options.requestContentType: ["schema": object(body)]]]
        }
        var success: [String: Any] = ["description": options.responseStatus == 204 ? "No content" : "Success"]
        if let response = options.response, options.responseStatus != 204 {
            success["content"] = [options.responseContentType: ["schema": object(response)]]
        }
        var responses: [String: Any] = ["default": ["$ref": "#/components/responses/Error"]]
        for status in [options.responseStatus] + options.otherResponseStatuses { responses["\(status)"] = success }
        operation["responses"] = responses
        return operation
    }

    /// The host's own paths.
    private static func hostOperations(devMode: Bool) -> [(String, String, [String: Any])] {
        func json(_ schema: APISchema) -> [String: Any] { ["application/json": ["schema": object(schema)]] }
        let error: [String: Any] = ["$ref": "#/components/responses/Error"]
        let pluginHealth = APISchema.object(
            [
                "name": .string, "version": APISchema.string.orNull, "state": .string(values: ["running", "failed", "blocked"]),
                "error": APISchema.string.orNull,
            ], required: ["name", "version", "state", "error"])
        let health = APISchema.object(
            [
                "status": .string(values: ["ok", "degraded"]), "version": .string, "uptime_s": .integer,
                "database": .string(values: ["ok", "down"]), "plugins": .array(pluginHealth),
            ], required: ["status", "version", "uptime_s", "database", "plugins"])
        let jwk = APISchema.object(["kty": .string, "kid": .string], required: ["kty", "kid"])
        var operations: [(String, String, [String: Any])] = [
            ("/health", "get", [
                "summary": "Host and plugin health", "tags": ["host"], "operationId": "host.health",
                "responses": ["200": ["description": "Health", "content": json(health)], "default": error],
            ]),
            ("/metrics", "get", [
                "summary": "Prometheus metrics (server.metrics_token as bearer)", "tags": ["host"], "operationId": "host.metrics",
                "responses": ["200": ["description": "Prometheus text", "content": ["text/plain": ["schema": ["type": "string"]]]], "default": error],
            ]),
            ("/api/v1/openapi.json", "get", [
                "summary": "This document", "tags": ["host"], "operationId": "host.openapi",
                "responses": ["200": ["description": "OpenAPI 3.1", "content": json(.object([:]))], "default": error],
            ]),
            ("/api/v1/realtime", "get", [
                "summary": "Realtime WebSocket (upgrade); token as Authorization header or ?token=", "tags": ["host"],
                "operationId": "host.realtime", "responses": ["101": ["description": "Switching protocols"], "default": error],
            ]),
            ("/api/v1/auth/jwks", "get", [
                "summary": "Public keys that verify access tokens", "tags": ["host"], "operationId": "host.jwks",
                "responses": ["200": ["description": "JWKS", "content": json(.object(["keys": .array(jwk)], required: ["keys"]))], "default": error],
            ]),
            ("/api/v1/admin/plugins", "get", [
                "summary": "Plugins with versions, mounts and load times (admin)", "tags": ["host"], "operationId": "host.plugins",
                "security": [["bearer": []]],
                "responses": ["200": ["description": "Plugins", "content": json(.object(["items": .array(.object([:]))], required: ["items"]))], "default": error],
            ]),
        ]
        if devMode {
            operations.append(("/api/v1/admin/plugins/{name}/reload", "post", [
                "summary": "Reload a plugin from its library (admin, dev mode)", "tags": ["host"], "operationId": "host.reload",
                "security": [["bearer": []]],
                "parameters": [["name": "name", "in": "path", "required": true, "schema": ["type": "string"]]],
                "responses": ["200": ["description": "The plugin's status", "content": json(.object([:]))], "default": error],
            ]))
        }
        return operations
    }

    private static let errorEnvelope = APISchema.object(
        [
            "error": .object(
                ["code": .string, "message": .string, "details": .object([:])], required: ["code", "message"])
        ], required: ["error"])

    /// A schema as the JSON object it is.
    private static func object(_ schema: APISchema) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(schema.json.utf8))) ?? [:]
    }
}
