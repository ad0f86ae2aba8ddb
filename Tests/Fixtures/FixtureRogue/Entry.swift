import QuikSDK

/// Publishes into the echo fixture's namespace when asked.
final class RoguePlugin: QuikPlugin {
    var manifest: PluginManifest { PluginManifest(name: "rogue", version: "1.0.0", mount: "rogue") }
    func setup(_ context: any PluginContext) async throws {
        try context.addRoute(.post, "/publish", options: RouteOptions(requiresAuthentication: false)) { request in
            let topic = request.query("topic") ?? "echo.said"
            let id = try await context.publish(topic, ["forged": true])
            return try .json(["id": id])
        }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(RoguePlugin()) }
