import Foundation
import QuikSDK
import Testing
@testable import QuikStorage

/// The blob stores behind `context.blobs`: the local folder and an S3 bucket on a real S3-compatible server.
@Suite("Blob storage")
struct StorageTests {
    @Test("SigV4 signs AWS's documented GET Object example to its published signature")
    func signatureVector() {
        let signer = SignatureV4(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let headers = signer.sign(
            method: "GET", path: "/test.txt", query: [], headers: ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"],
            payloadHash: SignatureV4.sha256(Data()), date: Date(timeIntervalSince1970: 1_369_353_600))
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(
            headers["authorization"]
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// `data` in pieces of `size`.
    static func stream(_ data: Data, pieces size: Int, failAfter: Int? = nil) -> ByteStream {
        let offset = OffsetBox()
        return ByteStream {
            let start = offset.advance(by: size)
            if let failAfter, start >= failAfter { throw TestFailure("the client went away") }
            guard start < data.count else { return nil }
            return data.subdata(in: start..<min(data.count, start + size))
        }
    }

    static func exercise(_ store: any BlobStore, size: Int) async throws {
        let data = try Fixtures.randomBytes(size)
        let info = try await store.put("f/one.bin", body: Self.stream(data, pieces: 300_001))
        #expect(info.size == Int64(size))
        #expect(info.sha256 == SignatureV4.sha256(data))
        #expect(try await store.stat("f/one.bin")?.size == Int64(size))
        let whole = try await store.get("f/one.bin", range: nil).collect(upTo: size)
        #expect(whole == data)
        let middle = try await store.get("f/one.bin", range: 1_000..<1_500_000).collect(upTo: size)
        #expect(middle == data.subdata(in: 1_000..<1_500_000))
        await #expect(throws: PluginError.self) { _ = try await store.get("f/none.bin", range: nil) }
        await #expect(throws: PluginError.self) { _ = try await store.put("../escape", body: .of(Data([1]))) }

        // A body that fails half-way leaves nothing behind, not even a part.
        await #expect(throws: (any Error).self) {
            _ = try await store.put("f/broken.bin", body: Self.stream(data, pieces: 1 << 20, failAfter: size / 2))
        }
        #expect(try await store.stat("f/broken.bin") == nil)

        try await store.delete("f/one.bin")
        #expect(try await store.stat("f/one.bin") == nil)
        try await store.delete("f/one.bin")
    }

    @Test("the local store writes whole objects (sha256 on the way), reads ranges, refuses bad keys and leaves nothing of a failed write")
    func localStore() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let store = try LocalBlobStore(directory: directory + "/files")
        try await Self.exercise(store, size: 3 << 20)
        let partial = try FileManager.default.contentsOfDirectory(atPath: directory + "/files/.partial")
        #expect(partial.isEmpty)
    }

    @Test("the S3 store does the same against moto_server, a 12 MiB object going up as a multipart upload")
    func s3Store() async throws {
        let store = try await MotoServer.store(partSize: 5 << 20)
        try await Self.exercise(store, size: 12 << 20)
    }

    @Test("a plugin's view of the store is its own key space")
    func prefixes() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let shared = try LocalBlobStore(directory: directory)
        let files = PrefixedBlobStore(shared, prefix: "files")
        let other = PrefixedBlobStore(shared, prefix: "other")
        _ = try await files.put("a", body: .of(Data("secret".utf8)))
        #expect(try await other.stat("a") == nil)
        #expect(try await shared.stat("files/a")?.size == 6)
    }
}

/// A read position shared with a stream's closure.
private final class OffsetBox: @unchecked Sendable {
    private let lock = NSLock()
    private var offset = 0

    /// The offset before advancing it by `count`.
    func advance(by count: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        defer { offset += count }
        return offset
    }
}
