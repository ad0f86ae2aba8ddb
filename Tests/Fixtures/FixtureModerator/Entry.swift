import Foundation
import QuikSDK

/// Takes part in `message.will_post`: refuses text with "forbidden" and writes "darn" as "d**n".
final class ModeratorPlugin: QuikPlugin {
    var manifest: PluginManifest {
        PluginManifest(name: "moderator", version: "1.0.0", capabilities: PluginCapabilities(intercepts: ["message.will_post"]))
    }

    func setup(_ context: any PluginContext) async throws {
        try context.intercept("message.will_post", order: 10) { invocation in
            guard var post = try JSONSerialization.jsonObject(with: invocation.payload) as? [String: Any], let text = post["text"] as? String else {
                return .proceed
            }
            if text.contains("forbidden") { return .reject(reason: "this message breaks the house rules") }
            guard text.contains("darn") else { return .proceed }
            post["text"] = text.replacingOccurrences(of: "darn", with: "d**n")
            return .replace(try JSONSerialization.data(withJSONObject: post))
        }
    }
}

@_cdecl("quikapp_plugin_abi_version") public func abiVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }
@_cdecl("quikapp_plugin_sdk_version") public func sdkVersion() -> Int32 { QUIK_SDK_VERSION }
@_cdecl("quikapp_plugin_create") public func create() -> UnsafeMutableRawPointer { PluginExport.retain(ModeratorPlugin()) }
