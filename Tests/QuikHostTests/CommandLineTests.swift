import Foundation
import Testing

/// The `quikapp` executable, run as a user would.
@Suite("Command line", .timeLimit(.minutes(5)))
struct CommandLineTests {
    static func quikapp(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await runProgram(Fixtures.buildDirectory + "/quikapp", arguments)
    }

    /// Writes a plugins.yml that uses the test run's database server.
    static func write(_ yaml: String) async throws -> String {
        let path = try Fixtures.temporaryDirectory() + "/plugins.yml"
        let database = "database:\n  url: \(try await TestDatabase.socket())\n  schema_prefix: \(TestDatabase.uniquePrefix())\n"
        try (database + yaml).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("plugins new writes a package that builds against the SDK and serves its route in a --dev host at once")
    func pluginsNew() async throws {
        let directory = try Fixtures.temporaryDirectory() + "/demo"
        let made = try await Self.quikapp(["plugins", "new", "demo", "--output", directory, "--quikapp", ExampleTests.root])
        #expect(made.status == 0, "\(made.output)")
        for file in ["Package.swift", "Sources/Demo/DemoPlugin.swift", "Sources/Demo/Entry.swift", "Tests/DemoTests/DemoTests.swift", "plugins.yml", "README.md"] {
            #expect(FileManager.default.fileExists(atPath: "\(directory)/\(file)"), "\(file)")
        }
        let (status, output) = try await runProgram("/usr/bin/env", ["swift", "build", "--package-path", directory, "--product", "demo"])
        #expect(status == 0, "\(output)")
        let yaml = "plugins:\n  demo:\n    path: \(directory)/.build/debug/libdemo.so\n"
        try await TestHost.with(yaml: yaml, devMode: true) { host in
            let reply = try await host.client.get("/api/v1/demo/hello", token: "alice-token")
            #expect(reply.status == 200)
            #expect(try reply.json()["user_id"] as? String == "alice")
        }
        let taken = try await Self.quikapp(["plugins", "new", "demo", "--output", directory, "--quikapp", ExampleTests.root])
        #expect(taken.status != 0 && taken.output.contains("already exists"))
        let badName = try await Self.quikapp(["plugins", "new", "Demo!", "--quikapp", ExampleTests.root])
        #expect(badName.status != 0 && badName.output.contains("is not a plugin name"))
    }

    @Test("plugins check exits 0 when every enabled plugin sets up, 1 otherwise, naming the failure")
    func pluginsCheck() async throws {
        let good = try await Self.write("plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n")
        let passed = try await Self.quikapp(["plugins", "check", "--config", good, "--log-level", "critical"])
        #expect(passed.status == 0)
        #expect(passed.output.contains("echo  running  1.0.0"))
        let bad = try await Self.write("plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n  thrower:\n    path: \(Fixtures.library("FixtureSetupThrows"))\n")
        let failed = try await Self.quikapp(["plugins", "check", "--config", bad, "--log-level", "critical"])
        #expect(failed.status == 1)
        #expect(failed.output.contains("thrower  failed"))
    }

    @Test("plugins list shows each entry's manifest and whether it is enabled")
    func pluginsList() async throws {
        let path = try await Self.write(
            "plugins:\n  echo:\n    path: \(Fixtures.library("FixtureEchoV1"))\n  dependent:\n    enabled: false\n    path: \(Fixtures.library("FixtureDependent"))\n")
        let listed = try await Self.quikapp(["plugins", "list", "--config", path])
        #expect(listed.status == 0)
        #expect(listed.output.contains("echo  enabled   v1.0.0  sdk 1.5.0  /api/v1/echo"))
        #expect(listed.output.contains("dependent  disabled  v1.0.0"))
    }

    @Test("a malformed plugins.yml stops serve with the file, line and key")
    func badConfigurationStopsServe() async throws {
        let path = try await Self.write("server:\n  port: 0\n  colour: blue\n")
        let result = try await Self.quikapp(["serve", "--config", path])
        #expect(result.status != 0)
        #expect(result.output.contains("\(path):6:3: key 'server.colour'"))
    }
}
