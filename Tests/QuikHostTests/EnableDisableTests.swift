import Foundation
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@Suite("Enabling and disabling plugins", .timeLimit(.minutes(2)))
struct EnableDisableTests {
    static func write(echoEnabled: Bool, to path: String) throws {
        let yaml = """
            server:
              port: 0
            plugins:
              echo:
                enabled: \(echoEnabled)
                path: \(Fixtures.library("FixtureEchoV1"))
              rogue:
                path: \(Fixtures.library("FixtureRogue"))
            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func serve(_ path: String, _ body: (TestHost) async throws -> Void) async throws {
        var configuration = try PluginsFile.load(path: path)
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        try await TestHost.with(configuration: configuration, body)
    }

    @Test("a plugin disabled in plugins.yml answers 404 on its paths while the rest work; re-enabling brings it back")
    func disableAndReenable() async throws {
        let path = try Fixtures.temporaryDirectory() + "/plugins.yml"

        try Self.write(echoEnabled: true, to: path)
        try await Self.serve(path) { host in
            let reply1 = try await host.client.get("/api/v1/echo/hello")
            #expect(reply1.status == 200)
            let reply2 = try await host.client.post("/api/v1/rogue/publish?topic=rogue.a")
            #expect(reply2.status == 200)
        }

        try Self.write(echoEnabled: false, to: path)
        try await Self.serve(path) { host in
            let hello = try await host.client.get("/api/v1/echo/hello")
            #expect(hello.status == 404)
            #expect(hello.errorCode == "not_found")
            let reply3 = try await host.client.post("/api/v1/rogue/publish?topic=rogue.a")
            #expect(reply3.status == 200)
            let openAPI = try await host.client.get("/api/v1/openapi.json").text
            #expect(!openAPI.contains("/api/v1/echo/"))
            #expect(openAPI.contains("/api/v1/rogue/publish"))
        }

        try Self.write(echoEnabled: true, to: path)
        try await Self.serve(path) { host in
            let reply4 = try await host.client.get("/api/v1/echo/hello")
            #expect(reply4.status == 200)
            let reply5 = try await host.client.get("/api/v1/openapi.json")
            #expect(reply5.text.contains("/api/v1/echo/hello"))
        }
    }
}
