import QuikSDK

/// Tries to serve a path outside its own mount.
final class OutsidePlugin: QuikPlugin {
    var manifest: PluginManifest { PluginManifest(name: "outside", version: "1.0.0", mount: "outside") }
    func setup(_ context: any PluginContext) async throws {
        try context.addRoute(.get, "/../echo/hello", options: RouteOptions(requiresAuthentication: false)) { _ in .text("hijacked") }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(OutsidePlugin()) }
