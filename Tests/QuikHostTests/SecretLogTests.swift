import Foundation
import QuikSDK
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// Secrets never reach the logs, even at trace level.
@Suite("Secrets and logs", .timeLimit(.minutes(2)))
struct SecretLogTests {
    @Test("no access token, metrics token, database account secret or signing key appears in any log line")
    func noSecretsInLogs() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let yaml = """
            plugins:
              echo:
                path: \(Fixtures.library("FixtureEchoV1"))
              notes-s:
                path: \(try PluginDatabaseTests.notes("notes-s", in: directory))
            """
        var configuration = try PluginsFile.parse(yaml, file: "t")
        configuration.port = 0
        configuration.stateDirectory = directory
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        let prefix = configuration.database.schemaPrefix
        let metricsToken = "metrics-secret-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        configuration.metricsToken = SecretText(metricsToken)
        let logs = CapturedLogs()
        let (host, task) = try await TestHost.start(configuration: configuration, authenticator: nil, logs: logs)
        let token = try await host.host.core.runtime.tokens.issue(userId: "alice", sessionId: "s1", roles: ["user"]).token
        #expect(try await host.client.get("/api/v1/echo/whoami", token: token).status == 200)
        #expect(try await host.client.get("/api/v1/echo/whoami", token: token + "tampered").status == 401)
        #expect(try await host.client.get("/api/v1/echo/throw", token: token).status == 500)
        #expect(try await host.client.get("/metrics", token: metricsToken).status == 200)
        #expect(try await host.client.get("/metrics", token: metricsToken + "x").status == 401)
        #expect(try await host.client.post("/api/v1/notes-s/durable", json: #"{"body":"hello"}"#).status == 201)
        let socket = TestSocket(port: host.port, token: token)
        try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
        await host.host.shutdown()
        try await task.value

        let admin = try await TestDatabase.adminPool()
        let secrets = try await admin.withConnection { connection -> [String] in
            let accounts = try await connection.perform("SELECT secret FROM `\(prefix)_host`.plugin_accounts", []).0
            let keys = try await connection.perform("SELECT private_pem FROM `\(prefix)_host`.signing_keys", []).0
            let pemBodies = keys.compactMap { $0["private_pem"].string }.flatMap { pem in
                pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
            }
            return accounts.compactMap { $0["secret"].string } + pemBodies
        }
        #expect(!secrets.isEmpty)
        let lines = logs.all
        #expect(lines.count > 10, "the logs were captured")
        let signature = String(token.split(separator: ".").last ?? "")
        for line in lines {
            #expect(!line.contains(token) && !line.contains(signature), "a log line holds the access token: \(line)")
            #expect(!line.contains(metricsToken), "a log line holds the metrics token: \(line)")
            for secret in secrets {
                #expect(!line.contains(secret), "a log line holds a secret: \(line)")
            }
        }
    }
}
