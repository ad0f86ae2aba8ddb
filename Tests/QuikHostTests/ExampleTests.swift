import Foundation
import Testing

/// The third-party example builds out of tree against the SDK alone and loads into the host.
@Suite("Third-party example plugin", .timeLimit(.minutes(2)))
struct ExampleTests {
    static let root = Fixtures.packageRoot
    static let package = root + "/Examples/Greeter"

    /// Builds the example with its own package (incremental after the first time).
    static func build() async throws -> String {
        let (status, output) = try await runProgram("/usr/bin/env", ["swift", "build", "--package-path", package])
        guard status == 0 else { throw TestFailure("building \(package) failed: \(output)") }
        return package + "/.build/debug/libgreeter.so"
    }

    @Test("the example, built out of tree, serves HTTP and frames from the host and shares the host's SDK image")
    func exampleLoads() async throws {
        let library = try await Self.build()
        let yaml = "plugins:\n  greeter:\n    path: \(library)\n    settings:\n      salutation: Howdy\n"
        try await TestHost.with(yaml: yaml) { host in
            let reply = try await host.client.get("/api/v1/greeter/Ada")
            #expect(reply.status == 200)
            #expect(try reply.json()["message"] as? String == "Howdy, Ada!")
            let tooLong = try await host.client.get("/api/v1/greeter/" + String(repeating: "a", count: 65))
            #expect(tooLong.errorCode == "validation_failed")
            let socket = TestSocket(port: host.port, token: "alice-token")
            socket.send(#"{"type":"greeter.wave","id":"w1"}"#)
            let waved = try await socket.waitFor("waved") { $0["topic"] as? String == "greeter.waved" }
            #expect((waved["data"] as? [String: Any])?["to"] as? String == "alice")
            try await socket.waitFor("ack") { $0["type"] as? String == "ack" && $0["id"] as? String == "w1" }
        }
        // procfs files report size 0; String(contentsOfFile:) stops after one read.
        let maps = String(decoding: try FileHandle(forReadingAtPath: "/proc/self/maps")?.readToEnd() ?? Data(), as: UTF8.self)
        let sdkImages = Set(maps.split(separator: "\n").compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).last.flatMap { $0.hasSuffix("/libQuikSDK.so") ? String($0) : nil }
        })
        #expect(sdkImages.count == 1, "one SDK image for host and plugins: \(sdkImages)")
    }
}
