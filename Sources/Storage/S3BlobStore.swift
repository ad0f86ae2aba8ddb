import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import QuikSDK

/// Blobs in an S3-compatible bucket, path-style, signed with SigV4. Objects up to
/// one part go up in one PUT; larger ones as a multipart upload, one part in memory
/// at a time, aborted if anything fails, so an object appears whole or not at all.
public final class S3BlobStore: BlobStore {
    let configuration: S3Configuration
    let client: HTTPClient
    let signer: SignatureV4
    /// `scheme://host[:port]` and the bucket's path.
    private let base: (origin: String, host: String, bucketPath: String)
    static let timeout: TimeAmount = .seconds(60)

    /// A store for `configuration`'s bucket, using `client`.
    public init(configuration: S3Configuration, client: HTTPClient = .shared) throws {
        guard let url = URL(string: configuration.endpoint), let scheme = url.scheme, let host = url.host else {
            throw StorageError("configure", key: "", "storage.s3.endpoint is not a URL")
        }
        self.configuration = configuration
        self.client = client
        signer = SignatureV4(accessKeyId: configuration.accessKeyId, secretAccessKey: configuration.secretAccessKey, region: configuration.region)
        let hostHeader = url.port.map { "\(host):\($0)" } ?? host
        base = ("\(scheme)://\(hostHeader)", hostHeader, "/" + configuration.bucket)
    }

    fileprivate struct Reply {
        let status: UInt
        let headers: HTTPHeaders
        let body: HTTPClientResponse.Body
    }

    /// Sends one signed request. `body` is hashed when given; a streamed body goes as UNSIGNED-PAYLOAD.
    fileprivate func send(
        _ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers extra: [String: String] = [:],
        body: Data? = nil
    ) async throws -> Reply {
        let path = base.bucketPath + (key.map { "/" + $0 } ?? "")
        var headers = extra
        headers["host"] = base.host
        let payloadHash = body.map(SignatureV4.sha256) ?? SignatureV4.sha256(Data())
        let signed = signer.sign(method: method.rawValue, path: path, query: query, headers: headers, payloadHash: payloadHash, date: Date())
        let queryText = query.map { "\(SignatureV4.encode($0.0, keepSlash: false))=\(SignatureV4.encode($0.1, keepSlash: false))" }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: base.origin + SignatureV4.encode(path, keepSlash: true) + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        for (name, value) in headers.merging(signed, uniquingKeysWith: { $1 }) where name != "host" {
            request.headers.add(name: name, value: value)
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: Self.timeout)
        return Reply(status: response.status.code, headers: response.headers, body: response.body)
    }

