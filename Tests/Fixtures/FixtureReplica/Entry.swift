import FixtureSupport
import Foundation
import QuikSDK
import Synchronization

/// A plugin that takes its name from its own file (`libreplica-7.so` is plugin
/// `replica-7`), so the benchmark can load many copies side by side. It answers
/// like echo's `/hello` and counts echo's events.
final class ReplicaPlugin: QuikPlugin {
    let name: String
    let counted = Mutex(0)

    init() {
        name = OwnLibrary.pluginName(fallback: "replica")
    }

    var manifest: PluginManifest { PluginManifest(name: name, version: "1.0.0", mount: name) }

    func setup(_ context: any PluginContext) async throws {
        let open = RouteOptions(requiresAuthentication: false)
        try context.addRoute(.get, "/hello", options: open) { _ in
            try .json(["version": "1.0.0", "greeting": "hello"])
        }
        try context.subscribe("echo.**") { _ in
            self.counted.withLock { $0 += 1 }
        }
        try context.addRoute(.get, "/count", options: open) { _ in
            try .json(["count": self.counted.withLock { $0 }])
        }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(ReplicaPlugin()) }
