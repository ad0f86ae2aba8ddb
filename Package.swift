// swift-tools-version:6.0
import PackageDescription

/// A fixture plugin for the host's tests: its own dynamic library, depending on the SDK only.
func fixture(_ name: String, dependencies: [Target.Dependency] = []) -> [Target] {
    [
        .target(
            name: name,
            dependencies: [.product(name: "QuikSDK", package: "SDK")] + dependencies,
            path: "Tests/Fixtures/\(name)"
        )
    ]
}

let fixtures = [
    "FixtureEchoV1", "FixtureEchoV2", "FixtureBadABI", "FixtureNoEntry", "FixtureSetupThrows",
    "FixtureOutsideMount", "FixtureMountClash", "FixtureRogue", "FixtureDependent", "FixtureSlowpoke", "FixtureReplica", "FixtureNotes", "FixtureNotesV2", "FixtureModerator", "FixtureJobs",
]

/// The static pieces a fixture links in besides the SDK.
func fixtureDependencies(_ name: String) -> [Target.Dependency] {
    if name.hasPrefix("FixtureEcho") { return ["FixtureEchoCore"] }
    if name.hasPrefix("FixtureNotes") { return ["FixtureNotesCore"] }
    if name == "FixtureReplica" { return ["FixtureSupport"] }
    return []
}

/// First-party plugins: product (and library file) name, target, folder under Plugins/, extra dependencies.
let plugins: [(product: String, target: String, folder: String, dependencies: [Target.Dependency])] = [
    ("auth", "AuthPlugin", "Auth", ["CArgon2", .product(name: "Crypto", package: "swift-crypto")]),
    ("user", "UserPlugin", "User", []),
    ("permission", "PermissionPlugin", "Permission", []),
    ("audit", "AuditPlugin", "Audit", [.product(name: "Crypto", package: "swift-crypto")]),
    ("admin", "AdminPlugin", "Admin", []),
    ("workspace", "WorkspacePlugin", "Workspace", []),
    ("channel", "ChannelPlugin", "Channel", []),
    ("message", "MessagePlugin", "Message", [.product(name: "Crypto", package: "swift-crypto")]),
    ("thread", "ThreadPlugin", "Thread", []),
    ("presence", "PresencePlugin", "Presence", []),
    (
        "files", "FilesPlugin", "Files",
        ["CVips", .product(name: "Crypto", package: "swift-crypto"), .product(name: "MultipartKit", package: "multipart-kit")]
    ),
    ("search", "SearchPlugin", "Search", []),
    ("reminders", "RemindersPlugin", "Reminders", []),
    ("scheduled", "ScheduledPlugin", "Scheduled", []),
    ("notifications", "NotificationsPlugin", "Notifications", ["QuikWebPush", .product(name: "Crypto", package: "swift-crypto")]),
    ("calls", "CallsPlugin", "Calls", [.product(name: "Crypto", package: "swift-crypto")]),
    ("bookmarks", "BookmarksPlugin", "Bookmarks", []),
    ("polls", "PollsPlugin", "Polls", []),
]

