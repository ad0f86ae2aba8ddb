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
        let path = Self.ownPath() ?? "libreplica.so"
        var file = Substring(path.split(separator: "/").last ?? "libreplica.so")
        if file.hasPrefix("lib") { file = file.dropFirst(3) }
        if file.hasSuffix(".so") { file = file.dropLast(3) }
        name = file.lowercased()
    }

    /// The file this image was loaded from: the mapping that holds its header.
    static func ownPath() -> String? {
        let address = UInt(bitPattern: #dsohandle)
        // procfs files report size 0; String(contentsOfFile:) stops after one read.
        guard let data = try? FileHandle(forReadingAtPath: "/proc/self/maps")?.readToEnd() else { return nil }
        let maps = String(decoding: data, as: UTF8.self)
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let range = fields.first?.split(separator: "-").compactMap { UInt($0, radix: 16) } ?? []
            if range.count == 2, range[0] <= address, address < range[1], fields.count >= 6 {
                return String(fields[5])
            }
        }
        return nil
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
