import QuikSDK
import Synchronization

/// A subscriber that takes ten seconds per event.
final class SlowpokePlugin: QuikPlugin {
    let handled = Mutex(0)

    var manifest: PluginManifest { PluginManifest(name: "slowpoke", version: "1.0.0", mount: "slowpoke") }

    func setup(_ context: any PluginContext) async throws {
        try context.subscribe("echo.**") { _ in
            try? await Task.sleep(for: .seconds(10))
            self.handled.withLock { $0 += 1 }
        }
        try context.addRoute(.get, "/handled", options: RouteOptions(requiresAuthentication: false)) { _ in
            try .json(["handled": self.handled.withLock { $0 }])
        }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(SlowpokePlugin()) }
