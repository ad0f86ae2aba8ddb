import Foundation
import QuikSDK
import Synchronization

/// Greets people over HTTP and the realtime socket, and counts greetings.
final class GreeterPlugin: QuikPlugin {
    private let greetings = Mutex(0)

    var manifest: PluginManifest {
        PluginManifest(
            name: "greeter",
            version: "1.0.0",
            mount: "greeter",
            capabilities: PluginCapabilities(publishes: ["greeter"], frames: ["greeter.wave"]),
            settings: [
                SettingSpec(key: "salutation", kind: .string, defaultValue: .string("Hello"), help: "The word greetings start with")
            ],
            summary: "An example third-party plugin")
    }

    struct Greeting: Codable {
        var message: String
        var count: Int
    }

    func setup(_ context: any PluginContext) async throws {
        let salutation = context.settings["salutation"]?.stringValue ?? "Hello"

        // GET /api/v1/greeter/{name}: anyone may ask.
        try context.addRoute(.get, "/{name}", options: RouteOptions(requiresAuthentication: false, summary: "Greet someone")) {
            request in
            let name = try request.parameter("name")
            guard name.count <= 64 else {
                throw PluginError(.validationFailed, "name is too long", details: ["name": "at most 64 characters"])
            }
            let count = self.greetings.withLock { count in
                count += 1
                return count
            }
            let greeting = Greeting(message: "\(salutation), \(name)!", count: count)
            try await context.publish("greeter.greeted", greeting)
            return try .json(greeting)
        }

        // Realtime frame {"type": "greeter.wave", "id": "1"}: waves back to the sender.
        try context.onFrame("greeter.wave") { frame in
            let event = try RealtimeEvent(topic: "greeter.waved", value: ["from": "greeter", "to": frame.principal.userId])
            await context.send(event, to: .user(frame.principal.userId))
        }

        context.logger.info("greeter ready", metadata: ["salutation": salutation])
    }
}

// The three C entry points every plugin exports. The two versions are C macros,
// so they record the SDK this library was compiled against.
@_cdecl("quikapp_plugin_abi_version")
public func quikappPluginABIVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }

@_cdecl("quikapp_plugin_sdk_version")
public func quikappPluginSDKVersion() -> Int32 { QUIK_SDK_VERSION }

@_cdecl("quikapp_plugin_create")
public func quikappPluginCreate() -> UnsafeMutableRawPointer { PluginExport.retain(GreeterPlugin()) }
