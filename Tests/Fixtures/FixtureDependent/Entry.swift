import Foundation
import QuikSDK
import Synchronization

/// Depends on echo: calls its service, intercepts its hook and counts its events.
final class DependentPlugin: QuikPlugin {
    let received = Mutex<[String]>([])

    var manifest: PluginManifest {
        PluginManifest(
            name: "dependent", version: "1.0.0", mount: "dependent", dependencies: ["echo"],
            capabilities: PluginCapabilities(intercepts: ["echo.will_say"]))
    }

    struct Text: Codable { var text: String }

    func setup(_ context: any PluginContext) async throws {
        let open = RouteOptions(requiresAuthentication: false)
        try context.subscribe("echo.**") { event in
            self.received.withLock { $0.append(event.topic + "#" + String(decoding: event.payload, as: UTF8.self)) }
        }
        try context.addRoute(.get, "/received", options: open) { _ in
            try .json(self.received.withLock { $0 })
        }
        try context.addRoute(.get, "/upper", options: open) { request in
            let reply = try await context.call("echo", "upper", Text(text: request.query("text") ?? ""), as: Text.self)
            return try .json(reply)
        }
        try context.intercept("echo.will_say", order: 10) { invocation in
            let said = try JSONDecoder().decode(Text.self, from: invocation.payload)
            if said.text.contains("forbidden") { return .reject(reason: "that word is not allowed") }
            if said.text.contains("slow") {
                try? await Task.sleep(for: .seconds(2))
                return .reject(reason: "should have been skipped")
            }
            if said.text.contains("crash") { throw PluginError(.internalError, "interceptor failed on purpose") }
            if said.text.contains("darn") {
                return .replace(try JSONEncoder().encode(Text(text: said.text.replacingOccurrences(of: "darn", with: "d**n"))))
            }
            return .proceed
        }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(DependentPlugin()) }
