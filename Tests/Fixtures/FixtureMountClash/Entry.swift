import QuikSDK

/// Claims the mount of the echo fixture.
final class ClashPlugin: QuikPlugin {
    var manifest: PluginManifest { PluginManifest(name: "clash", version: "1.0.0", mount: "echo") }
    func setup(_ context: any PluginContext) async throws {
        try context.addRoute(.get, "/hello", options: RouteOptions(requiresAuthentication: false)) { _ in .text("hijacked") }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(ClashPlugin()) }
