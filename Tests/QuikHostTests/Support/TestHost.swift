import AsyncHTTPClient
import Foundation
import QuikTesting
import Logging
import NIOCore
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

/// A host serving on a free loopback port for the length of one test.
struct TestHost {
    let host: QuikHost
    let port: Int
    let client: TestClient

    /// Parses `yaml` as `plugins.yml` and starts a host from it.
    static func start(
        yaml: String,
        devMode: Bool = false,
        tweak: (inout HostConfiguration) -> Void = { _ in }
    ) async throws -> (TestHost, Task<Void, any Error>) {
        var configuration = try PluginsFile.parse(yaml, file: "test-plugins.yml")
        configuration.port = 0
        configuration.devMode = devMode
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.drainTimeout = .seconds(2)
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        // Tests call faster than any person; the rate-limit tests turn limits back on.
        configuration.rateLimits.enabled = false
        // `metrics()` reads /metrics with it; a tweak may take it away.
        configuration.metricsToken = SecretText(PluginTestHost.metricsToken)
        tweak(&configuration)
        return try await start(configuration: configuration)
    }

    /// Starts a host from a configuration and waits until it listens. `authenticator`
    /// `nil` keeps the host's own access-token verification.
    static func start(
        configuration: HostConfiguration,
        authenticator: (any Authenticator)? = TestAuthenticator(),
        logs: CapturedLogs? = nil
    ) async throws -> (TestHost, Task<Void, any Error>) {
        // QUIK_TEST_LOG=debug shows what the test hosts do, tagged by their schema prefix.
        var logger = logs?.logger(label: "test-host") ?? Logger(label: "test-host")
        if logs == nil {
            logger.logLevel = ProcessInfo.processInfo.environment["QUIK_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        }
        logger[metadataKey: "host"] = .string(configuration.database.schemaPrefix)
        let host = try QuikHost(configuration: configuration, authenticator: authenticator, logger: logger)
        let (port, task) = try await host.runUntilListening()
        return (TestHost(host: host, port: port, client: TestClient(port: port)), task)
    }

    /// Starts a host, runs `body`, and shuts the host down gracefully.
    static func with(
        yaml: String,
        devMode: Bool = false,
        tweak: (inout HostConfiguration) -> Void = { _ in },
        _ body: (TestHost) async throws -> Void
    ) async throws {
        try await serve(try await start(yaml: yaml, devMode: devMode, tweak: tweak), body)
    }

    /// Starts a host from a configuration, runs `body`, and shuts the host down gracefully.
    static func with(configuration: HostConfiguration, _ body: (TestHost) async throws -> Void) async throws {
        try await serve(try await start(configuration: configuration), body)
    }

    static func serve(_ started: (TestHost, Task<Void, any Error>), _ body: (TestHost) async throws -> Void) async throws {
        let (running, task) = started
        do {
            try await body(running)
        } catch {
            await running.host.shutdown()
            _ = try? await task.value
            throw error
        }
        await running.host.shutdown()
        try await task.value
    }

    /// `GET /metrics` with the metrics token every test host started from YAML is given.
    func metrics() async throws -> TestClient.Reply {
        try await client.get("/metrics", token: PluginTestHost.metricsToken)
    }

    /// The status of one plugin in `/health`.
    func pluginState(_ name: String) async throws -> (state: String, error: String?) {
        let health = try await client.get("/health").json()
        let plugins = health["plugins"] as? [[String: Any]] ?? []
        guard let plugin = plugins.first(where: { $0["name"] as? String == name }) else {
            throw TestFailure("no plugin \(name) in /health")
        }
        return (plugin["state"] as? String ?? "", plugin["error"] as? String)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The harness's HTTP client.
typealias TestClient = HTTPTestClient
