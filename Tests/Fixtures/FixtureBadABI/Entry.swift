import QuikSDK

/// Claims to be built against a future SDK major version: the host must refuse it.
final class FuturePlugin: QuikPlugin {
    var manifest: PluginManifest { PluginManifest(name: "future", version: "1.0.0", mount: "future") }
    func setup(_ context: any PluginContext) async throws {
        try context.addRoute(.get, "/hello") { _ in .text("should never be served") }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION + 10000 }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(FuturePlugin()) }
