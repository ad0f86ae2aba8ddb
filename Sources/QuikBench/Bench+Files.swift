import AsyncHTTPClient
import CVips
import Foundation
import NIOCore
import NIOHTTP1
import QuikHost
import QuikRuntime
import QuikSDK
import QuikSupport

extension Bench {
    /// Uploading and downloading a large file through the files plugin, against copying the
    /// same file on the same disk; the process's peak resident memory meanwhile; and
    /// thumbnails per second for 12-megapixel JPEGs.
    static func files(build: String, workspace: String, megabytes: Int) async throws {
        var configuration = baseConfiguration(workspace: workspace)
        let location = SourceLocation(file: "bench", line: 0, column: 0)
        configuration.plugins = ["auth", "workspace", "user", "channel", "files"].map {
            PluginEntry(name: $0, path: "\(build)/lib\($0).so", location: location)
        }
        configuration.plugins[4].settings = ["max_file_bytes": .int((megabytes + 1) << 20)]
        let host = try QuikHost(configuration: configuration, logger: logger())
        let (port, server) = try await serve(host)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let base = "http://127.0.0.1:\(port)/api/v1"
        func call(_ method: HTTPMethod, _ path: String, _ body: String, token: String? = nil) async throws -> [String: Any] {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Content-Type", value: "application/json")
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await client.execute(request, timeout: .seconds(30))
            let data = try await response.body.collect(upTo: 1 << 20)
            return (try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]) ?? [:]
        }
        let registered = try await call(.POST, "/auth/register", #"{"email":"files@example.com","password":"bench password 1","display_name":"Files"}"#)
        guard let token = registered["access_token"] as? String else { throw BenchError("register failed") }
        guard let workspaceId = try await call(.POST, "/workspaces", #"{"name":"Bench","slug":"bench-files"}"#, token: token)["id"] as? String else {
            throw BenchError("workspace failed")
        }

        // The file: random megabytes, so neither the disk nor anything else can compress it.
        let source = workspace + "/large.bin"
        let block = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) })
        FileManager.default.createFile(atPath: source, contents: nil)
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: source))
        for _ in 0..<megabytes { try writer.write(contentsOf: block) }
        try writer.close()
        let size = Int64(megabytes) << 20

        let copyTime = try ContinuousClock().measure {
            let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: source))
            FileManager.default.createFile(atPath: source + ".copy", contents: nil)
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: source + ".copy"))
            while let piece = try input.read(upToCount: 1 << 20), !piece.isEmpty { try output.write(contentsOf: piece) }
            try output.synchronize()
            try input.close()
            try output.close()
        }
        try? FileManager.default.removeItem(atPath: source + ".copy")

        let memory = PeakMemory()
        let baseline = PeakMemory.residentBytes()
        let sampler = Task { await memory.sample() }
        // The transfers run in curl, another process, so the memory sampled is the server's alone.
        let uploadStarted = ContinuousClock.now
        let (uploadStatus, answer) = try await curl([
            "-sS", "-X", "POST", "-T", source, "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/octet-stream",
            "\(base)/files?workspace_id=\(workspaceId)&name=large.bin",
        ])
        let uploadTime = ContinuousClock.now - uploadStarted
        guard uploadStatus == 0, let fileId = (try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])?["id"] as? String else {
            throw BenchError("upload failed: \(answer.prefix(300))")
        }
        let downloadStarted = ContinuousClock.now
        let (downloadStatus, downloaded) = try await curl([
            "-sS", "-o", "/dev/null", "-w", "%{size_download}", "-H", "Authorization: Bearer \(token)", "\(base)/files/\(fileId)/content",
        ])
        let downloadTime = ContinuousClock.now - downloadStarted
        sampler.cancel()
        let peak = await memory.peak
        guard downloadStatus == 0, Int64(downloaded.trimmingCharacters(in: .whitespacesAndNewlines)) == size else {
            throw BenchError("downloaded \(downloaded) of \(size) bytes")
        }

        func rate(_ duration: Duration) -> Double { Double(size) / 1_048_576 / (milliseconds(duration) / 1000) }
        print(String(
            format: "files, %d MiB (curl as the client): disk copy %.0f MiB/s; upload %.0f MiB/s (ratio %.2f); download %.0f MiB/s (ratio %.2f); server peak RSS %.1f MiB over the %.0f MiB before (%.2f%% of the file)",
            megabytes, rate(copyTime), rate(uploadTime), rate(uploadTime) / rate(copyTime), rate(downloadTime), rate(downloadTime) / rate(copyTime),
            Double(max(0, peak - baseline)) / 1_048_576, Double(baseline) / 1_048_576, Double(max(0, peak - baseline)) / Double(size) * 100))
        try? FileManager.default.removeItem(atPath: source)

        // Thumbnails: 12 MP JPEGs through the upload (dimensions, thumbnail and preview made
        // before the answer), against as many bytes that are no image (the type is sniffed, not named).
        var jpeg: UnsafeMutableRawPointer?
        var length = 0
        guard quik_vips_start() == 0, quik_vips_sample_jpeg(4000, 3000, &jpeg, &length) == 0, let jpeg else { throw BenchError("no sample JPEG") }
        let photo = Data(bytes: jpeg, count: length)
        quik_vips_free(jpeg)
        let noise = Data((0..<photo.count).map { _ in UInt8.random(in: 0...255) })
        func uploadPhoto(_ name: String, _ type: String) async throws -> Duration {
            var request = HTTPClientRequest(url: "\(base)/files?workspace_id=\(workspaceId)&name=\(name)")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: type)
            request.body = .bytes(ByteBuffer(bytes: type == "image/jpeg" ? photo : noise))
            let started = ContinuousClock.now
            let response = try await client.execute(request, timeout: .seconds(120))
            let body = try await response.body.collect(upTo: 1 << 20)
            let elapsed = ContinuousClock.now - started
            let file = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            guard response.status.code == 201, (file?["has_thumbnail"] as? Bool) == (type == "image/jpeg") else {
                throw BenchError("photo upload answered \(response.status), thumbnail \(String(describing: file?["has_thumbnail"]))")
            }
            return elapsed
        }
        let rounds = 8
        var withImages: Duration = .zero
        var plain: Duration = .zero
        for round in 0..<rounds {
            withImages += try await uploadPhoto("photo\(round).jpg", "image/jpeg")
            plain += try await uploadPhoto("photo\(round).bin", "application/octet-stream")
        }
        let perImage = milliseconds(withImages) / Double(rounds)
        let perPlain = milliseconds(plain) / Double(rounds)
        print(String(
            format: "12 MP JPEG (%.1f MiB) uploads: %.0f ms each with dimensions, thumbnail and preview (%.1f per second), %.0f ms as plain bytes; ratio %.1f",
            Double(photo.count) / 1_048_576, perImage, 1000 / perImage, perPlain, perImage / perPlain))

        try await client.shutdown()
        await host.shutdown()
        try await server.value
    }
}

/// A file read in 1 MiB pieces, as an upload body.
private struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?

        mutating func next() async throws -> ByteBuffer? {
            guard let piece = try handle?.read(upToCount: 1 << 20), !piece.isEmpty else {
                try handle?.close()
                return nil
            }
            return ByteBuffer(bytes: piece)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: FileHandle(forReadingAtPath: path)) }
}

/// The process's resident memory, sampled every 20 ms; the highest seen.
private actor PeakMemory {
    private(set) var peak = 0

    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    func sample() async {
        while !Task.isCancelled {
            peak = max(peak, Self.residentBytes())
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Runs curl and returns its exit status and standard output.
private func curl(_ arguments: [String]) async throws -> (Int32, String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            do {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                process.arguments = arguments
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