    fileprivate func failure(_ operation: String, _ key: String, _ reply: Reply) async -> StorageError {
        let text = (try? await reply.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
        let code = text.range(of: "<Code>").flatMap { start in
            text.range(of: "</Code>").map { String(text[start.upperBound..<$0.lowerBound]) }
        } ?? "HTTP \(reply.status)"
        return StorageError(operation, key: key, code)
    }

    public func put(_ key: String, body: ByteStream) async throws -> BlobInfo {
        let key = try StorageError.checked(key)
        var hash = SHA256()
        var size: Int64 = 0
        var buffer = Data()
        var upload: (id: String, parts: [(Int, String)])?
        do {
            while let piece = try await body.next() {
                hash.update(data: piece)
                size += Int64(piece.count)
                buffer.append(piece)
                while buffer.count >= configuration.partSize {
                    if upload == nil { upload = (try await startMultipart(key), []) }
                    let part = buffer.prefix(configuration.partSize)
                    buffer = Data(buffer.dropFirst(configuration.partSize))
                    upload!.parts.append((upload!.parts.count + 1, try await uploadPart(key, upload!.id, upload!.parts.count + 1, Data(part))))
                }
            }
            if var current = upload {
                if !buffer.isEmpty { current.parts.append((current.parts.count + 1, try await uploadPart(key, current.id, current.parts.count + 1, buffer))) }
                try await completeMultipart(key, current.id, current.parts)
            } else {
                let reply = try await send(.PUT, key: key, body: buffer)
                guard reply.status == 200 else { throw await failure("put", key, reply) }
                _ = try? await reply.body.collect(upTo: 1 << 16)
            }
        } catch {
            if let upload { _ = try? await send(.DELETE, key: key, query: [("uploadId", upload.id)]) }
            throw (error as? StorageError)?.pluginError ?? error
        }
        return BlobInfo(size: size, sha256: SignatureV4.hex(hash.finalize()))
    }

    private func startMultipart(_ key: String) async throws -> String {
        let reply = try await send(.POST, key: key, query: [("uploads", "")])
        guard reply.status == 200 else { throw await failure("start multipart", key, reply) }
        let text = String(buffer: try await reply.body.collect(upTo: 1 << 16))
        guard let start = text.range(of: "<UploadId>"), let end = text.range(of: "</UploadId>") else {
            throw StorageError("start multipart", key: key, "no UploadId in the answer")
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    private func uploadPart(_ key: String, _ uploadId: String, _ number: Int, _ data: Data) async throws -> String {
        let reply = try await send(.PUT, key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadId)], body: data)
        guard reply.status == 200, let etag = reply.headers.first(name: "etag") else { throw await failure("upload part", key, reply) }
        _ = try? await reply.body.collect(upTo: 1 << 16)
        return etag
    }

    private func completeMultipart(_ key: String, _ uploadId: String, _ parts: [(Int, String)]) async throws {
        let xml = "<CompleteMultipartUpload>"
            + parts.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\($0.1)</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        let reply = try await send(.POST, key: key, query: [("uploadId", uploadId)], body: Data(xml.utf8))
        let text = String(buffer: try await reply.body.collect(upTo: 1 << 16))
        // S3 may answer 200 and still report an error in the body.
        guard reply.status == 200, !text.contains("<Error>") else { throw StorageError("complete multipart", key: key, "HTTP \(reply.status)") }
    }

    public func get(_ key: String, range: Range<Int64>?) async throws -> ByteStream {
        let key = try StorageError.checked(key)
        if let range, range.isEmpty { return ByteStream.of(Data()) }
        var headers: [String: String] = [:]
        if let range { headers["range"] = "bytes=\(range.lowerBound)-\(range.upperBound - 1)" }
        let reply: Reply
        do {
            reply = try await send(.GET, key: key, headers: headers)
        } catch {
            throw StorageError("get", key: key, "\(error)").pluginError
        }
        switch reply.status {
        case 200, 206: break
        case 404: throw PluginError(.notFound, "no such object")
        case 416: throw PluginError(.validationFailed, "range outside the object", details: ["range": "unsatisfiable"])
        default: throw await failure("get", key, reply).pluginError
        }
        let iterator = BodyIterator(reply.body.makeAsyncIterator())
        return ByteStream { try await iterator.next() }
    }

    public func stat(_ key: String) async throws -> BlobInfo? {
        let key = try StorageError.checked(key)
        let reply = try await send(.HEAD, key: key)
        switch reply.status {
        case 200: return BlobInfo(size: Int64(reply.headers.first(name: "content-length") ?? "") ?? 0, sha256: nil)
        case 404: return nil
        default: throw await failure("stat", key, reply).pluginError
        }
    }

    public func delete(_ key: String) async throws {
        let key = try StorageError.checked(key)
        let reply = try await send(.DELETE, key: key)
        guard reply.status == 204 || reply.status == 200 || reply.status == 404 else { throw await failure("delete", key, reply).pluginError }
    }
}

/// A response body read forward by one reader.
private final class BodyIterator: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ iterator: HTTPClientResponse.Body.AsyncIterator) {
        self.iterator = iterator
    }

    func next() async throws -> Data? {
        guard let buffer = try await iterator.next() else { return nil }
        return Data(buffer.readableBytesView)
    }
}

extension S3BlobStore {
    /// Creates the bucket (tests and first set-up; a bucket that exists already is fine).
    public func createBucket() async throws {
        let reply = try await send(.PUT, key: nil)
        guard reply.status == 200 || reply.status == 409 else { throw await failure("create bucket", configuration.bucket, reply) }
        _ = try? await reply.body.collect(upTo: 1 << 16)
    }
}
