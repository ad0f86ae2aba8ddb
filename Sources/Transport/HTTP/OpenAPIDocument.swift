import Foundation
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport

/// Assembles `/api/v1/openapi.json` from the host's own paths and every running plugin's routes.
package enum OpenAPIDocument {
    package static func build(version: String, instances: [PluginInstance], devMode: Bool) -> Data {
        var paths: [String: [String: Any]] = [:]
        func add(_ path: String, _ method: String, _ operation: [String: Any]) {
            paths[path, default: [:]][method.lowercased()] = operation
        }
        let plain: [String: Any] = ["200": ["description": "OK"], "default": ["$ref": "#/components/responses/Error"]]
        add("/health", "get", ["summary": "Host and plugin health", "tags": ["host"], "responses": plain])
        add("/metrics", "get", ["summary": "Prometheus metrics", "tags": ["host"], "responses": plain])
        add("/api/v1/openapi.json", "get", ["summary": "This document", "tags": ["host"], "responses": plain])
        add("/api/v1/realtime", "get", [
            "summary": "Realtime WebSocket (upgrade); token as Authorization header or ?token=", "tags": ["host"],
            "responses": ["101": ["description": "Switching protocols"]],
        ])
        add("/api/v1/auth/jwks", "get", ["summary": "Public keys that verify access tokens", "tags": ["host"], "responses": plain])
        add("/api/v1/admin/plugins", "get", [
            "summary": "Plugins with versions, mounts and load times (admin)", "tags": ["host"],
            "security": [["bearer": []]], "responses": plain,
        ])
        if devMode {
            add("/api/v1/admin/plugins/{name}/reload", "post", [
                "summary": "Reload a plugin from its library (admin, dev mode)", "tags": ["host"],
                "security": [["bearer": []]], "parameters": [parameter("name")], "responses": plain,
            ])
        }
        for instance in instances {
            guard let mount = instance.manifest.mount else { continue }
            for route in instance.sealed.routes {
                let suffix = route.pattern.description == "/" ? "" : route.pattern.description
                var operation: [String: Any] = [
                    "tags": [instance.name],
                    "summary": route.options.summary,
                    "operationId": "\(instance.name).\(route.method.rawValue.lowercased())\(suffix.replacingOccurrences(of: "/", with: "."))",
                    "responses": plain,
                ]
                if route.options.requiresAuthentication { operation["security"] = [["bearer": []]] }
                let parameters: [[String: Any]] = route.pattern.segments.compactMap {
                    if case .parameter(let name) = $0 { parameter(name) } else { nil }
                }
                if !parameters.isEmpty { operation["parameters"] = parameters }
                add("/api/v1/\(mount)\(suffix)", route.method.rawValue, operation)
            }
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "QuikApp", "version": version],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
                "responses": [
                    "Error": [
                        "description": "The error envelope",
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
                    ]
                ],
                "schemas": [
                    "Error": [
                        "type": "object", "required": ["error"],
                        "properties": [
                            "error": [
                                "type": "object", "required": ["code", "message"],
                                "properties": [
                                    "code": ["type": "string"], "message": ["type": "string"], "details": ["type": "object"],
                                ],
                            ]
                        ],
                    ]
                ],
            ],
        ]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    private static func parameter(_ name: String) -> [String: Any] {
        ["name": name, "in": "path", "required": true, "schema": ["type": "string"]]
    }
}
