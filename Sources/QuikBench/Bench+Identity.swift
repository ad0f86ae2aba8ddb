import AsyncHTTPClient
import CArgon2
import Foundation
import NIOCore
import QuikHost
import QuikBenchKit
import QuikRuntime
import QuikMariaDB
import QuikSupport
import QuikSDK

extension Bench {
    /// Requests per second on one handler served twice by the host: behind
    /// authentication (an access token from the real auth plugin, verified and
    /// admitted through RBAC on every request) and open.
    static func authThroughput(build: String, workspace: String, seconds: Double, concurrency: Int) async throws {
        var configuration = baseConfiguration(workspace: workspace)
        let location = SourceLocation(file: "bench", line: 0, column: 0)
        configuration.plugins = ["auth", "workspace", "user"].map { PluginEntry(name: $0, path: "\(build)/lib\($0).so", location: location) }
        let handler: RouteHandler = { request in
            try .json(["user_id": request.principal?.userId ?? "U0000000000000000", "greeting": "hello"])
        }
        let routes = [
            BuiltinRoute(method: .get, path: "/api/v1/host-bench/open", options: RouteOptions(requiresAuthentication: false), handler: handler),
            BuiltinRoute(method: .get, path: "/api/v1/host-bench/signed-in", options: RouteOptions(requiresAuthentication: true), handler: handler),
        ]
        let host = try QuikHost(configuration: configuration, builtinRoutes: routes, logger: logger())
        let (port, server) = try await serve(host)

        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        var register = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/auth/register")
        register.method = .POST
        register.body = .bytes(ByteBuffer(string: #"{"email":"bench@example.com","password":"bench password 1","display_name":"Bench"}"#))
        let registered = try await client.execute(register, timeout: .seconds(30))
        let body = try await registered.body.collect(upTo: 1 << 16)
        guard let token = (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["access_token"] as? String else {
            throw BenchError("register answered \(registered.status)")
        }
        let headers = ["Authorization": "Bearer \(token)"]
        let openURL = "http://127.0.0.1:\(port)/api/v1/host-bench/open"
        let signedInURL = "http://127.0.0.1:\(port)/api/v1/host-bench/signed-in"
        _ = try await load(client, url: openURL, seconds: 1, concurrency: concurrency)
        _ = try await load(client, url: signedInURL, seconds: 1, concurrency: concurrency, headers: headers)
        var openRates: [Double] = []
        var signedInRates: [Double] = []
        for _ in 0..<3 {
            openRates.append(try await load(client, url: openURL, seconds: seconds / 3, concurrency: concurrency))
            signedInRates.append(try await load(client, url: signedInURL, seconds: seconds / 3, concurrency: concurrency, headers: headers))
        }
        try await client.shutdown()
        await host.shutdown()
        try await server.value
        let open = openRates.reduce(0, +) / Double(openRates.count)
        let signedIn = signedInRates.reduce(0, +) / Double(signedInRates.count)
        print(String(
            format: "authenticated endpoint, %d concurrent clients: %.0f req/s with a token, %.0f req/s open; ratio %.3f (goal >= 0.8)",
            concurrency, signedIn, open, signedIn / open))
    }

    /// Argon2id with the auth plugin's default parameters (19 MiB, 2 passes, 1 lane),
    /// beside a SHA-256-sized baseline: the same call with the library's minimum memory.
    static func argon2Time() {
        func measure(memory: UInt32, iterations: UInt32, rounds: Int) -> Double {
            let password = Array("correct horse battery".utf8)
            let salt = [UInt8](repeating: 7, count: 16)
            var encoded = [CChar](repeating: 0, count: 256)
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for _ in 0..<rounds {
                    _ = argon2id_hash_encoded(iterations, memory, 1, password, password.count, salt, salt.count, 32, &encoded, encoded.count)
                }
            }
            return milliseconds(elapsed) / Double(rounds)
        }
        let chosen = measure(memory: 19456, iterations: 2, rounds: 10)
        let minimal = measure(memory: 8, iterations: 1, rounds: 200)
        print(String(
            format: "Argon2id m=19456 KiB, t=2, p=1: %.1f ms per hash (%.0f hashes/s per core); minimal parameters %.3f ms; ratio %.0f",
            chosen, 1000 / chosen, minimal, chosen / minimal))
    }
}
