import AsyncHTTPClient
import Foundation
import NIOCore
import QuikHost
import QuikRuntime
import QuikSDK
import QuikSupport

extension Bench {
    /// `POST /auth/password/forgot` for an email with an account against one without:
    /// the answer must not tell them apart, so the ratio of their medians should be ~1.
    static func resetTiming(build: String, workspace: String, rounds: Int = 300) async throws {
        var configuration = baseConfiguration(workspace: workspace)
        let location = SourceLocation(file: "bench", line: 0, column: 0)
        configuration.plugins = ["auth", "workspace", "user"].map { PluginEntry(name: $0, path: "\(build)/lib\($0).so", location: location) }
        configuration.plugins[0].settings = ["max_resets_per_email": .int(1_000_000), "max_resets_per_ip": .int(1_000_000)]
        let host = try QuikHost(configuration: configuration, logger: logger())
        let (port, server) = try await serve(host)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        func post(_ path: String, _ body: String) async throws -> Duration {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
            let started = ContinuousClock.now
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 16)
            return ContinuousClock.now - started
        }
        _ = try await post("/api/v1/auth/register", #"{"email":"known@example.com","password":"bench password 1","display_name":"Known"}"#)
        var known: [Double] = []
        var unknown: [Double] = []
        for round in 0..<rounds {
            // Alternated, so drift in the machine's load falls on both alike.
            let (first, second) = round % 2 == 0 ? ("known", "nobody") : ("nobody", "known")
            let a = milliseconds(try await post("/api/v1/auth/password/forgot", #"{"email":"\#(first)@example.com"}"#))
            let b = milliseconds(try await post("/api/v1/auth/password/forgot", #"{"email":"\#(second)@example.com"}"#))
            if first == "known" { (known, unknown) = (known + [a], unknown + [b]) } else { (known, unknown) = (known + [b], unknown + [a]) }
        }
        try await client.shutdown()
        await host.shutdown()
        try await server.value
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print(String(
            format: "password/forgot, %d each: known email median %.2f ms, unknown %.2f ms; ratio %.2f (goal ~1: the answer does not tell them apart)",
            rounds, median(known), median(unknown), median(known) / median(unknown)))
    }
}
