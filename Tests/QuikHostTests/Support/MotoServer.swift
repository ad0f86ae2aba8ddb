import Foundation
import AsyncHTTPClient
@testable import QuikStorage

/// A real S3-compatible server for the S3 store's tests: moto's `moto_server`
/// from the venv `scripts/test` fills, one per test process, stopped at exit.
enum MotoServer {
    static let root = Fixtures.packageRoot
    private static let started = Task<String, any Error> { try await start() }

    /// The server's endpoint URL, starting it on first use.
    static func endpoint() async throws -> String { try await started.value }

    /// A store on a fresh bucket of the server.
    static func store(partSize: Int = 5 << 20) async throws -> S3BlobStore {
        var configuration = S3Configuration(
            endpoint: try await endpoint(), bucket: "t" + UUID().uuidString.prefix(12).lowercased(), accessKeyId: "testing",
            secretAccessKey: "testing-secret")
        configuration.partSize = partSize
        let store = try S3BlobStore(configuration: configuration)
        try await store.createBucket()
        return store
    }

    private static func start() async throws -> String {
        let program = root + "/.build-venv/bin/moto_server"
        guard FileManager.default.isExecutableFile(atPath: program) else {
            throw TestFailure("\(program) is missing: scripts/test installs it (pip install 'moto[server]' into .build-venv)")
        }
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...40_000)
            let process = Process()
            // Through the watchdog, so the server ends with the test run even if the exit handler never runs.
            process.executableURL = URL(fileURLWithPath: root + "/.build-venv/bin/python")
            process.arguments = [root + "/Tests/Clients/with_parent.py", program, "-H", "127.0.0.1", "-p", "\(port)"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            motoPid = process.processIdentifier
            atexit {
                if motoPid > 0 { kill(motoPid, SIGTERM) }
            }
            let endpoint = "http://127.0.0.1:\(port)"
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, process.isRunning {
                if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: endpoint + "/moto-api/"), timeout: .seconds(2))) != nil {
                    return endpoint
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            process.terminate()
        }
        throw TestFailure("moto_server did not start")
    }
}

/// The server's pid, for the exit handler (a C function pointer captures nothing).
nonisolated(unsafe) private var motoPid: Int32 = 0
