import Foundation
import QuikHost
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

/// A host running the real identity plugins (auth, user, permission, audit, admin)
/// with its own access tokens, for tests that drive them as a client would.
struct IdentityHost {
    let test: TestHost

    var client: TestClient { test.client }
    var host: QuikHost { test.host }

    /// Identity: people see only those they share a workspace with, so `user` needs `workspace`.
    static let plugins = ["auth", "user", "permission", "audit", "admin", "workspace"]
    /// The identity plugins plus the messaging ones.
    static let messaging = plugins + ["channel", "message", "thread", "presence"]

    /// `plugins.yml` for `names`; `authSettings` are extra lines under `auth.settings`,
    /// `extraPlugins` more entries (name → library path).
    static func yaml(
        _ names: [String] = plugins, authSettings: [String: String] = [:], extraPlugins: [(String, String)] = [], extra: String = ""
    ) -> String {
        var lines = ["plugins:"]
        for name in names {
            lines.append("  \(name):")
            lines.append("    path: \(Fixtures.library(name))")
            // Tests register many people from one address.
            var settings = name == "auth" ? ["max_registrations_per_ip": "100000"].merging(authSettings) { $1 } : [:]
            // Tests wait one second, not thirty, for a closed socket's owner to show offline.
            if name == "presence" {
                settings["offline_grace_s"] = "1"
                settings["away_after_s"] = "1.5"
            }
            if !settings.isEmpty {
                lines.append("    settings:")
                for (key, value) in settings.sorted(by: { $0.key < $1.key }) { lines.append("      \(key): \(value)") }
            }
        }
        for (name, path) in extraPlugins {
            lines.append("  \(name):")
            lines.append("    path: \(path)")
        }
        return lines.joined(separator: "\n") + "\n" + extra
    }

    /// Starts a host, runs `body`, shuts the host down.
    static func with(
        _ names: [String] = plugins,
        authSettings: [String: String] = [:],
        extraPlugins: [(String, String)] = [],
        logs: CapturedLogs? = nil,
        configure: (inout HostConfiguration) -> Void = { _ in },
        _ body: (IdentityHost) async throws -> Void
    ) async throws {
        var configuration = try PluginsFile.parse(yaml(names, authSettings: authSettings, extraPlugins: extraPlugins), file: "identity.yml")
        configuration.port = 0
        configuration.stateDirectory = try Fixtures.temporaryDirectory()
        configuration.drainTimeout = .seconds(2)
        configuration.database.url = try await TestDatabase.socket()
        configuration.database.schemaPrefix = TestDatabase.uniquePrefix()
        configuration.rateLimits.enabled = false
        configure(&configuration)
        let (test, task) = try await TestHost.start(configuration: configuration, authenticator: nil, logs: logs)
        do {
            for name in names + extraPlugins.map(\.0) {
                let state = try await test.pluginState(name)
                guard state.state == "running" else { throw TestFailure("plugin \(name) is \(state.state): \(state.error ?? "")") }
            }
            try await body(IdentityHost(test: test))
        } catch {
            await test.host.shutdown()
            _ = try? await task.value
            throw error
        }
        await test.host.shutdown()
        try await task.value
    }

    struct Account {
        let id: String
        let email: String
        let password: String
        var access: String
        var refresh: String
    }

    /// Signs in and returns the reply.
    func login(_ email: String, _ password: String, code: String? = nil, headers: [String: String] = [:]) async throws -> TestClient.Reply {
        let codePart = code.map { #","totp_code":"\#($0)""# } ?? ""
        return try await client.post(
            "/api/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"\#(codePart)}"#, headers: headers)
    }

    /// Creates a system admin the way `quikapp admin create` does, and signs them in.
    func admin() async throws -> Account {
        let email = "root-\(UUID().uuidString.prefix(8))@example.com".lowercased()
        let password = "admin password 1"
        let request = try JSONSerialization.data(withJSONObject: ["email": email, "password": password, "display_name": "Root"])
        let created = try JSONSerialization.jsonObject(
            with: try await host.callService(plugin: "admin", service: "create_admin", payload: request)) as? [String: Any]
        let reply = try await login(email, password)
        let body = try reply.json()
        return Account(
            id: created?["id"] as? String ?? "", email: email, password: password, access: body["access_token"] as? String ?? "",
            refresh: body["refresh_token"] as? String ?? "")
    }

    /// The `.eml` files written so far, newest last.
    func mails() throws -> [String] {
        let directory = host.configuration.stateDirectory + "/mail"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        return try names.map { try String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }
    }

    /// Waits until `condition` holds (events travel asynchronously).
    func eventually(_ what: String, timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("timed out waiting for \(what)")
    }
}
