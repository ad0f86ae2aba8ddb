import Foundation
import QuikPluginKit
import QuikSDK

/// Resumable uploads: each PATCH is one stored part (`u/<id>/<n>`), kept only when it
/// arrived whole; the last one joins the parts into the file, whose id is the upload's.
extension FileService {
    struct Upload: Sendable {
        var id: String
        var workspaceId: String
        var uploaderId: String
        var name: String
        var mime: String
        var length: Int64
        var received: Int64
        var parts: Int
        var expiresAt: Date

        init(row: SQLRow) {
            id = row["id"].string ?? ""
            workspaceId = row["workspace_id"].string ?? ""
            uploaderId = row["uploader_id"].string ?? ""
            name = row["name"].string ?? ""
            mime = row["mime"].string ?? "application/octet-stream"
            length = row["length"].int ?? 0
            received = row["received"].int ?? 0
            parts = Int(row["parts"].int ?? 0)
            expiresAt = row["expires_at"].date ?? Date()
        }

        var headers: [String: String] {
            ["upload-offset": "\(received)", "upload-length": "\(length)", "upload-expires": Tus.httpDate(expiresAt), "cache-control": "no-store"]
        }
    }

    static func partKey(_ id: String, _ index: Int) -> String { "u/\(id)/\(String(format: "%06d", index))" }

    func createUpload(_ request: PluginRequest, principal: Principal, expiry: TimeInterval) async throws -> PluginResponse {
        guard let lengthText = request.headers["upload-length"], let length = Int64(lengthText), length >= 0 else {
            throw PluginError(.badRequest, "Upload-Length is required (deferred lengths are not supported)")
        }
        guard length <= limits.maxFileBytes else {
            throw PluginError(.payloadTooLarge, "a file is at most \(limits.maxFileBytes) bytes", details: ["max_bytes": "\(limits.maxFileBytes)"])
        }
        let metadata = Tus.metadata(request.headers["upload-metadata"])
        var validator = Validator()
        let name = FileName.clean(metadata["filename"])
        validator.check(name != nil, "filename", "is required in Upload-Metadata")
        validator.check(IDs.isPlausible(metadata["workspace_id"] ?? ""), "workspace_id", "is required in Upload-Metadata")
        try validator.finish()
        let workspaceId = metadata["workspace_id"]!
        guard try await role(principal.userId, in: workspaceId) != nil else { throw PluginError(.notFound, "no such workspace") }
        let used = try await usage(workspaceId).usedBytes
        if let quota = limits.workspaceQuota, used + length > quota { throw quotaExceeded(quota: quota, used: used) }
        let id = IDs.make("F")
        let now = Date()
        let expires = Date(timeIntervalSince1970: (now.addingTimeInterval(expiry).timeIntervalSince1970).rounded(.down))
        try await database.execute(
            """
            INSERT INTO uploads (id, workspace_id, uploader_id, name, mime, length, received, parts, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
            """,
            [
                .text(id), .text(workspaceId), .text(principal.userId), .text(name!), .text(FileName.mime(declared: metadata["filetype"], name: name!)),
                .int(length), .date(now), .date(expires),
            ])
        return PluginResponse(status: 201, headers: ["location": "/api/v1/files/uploads/\(id)", "upload-expires": Tus.httpDate(expires)])
    }

    /// The caller's live upload; 404 for anyone else's, an unknown one or one past its expiry.
    func upload(_ id: String, principal: Principal) async throws -> Upload {
        guard IDs.isPlausible(id),
            let row = try await database.query(
                "SELECT id, workspace_id, uploader_id, name, mime, length, received, parts, expires_at FROM uploads WHERE id = ?", [.text(id)]
            ).first
        else { throw PluginError(.notFound, "no such upload") }
        let upload = Upload(row: row)
        guard upload.uploaderId == principal.userId else { throw PluginError(.notFound, "no such upload") }
        guard upload.expiresAt > Date() else {
            try await discard(upload.id, parts: upload.parts)
            throw PluginError(.notFound, "no such upload")
        }
        return upload
    }

