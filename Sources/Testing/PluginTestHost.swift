import Foundation
import Logging
import QuikHost
import QuikRuntime
import QuikSDK
import QuikSupport

/// A real QuikApp host for a plugin's tests, in the test process: the author's
/// plugin (and any it depends on) loaded from the build folder, a private
/// MariaDB, HTTP and the realtime socket on a free loopback port.
///
/// ```swift
/// @Test func greets() async throws {
///     try await PluginTestHost.with(plugins: [.built("greeter")]) { host in
///         let reply = try await host.client.get("/api/v1/greeter/Ada", token: host.token(for: "ada"))
///         #expect(reply.status == 200)
///     }
/// }
/// ```
public struct PluginTestHost: Sendable {
    /// The running host.
    public let host: QuikHost
    /// Its port on 127.0.0.1.
    public let port: Int
    /// An HTTP client for it.
    public let client: HTTPTestClient

    /// A token the harness accepts for `user` with `roles` (unless the host verifies its own tokens).
    public func token(for user: String, roles: [String] = ["user"]) -> String {
        FixedTokens.token(for: user, roles: roles)
    }

    /// The `server.metrics_token` every harness host is given, unless `configure` changes it.
    public static let metricsToken = "harness-metrics-token-0123456789"

    /// `GET /metrics` with the metrics token.
    public func metrics() async throws -> HTTPTestClient.Reply {
        try await client.get("/metrics", token: Self.metricsToken)
    }

    /// Opens a realtime socket as `user`.
    public func socket(as user: String, roles: [String] = ["user"]) -> RealtimeTestSocket {
        RealtimeTestSocket(port: port, token: token(for: user, roles: roles))
    }

    /// Starts a host with `plugins`, runs `body`, then shuts the host down gracefully.
    /// `hostTokens` makes the host verify its own access tokens (from an `auth` plugin)
    /// instead of the harness's; `configure` changes anything else.
    public static func with(
        plugins: [TestPlugin],
        hostTokens: Bool = false,
        configure: (inout HostConfiguration) -> Void = { _ in },
        _ body: (PluginTestHost) async throws -> Void
    ) async throws {
        var configuration = HostConfiguration()
        configuration.port = 0
        configuration.stateDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("quikapp-plugin-test-\(UUID().uuidString)").path
        configuration.drainTimeout = .seconds(2)
        configuration.database.url = try await TestDatabaseServer.socket()
        configuration.database.schemaPrefix = TestDatabaseServer.uniquePrefix()
        // Tests call faster than any person.
        configuration.rateLimits.enabled = false
        configuration.metricsToken = SecretText(metricsToken)
        configuration.plugins = plugins.map { plugin in
            PluginEntry(
                name: plugin.name, path: plugin.path, settings: plugin.settings,
                location: SourceLocation(file: "PluginTestHost", line: 0, column: 0))
        }
        configure(&configuration)
        var logger = Logger(label: "plugin-test-host")
        logger.logLevel = ProcessInfo.processInfo.environment["QUIK_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let host = try QuikHost(configuration: configuration, authenticator: hostTokens ? nil : FixedTokens(), logger: logger)
        let (port, task) = try await host.runUntilListening()
        let running = PluginTestHost(host: host, port: port, client: HTTPTestClient(port: port))
        do {
            for plugin in plugins {
                guard let status = host.pluginStatuses.first(where: { $0.name == plugin.name }), status.state == .running else {
                    let status = host.pluginStatuses.first { $0.name == plugin.name }
                    throw HarnessFailure("plugin \(plugin.name) is \(status?.state.rawValue ?? "missing"): \(status?.error ?? "")")
                }
            }
            try await body(running)
        } catch {
            await host.shutdown()
            _ = try? await task.value
            try? FileManager.default.removeItem(atPath: configuration.stateDirectory)
            throw error
        }
        await host.shutdown()
        try await task.value
        try? FileManager.default.removeItem(atPath: configuration.stateDirectory)
    }
}

/// A plugin for ``PluginTestHost``: its name in plugins.yml, its library and its settings.
public struct TestPlugin: Sendable {
    /// The name it runs under.
    public var name: String
    /// Its shared library.
    public var path: String
    /// Its settings, as plugins.yml would give them.
    public var settings: [String: SettingValue]

    /// A plugin from a library at `path`.
    public init(name: String, path: String, settings: [String: SettingValue] = [:]) {
        self.name = name
        self.path = path
        self.settings = settings
    }

    /// `lib<product>.so` from the build folder the tests run from (`.build/debug`),
    /// where `swift build --build-tests` puts a package's dynamic products.
    public static func built(_ product: String, name: String? = nil, settings: [String: SettingValue] = [:]) -> TestPlugin {
        TestPlugin(name: name ?? product, path: "\(buildDirectory)/lib\(product).so", settings: settings)
    }

    /// The folder of the running test binary.
    public static let buildDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()
}

/// The harness's tokens, `test:<user>:<role>,<role>`, accepted without a signature.
struct FixedTokens: Authenticator {
    static func token(for user: String, roles: [String]) -> String {
        "test:\(user):\(roles.joined(separator: ","))"
    }

    func authenticate(bearer token: String) async -> Principal? {
        let parts = token.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "test", !parts[1].isEmpty else { return nil }
        return Principal(userId: String(parts[1]), roles: parts[2].split(separator: ",").map(String.init))
    }
}
