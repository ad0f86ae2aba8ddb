import Foundation

/// The files of a new out-of-tree plugin package, as `quikapp plugins new` writes them.
struct PluginTemplate {
    /// The plugin's name, mount and library (`libNAME.so`).
    let name: String
    /// The QuikApp checkout it builds against: its SDK, and its test harness for the tests.
    let quikapp: String

    /// `demo` → `Demo`, `read-receipts` → `ReadReceipts`.
    var typeName: String {
        name.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The identity SwiftPM gives the QuikApp package: its folder's name.
    private var quikappPackage: String { URL(fileURLWithPath: quikapp).lastPathComponent.lowercased() }

    /// Path → contents.
    var files: [(String, String)] {
        [
            ("Package.swift", package),
            ("Sources/\(typeName)/\(typeName)Plugin.swift", plugin),
            ("Sources/\(typeName)/Entry.swift", entry),
            ("Tests/\(typeName)Tests/\(typeName)Tests.swift", tests),
            ("plugins.yml", pluginsFile),
            ("README.md", readme),
            (".gitignore", ".build/\n.build-*/\n.quikapp/\nPackage.resolved\n"),
        ]
    }

    private var package: String {
        """
        // swift-tools-version:6.0
        import PackageDescription

        // A QuikApp plugin: one dynamic library (lib\(name).so) against the QuikApp SDK.
        // The tests use QuikTesting, QuikApp's harness: a real host and database in the test.
        let package = Package(
            name: "\(typeName)",
            products: [
                .library(name: "\(name)", type: .dynamic, targets: ["\(typeName)"])
            ],
            dependencies: [
                .package(path: "\(quikapp)/SDK"),
                .package(path: "\(quikapp)"),
            ],
            targets: [
                .target(name: "\(typeName)", dependencies: [.product(name: "QuikSDK", package: "SDK")]),
                .testTarget(
                    name: "\(typeName)Tests",
                    dependencies: [
                        .product(name: "QuikTesting", package: "\(quikappPackage)"),
                        .product(name: "QuikSDK", package: "SDK"),
                    ]
                ),
            ]
        )

        """
    }

    private var plugin: String {
        """
        import Foundation
        import QuikSDK

        /// The \(name) plugin: serves `GET /api/v1/\(name)/hello`.
        final class \(typeName)Plugin: QuikPlugin {
            var manifest: PluginManifest {
                PluginManifest(
                    name: "\(name)",
                    version: "0.1.0",
                    mount: "\(name)",
                    settings: [
                        SettingSpec(key: "greeting", kind: .string, defaultValue: .string("hello"), help: "What /hello says")
                    ],
                    summary: "The \(name) plugin")
            }

            struct Hello: Codable {
                var greeting: String
                /// The signed-in caller, if any.
                var userId: String?
            }

            func setup(_ context: any PluginContext) async throws {
                let greeting = context.settings["greeting"]?.stringValue ?? "hello"
                let options = RouteOptions(requiresAuthentication: false, summary: "Says hello, to the caller if signed in")
                    .documented(response: .decoding(Hello.self))
                try context.addRoute(.get, "/hello", options: options) { request in
                    try .json(Hello(greeting: greeting, userId: request.principal?.userId))
                }
            }
        }

        """
    }

    private var entry: String {
        """
        import QuikSDK

        // The three C entry points every plugin exports; the versions are C macros, so they
        // record the SDK this library was compiled against.
        @_cdecl("quikapp_plugin_abi_version")
        public func quikappPluginABIVersion() -> Int32 { QUIK_PLUGIN_ABI_VERSION }

        @_cdecl("quikapp_plugin_sdk_version")
        public func quikappPluginSDKVersion() -> Int32 { QUIK_SDK_VERSION }

        @_cdecl("quikapp_plugin_create")
        public func quikappPluginCreate() -> UnsafeMutableRawPointer { PluginExport.retain(\(typeName)Plugin()) }

        """
    }

    private var tests: String {
        """
        import QuikTesting
        import Testing

        @Suite("\(name)")
        struct \(typeName)Tests {
            @Test("hello answers the signed-in caller with the configured greeting")
            func hello() async throws {
                try await PluginTestHost.with(plugins: [.built("\(name)", settings: ["greeting": .string("howdy")])]) { host in
                    let reply = try await host.client.get("/api/v1/\(name)/hello", token: host.token(for: "ada"))
                    #expect(reply.status == 200)
                    #expect(try reply.json()["greeting"] as? String == "howdy")
                    #expect(try reply.json()["user_id"] as? String == "ada")
                    let anonymous = try await host.client.get("/api/v1/\(name)/hello")
                    #expect(anonymous.status == 200)
                    #expect(try anonymous.json()["user_id"] == nil)
                }
            }
        }

        """
    }

    private var pluginsFile: String {
        """
        # Serves this plugin alone, reloading it when it is rebuilt:
        #   swift build && \(quikapp)/.build/debug/quikapp serve --config plugins.yml --dev --port 8090
        server:
          state_dir: .quikapp
        plugins:
          \(name):
            path: .build/debug/lib\(name).so
            settings:
              greeting: hello

        """
    }

    private var readme: String {
        """
        # \(name)

        A QuikApp plugin, made by `quikapp plugins new \(name)`.

        ```sh
        swift build                                                   # .build/debug/lib\(name).so
        \(quikapp)/.build/debug/quikapp serve --config plugins.yml --dev --port 8090
        swift test                                                    # a real host and database in the test
        ```

        With `--dev` the host reloads the plugin whenever `swift build` replaces its library.
        `curl localhost:8090/api/v1/\(name)/hello` answers; the plugin guide is
        `\(quikapp)/Examples/Greeter/README.md`.

        """
    }
}