    func patchUpload(_ id: String, request: PluginRequest, principal: Principal) async throws -> PluginResponse {
        let type = request.headers["content-type"]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard type == "application/offset+octet-stream" else {
            throw PluginError(.unsupportedMediaType, "a chunk is sent as application/offset+octet-stream")
        }
        let upload = try await upload(id, principal: principal)
        guard let offset = request.headers["upload-offset"].flatMap({ Int64($0) }) else {
            throw PluginError(.badRequest, "Upload-Offset is required")
        }
        guard offset == upload.received else {
            throw PluginError(.conflict, "Upload-Offset \(offset) is not the upload's offset \(upload.received)", details: ["upload_offset": "\(upload.received)"])
        }
        let remaining = upload.length - upload.received
        if let declared = request.headers["content-length"].flatMap({ Int64($0) }), declared > remaining {
            throw PluginError(.payloadTooLarge, "the chunk is longer than the \(remaining) bytes left", details: ["max_bytes": "\(remaining)"])
        }
        guard let body = request.bodyStream else { throw PluginError(.badRequest, "the body was not streamed") }
        let key = Self.partKey(id, upload.parts)
        let counter = CountingStream(source: body, limit: remaining)
        let info: BlobInfo
        do {
            info = try await blobs.put(key, body: counter.stream)
        } catch {
            try? await blobs.delete(key)
            throw error
        }
        var received = upload.received
        if info.size > 0 {
            // Only the PATCH that finds the offset it read moves it on; a concurrent one loses its part.
            let moved = try await database.execute(
                "UPDATE uploads SET received = received + ?, parts = parts + 1 WHERE id = ? AND received = ? AND parts = ?",
                [.int(info.size), .text(id), .int(upload.received), .int(Int64(upload.parts))])
            guard moved.affectedRows == 1 else {
                try? await blobs.delete(key)
                throw PluginError(.conflict, "another chunk was written meanwhile; ask HEAD for the offset")
            }
            received += info.size
        } else {
            try? await blobs.delete(key)
        }
        if received == upload.length {
            var done = upload
            done.received = received
            done.parts = upload.parts + (info.size > 0 ? 1 : 0)
            try await finish(done)
        }
        return PluginResponse(status: 204, headers: ["upload-offset": "\(received)"])
    }

    /// Joins the parts into the file and records it; the upload is gone afterwards.
    private func finish(_ upload: Upload) async throws {
        let parts = (0..<upload.parts).map { Self.partKey(upload.id, $0) }
        let joined = PartsReader(store: blobs, keys: parts)
        let counter = CountingStream(source: joined.stream, limit: limits.maxFileBytes)
        let info = try await blobs.put(Self.contentKey(upload.id), body: counter.stream)
        do {
            try await record(
                id: upload.id, workspaceId: upload.workspaceId, uploaderId: upload.uploaderId, name: upload.name, mime: upload.mime,
                info: info, head: counter.head, image: try await renditions(upload.id, size: info.size, head: counter.head)
            ) { transaction in
                try await transaction.execute("DELETE FROM uploads WHERE id = ?", [.text(upload.id)])
            }
        } catch {
            for key in [Self.contentKey(upload.id), "t/\(upload.id)", "p/\(upload.id)"] { try? await blobs.delete(key) }
            throw error
        }
        for key in parts { try? await blobs.delete(key) }
    }

    func deleteUpload(_ id: String, principal: Principal) async throws {
        let upload = try await upload(id, principal: principal)
        try await discard(upload.id, parts: upload.parts)
    }

    /// Forgets an upload and its parts.
    func discard(_ id: String, parts: Int) async throws {
        try await database.execute("DELETE FROM uploads WHERE id = ?", [.text(id)])
        for index in 0..<parts { try await blobs.delete(Self.partKey(id, index)) }
    }

    /// Deletes uploads past their expiry, a batch at a time.
    func sweepExpiredUploads() async throws {
        let rows = try await database.query("SELECT id, parts FROM uploads WHERE expires_at < ? LIMIT 100", [.date(Date())])
        for row in rows {
            guard let id = row["id"].string else { continue }
            try await discard(id, parts: Int(row["parts"].int ?? 0))
        }
    }
}

/// The stored parts of an upload read one after another as one stream.
private final class PartsReader: @unchecked Sendable {
    private let store: any BlobStore
    private var keys: ArraySlice<String>
    private var current: ByteStream?

    init(store: any BlobStore, keys: [String]) {
        self.store = store
        self.keys = keys[...]
    }

    var stream: ByteStream {
        ByteStream { [self] in
            while true {
                if let current, let piece = try await current.next() { return piece }
                guard let key = keys.popFirst() else { return nil }
                current = try await store.get(key, range: nil)
            }
        }
    }
}