let package = Package(
    name: "QuikApp",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "quikapp", targets: ["quikapp"]),
        .executable(name: "quikapp-bench", targets: ["QuikBench"]),
        .executable(name: "quikapp-load", targets: ["QuikLoad"]),
        // The test harness for plugin authors: a real host, database, HTTP and sockets in a test.
        .library(name: "QuikTesting", targets: ["QuikTesting"]),
    ] + plugins.map { .library(name: $0.product, type: .dynamic, targets: [$0.target]) }
        + fixtures.map { .library(name: $0, type: .dynamic, targets: [$0]) },
    dependencies: [
        .package(path: "SDK"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.1.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.24.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        // Tests only: validates the OpenAPI document the host serves.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        .systemLibrary(
            name: "CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        .systemLibrary(
            name: "CVips",
            pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]
        ),
        .target(
            name: "QuikContracts",
            dependencies: [.product(name: "QuikSDK", package: "SDK")],
            path: "Plugins/Contracts"
        ),
        .target(
            name: "QuikPluginKit",
            dependencies: [.product(name: "QuikSDK", package: "SDK")],
            path: "Plugins/Kit"
        ),
        // Web Push (RFC 8030, 8291, 8292): payload encryption and VAPID, for plugins that notify browsers.
        .target(
            name: "QuikWebPush",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Plugins/WebPush"
        ),
        // The host, in layers; each may import only those listed before it.
        .target(
            name: "QuikSupport",
            dependencies: [
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Support"
        ),
        .target(
            name: "QuikMariaDB",
            dependencies: [
                "CMariaDB",
                "QuikSupport",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/MariaDB"
        ),
        .target(
            name: "QuikStorage",
            dependencies: [
                "QuikSupport",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/Storage"
        ),
        .target(
            name: "QuikRuntime",
            dependencies: [
                "QuikMariaDB",
                "QuikStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                "QuikSupport",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Runtime"
        ),
        .target(
            name: "QuikTransport",
            dependencies: [
                "QuikRuntime",
                "QuikMariaDB",
                "QuikSupport",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Transport"
        ),
        .target(
            name: "QuikHost",
            dependencies: [
                "QuikTransport",
                "QuikRuntime",
                "QuikMariaDB",
                "QuikSupport",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Host"
        ),
        .executableTarget(
            name: "quikapp",
            dependencies: [
                "QuikHost",
                "QuikRuntime",
                "QuikSupport",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "QuikTesting",
            dependencies: [
                "QuikHost",
                "QuikRuntime",
                "QuikMariaDB",
                "QuikSupport",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/Testing"
        ),
        // Shared by quikapp-bench and quikapp-load; not part of the server.
        .target(
            name: "QuikBenchKit",
            dependencies: [
                "QuikRuntime",
                "QuikMariaDB",
                .product(name: "QuikSDK", package: "SDK"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/BenchKit"
        ),
        .executableTarget(
            name: "QuikBench",
            dependencies: [
                "QuikHost",
                "QuikTransport",
                "QuikBenchKit",
                "QuikRuntime",
                "QuikMariaDB",
                "QuikSupport",
                "CArgon2",
                "CVips",
                "QuikWebPush",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/QuikBench"
        ),
        .executableTarget(
            name: "QuikLoad",
            dependencies: [
                "QuikHost",
                "QuikBenchKit",
                "QuikRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/QuikLoad"
        ),
        .target(
            name: "FixtureSupport",
            path: "Tests/Fixtures/FixtureSupport"
        ),
        .target(
            name: "FixtureNotesCore",
            dependencies: ["FixtureSupport", .product(name: "QuikSDK", package: "SDK")],
            path: "Tests/Fixtures/FixtureNotesCore"
        ),
        .target(
            name: "FixtureEchoCore",
            dependencies: [.product(name: "QuikSDK", package: "SDK")],
            path: "Tests/Fixtures/FixtureEchoCore"
        ),
        .testTarget(
            name: "QuikHostTests",
            dependencies: [
                "QuikHost",
                "QuikTesting",
                "QuikTransport",
                "QuikRuntime",
                "QuikStorage",
                "QuikMariaDB",
                "QuikSupport",
                "QuikWebPush",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ]
        ),
    ]
        + plugins.flatMap { plugin -> [Target] in
            [
                .target(
                    name: plugin.target,
                    dependencies: ["QuikPluginKit", "QuikContracts", .product(name: "QuikSDK", package: "SDK")] + plugin.dependencies,
                    path: "Plugins/\(plugin.folder)",
                    exclude: ["Tests"]
                ),
                // Each plugin's own tests, through the plugin-author harness.
                .testTarget(
                    name: "\(plugin.target)Tests",
                    dependencies: ["QuikTesting", .product(name: "QuikSDK", package: "SDK")],
                    path: "Plugins/\(plugin.folder)/Tests"
                ),
            ]
        }
        + fixtures.flatMap { name in
            fixture(name, dependencies: fixtureDependencies(name))
        }
)
