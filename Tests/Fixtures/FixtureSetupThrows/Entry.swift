import QuikSDK

struct SetupFailure: Error, CustomStringConvertible {
    var description: String { "fixture refuses to start" }
}

/// Throws from setup after registering a route, which must never be served.
final class ThrowerPlugin: QuikPlugin {
    var manifest: PluginManifest { PluginManifest(name: "thrower", version: "1.0.0", mount: "thrower") }
    func setup(_ context: any PluginContext) async throws {
        try context.addRoute(.get, "/hello", options: RouteOptions(requiresAuthentication: false)) { _ in .text("half set up") }
        throw SetupFailure()
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(ThrowerPlugin()) }
