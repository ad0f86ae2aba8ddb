import Foundation
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@Suite("plugins.yml", .timeLimit(.minutes(2)))
struct ConfigurationTests {
    @Test("a malformed file names the file and the line")
    func malformedYAML() throws {
        let yaml = "server:\n  port: 8080\nplugins:\n  echo: {enabled: true\n"
        let error = #expect(throws: ConfigurationError.self) { try PluginsFile.parse(yaml, file: "deploy/plugins.yml") }
        #expect(error?.location?.file == "deploy/plugins.yml")
        #expect(error?.location?.line == 5)
        #expect(error?.description.hasPrefix("deploy/plugins.yml:5:") == true)
    }

    @Test("an unknown key names the file, the line and the key")
    func unknownKey() throws {
        let yaml = "server:\n  port: 8080\n  prot: 9\n"
        let error = #expect(throws: ConfigurationError.self) { try PluginsFile.parse(yaml, file: "plugins.yml") }
        #expect(error?.key == "server.prot")
        #expect(error?.location?.line == 3)
        #expect(error?.description.contains("plugins.yml:3:3: key 'server.prot'") == true)
    }

    @Test("a value of the wrong type is refused with its key and line")
    func wrongType() throws {
        let yaml = "plugins:\n  echo:\n    enabled: maybe\n"
        let error = #expect(throws: ConfigurationError.self) { try PluginsFile.parse(yaml, file: "plugins.yml") }
        #expect(error?.key == "plugins.echo.enabled")
        #expect(error?.location?.line == 3)
    }

    @Test("a well-formed file gives every server setting and plugin entry")
    func parsesEverything() throws {
        let yaml = """
            server:
              host: 0.0.0.0
              port: 9090
              request_timeout_s: 2.5
              max_body_bytes: 2048
            plugins:
              echo:
                path: /tmp/libecho.so
                settings:
                  greeting: hi
                  limits: {max: 3}
              off:
                enabled: false
              bare:
            """
        let configuration = try PluginsFile.parse(yaml, file: "plugins.yml")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9090)
        #expect(configuration.requestTimeout == .milliseconds(2500))
        #expect(configuration.maxBodyBytes == 2048)
        #expect(configuration.plugins.map(\.name) == ["echo", "off", "bare"])
        #expect(configuration.enabledPlugins.map(\.name) == ["echo", "bare"])
        #expect(configuration.plugins[0].settings["greeting"] == .string("hi"))
        #expect(configuration.plugins[0].settings["limits"] == .map(["max": .int(3)]))
    }

    @Test("server.connections and the metrics keys are read, with the cap lowered to fit the open-file limit")
    func connectionsAndMetrics() throws {
        let yaml = """
            server:
              connections:
                head_timeout_s: 2.5
                body_stall_timeout_s: 20
                idle_timeout_s: 45
                max_header_bytes: 8192
                max_connections: 3000
                fd_reserve: 256
                backlog: 2048
              metrics_token: 0123456789abcdef-metrics
              metrics_address: "[::1]:9464"
            """
        let configuration = try PluginsFile.parse(yaml, file: "plugins.yml")
        let limits = configuration.connections
        #expect(limits.headTimeout == .milliseconds(2500))
        #expect(limits.bodyStallTimeout == .seconds(20))
        #expect(limits.idleTimeout == .seconds(45))
        #expect(limits.maxHeaderBytes == 8192)
        #expect(limits.backlog == 2048)
        #expect(limits.connectionCap(softLimit: 20_000) == 3000)
        #expect(limits.connectionCap(softLimit: 1024) == 768, "the soft limit less the reserve")
        #expect(ConnectionLimits().connectionCap(softLimit: 1024) == 512)
        #expect(ConnectionLimits().connectionCap(softLimit: 100) == 1)
        #expect(configuration.metricsAddress == ListenAddress(host: "::1", port: 9464))
        #expect(configuration.metricsToken?.matches("0123456789abcdef-metrics") == true)
        #expect(configuration.metricsToken?.matches("0123456789abcdef-metric") == false)
        #expect("\(configuration.metricsToken!)" == "<redacted>")
        #expect(!String(reflecting: configuration).contains("0123456789abcdef"), "a dump of the configuration hides the token")
        #expect(HostConfiguration().metricsToken == nil && HostConfiguration().metricsAddress == nil)

        let refused: [(String, String)] = [
            ("server:\n  metrics_address: localhost\n", "server.metrics_address"),
            ("server:\n  metrics_address: \"1.2.3.4:99999\"\n", "server.metrics_address"),
            ("server:\n  metrics_token: short-secret\n", "server.metrics_token"),
            ("server:\n  connections:\n    max_header_bytes: 100\n", "server.connections.max_header_bytes"),
            ("server:\n  connections:\n    head_timeout_s: 0\n", "server.connections.head_timeout_s"),
            ("server:\n  connections:\n    keepalive_s: 5\n", "server.connections.keepalive_s"),
        ]
        for (text, key) in refused {
            let error = #expect(throws: ConfigurationError.self) { try PluginsFile.parse(text, file: "plugins.yml") }
            #expect(error?.key == key)
            #expect(error?.description.contains("short-secret") == false, "the message never repeats a secret")
        }
    }

    @Test("an unknown plugin setting stops start-up naming the file, line and key")
    func unknownPluginSetting() async throws {
        let yaml = """
            plugins:
              echo:
                path: \(Fixtures.library("FixtureEchoV1"))
                settings:
                  greeting: hi
                  greting: typo
            """
        var configuration = try PluginsFile.parse(yaml, file: "plugins.yml")
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        let host = try QuikHost(configuration: configuration, logger: .init(label: "test"))
        let error = await #expect(throws: ConfigurationError.self) { try await host.start() }
        #expect(error?.key == "plugins.echo.settings.greting")
        #expect(error?.location?.line == 6)
        #expect(error?.description.contains("it knows: greeting") == true)
    }

    @Test("a plugin's settings reach it, with defaults from its schema")
    func settingsReachThePlugin() async throws {
        let configured = "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n    settings:\n      greeting: ahoy\n"
        try await TestHost.with(yaml: configured) { host in
            let reply1 = try await host.client.get("/api/v1/echo/hello")
            #expect(try reply1.json()["greeting"] as? String == "ahoy")
        }
        let defaulted = "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n"
        try await TestHost.with(yaml: defaulted) { host in
            let reply2 = try await host.client.get("/api/v1/echo/hello")
            #expect(try reply2.json()["greeting"] as? String == "hello")
        }
    }
}
