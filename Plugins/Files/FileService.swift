import Crypto
import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// Files: records in the plugin's schema, bytes in the deployment's blob store.
final class FileService: Sendable {
    struct Limits: Sendable {
        /// Largest file. Default 100 MiB.
        var maxFileBytes: Int64 = 100 << 20
        /// Bytes one workspace may hold; `nil` (the default) is unlimited.
        var workspaceQuota: Int64?
        /// How long a signed link works. Default 3600 s.
        var signedURLLifetime: TimeInterval = 3600
    }

    let context: any PluginContext
    let database: any PluginDatabase
    let blobs: any BlobStore
    let limits: Limits
    let publicURL: String
    let signingKey: SymmetricKey

    init(context: any PluginContext, database: any PluginDatabase, blobs: any BlobStore, limits: Limits, publicURL: String, signingKey: SymmetricKey) {
        self.context = context
        self.database = database
        self.blobs = blobs
        self.limits = limits
        self.publicURL = publicURL
        self.signingKey = signingKey
    }

    static func contentKey(_ id: String) -> String { "f/\(id)" }

    // MARK: Who may do what

    func role(_ userId: String, in workspaceId: String) async throws -> String? {
        try await context.call("workspace", "membership", MembershipQuery(workspaceId: workspaceId, userId: userId), as: MembershipReply.self).role
    }

    func record(_ id: String) async throws -> (FileRecord, inlineType: String?)? {
        guard IDs.isPlausible(id) else { return nil }
        guard let row = try await database.query("SELECT \(FileRecord.columns), inline_type FROM files WHERE id = ?", [.text(id)]).first else {
            return nil
        }
        return (FileRecord(row: row), row["inline_type"].string)
    }

    /// Its uploader, and whoever can see a channel where a message carrying it was posted.
    func canRead(_ file: FileRecord, userId: String) async throws -> Bool {
        if file.uploaderId == userId { return true }
        let channels = try await database.query("SELECT DISTINCT channel_id FROM file_messages WHERE file_id = ?", [.text(file.id)])
        for channel in channels.compactMap({ $0["channel_id"].string }) {
            let access = try await context.call("channel", "access", ChannelAccessQuery(channelId: channel, userId: userId), as: ChannelAccessReply.self)
            if access.visible { return true }
        }
        return false
    }

    /// The file when `principal` may read it; 404 otherwise, as for a file that does not exist.
    func readable(_ id: String, by principal: Principal) async throws -> (FileRecord, inlineType: String?) {
        guard let found = try await record(id), try await canRead(found.0, userId: principal.userId) else {
            throw PluginError(.notFound, "no such file")
        }
        return found
    }

    // MARK: Attachments

    /// The files, in order, when `userId` may attach each to a message in `workspaceId`.
    func attachable(_ query: AttachableQuery) async throws -> [FileSummary] {
        var files: [FileSummary] = []
        for id in query.fileIds {
            guard let (file, _) = try await record(id), file.workspaceId == query.workspaceId, try await canRead(file, userId: query.userId) else {
                throw PluginError(
                    .validationFailed, "file \(id) is not one you may attach in this workspace", details: ["file_ids": "\(id) is not attachable"])
            }
            files.append(file)
        }
        return files
    }

    /// Records that these files are now in a message of a channel, so the channel's readers may read them.
    func recordAttached(_ attached: AttachedFiles) async throws {
        for id in attached.fileIds {
            try await database.execute(
                "INSERT IGNORE INTO file_messages (file_id, message_id, channel_id) VALUES (?, ?, ?)",
                [.text(id), .text(attached.messageId), .text(attached.channelId)])
        }
    }

    // MARK: Upload

    /// Stores a file from `body` (a streamed body: raw bytes, or the `file` part of a form).
    func upload(_ request: PluginRequest, principal: Principal) async throws -> FileRecord {
        let workspaceId = request.query("workspace_id") ?? ""
        guard IDs.isPlausible(workspaceId) else {
            throw PluginError(.validationFailed, "workspace_id is required", details: ["workspace_id": "is required"])
        }
        guard try await role(principal.userId, in: workspaceId) != nil else { throw PluginError(.notFound, "no such workspace") }
        guard let source = request.bodyStream else { throw PluginError(.badRequest, "the body was not streamed") }
        let contentType = request.headers["content-type"] ?? ""
        var name = request.query("name")
        var declared: String? = contentType
        var body = source
        if let boundary = MultipartUpload.boundary(of: contentType) {
            let form = MultipartUpload(boundary: boundary, source: source)
            try await form.open()
            name = form.fileName ?? name
            declared = form.fileType
            body = form.stream
        }
        guard let cleanName = FileName.clean(name) else {
            throw PluginError(.validationFailed, "the file needs a name (?name= or the part's filename)", details: ["name": "is required"])
        }
        let used = try await usage(workspaceId).usedBytes
        if let quota = limits.workspaceQuota, let declaredLength = request.headers["content-length"].flatMap({ Int64($0) }),
            used + declaredLength > quota + (64 << 10)
        {
            throw quotaExceeded(quota: quota, used: used)
        }

        let id = IDs.make("F")
        let counter = CountingStream(source: body, limit: limits.maxFileBytes)
        let info: BlobInfo
        do {
            info = try await blobs.put(Self.contentKey(id), body: counter.stream)
        } catch {
            try? await blobs.delete(Self.contentKey(id))
            throw error
        }
        do {
            guard info.size > 0 else {
                throw PluginError(.validationFailed, "the file is empty", details: ["file": "is empty"])
            }
            try await record(
                id: id, workspaceId: workspaceId, uploaderId: principal.userId, name: cleanName, mime: FileName.mime(declared: declared, name: cleanName),
                info: info, head: counter.head, image: try await renditions(id, size: info.size, head: counter.head))
        } catch {
            for key in [Self.contentKey(id), "t/\(id)", "p/\(id)"] { try? await blobs.delete(key) }
            throw error
        }
        guard let stored = try await record(id) else { throw PluginError(.internalError, "the file vanished") }
        return stored.0
    }

    /// Records stored bytes as a file, within the workspace's quota (its usage row locked),
    /// running `also` in the same transaction.
    func record(
        id: String, workspaceId: String, uploaderId: String, name: String, mime: String, info: BlobInfo, head: Data,
        image: ImageProcessor.Result?, also: @escaping @Sendable (any SQLTransaction) async throws -> Void = { _ in }
    ) async throws {
        let inline = FileName.inlineType(declared: mime, head: head)
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        let quota = limits.workspaceQuota
        let thumbnailType: SQLValue = image?.thumbnail.map { .text($0.mime) } ?? .null
        try await database.transaction(retryOnDeadlock: true) { transaction in
            try await transaction.execute("INSERT IGNORE INTO usage_totals (workspace_id, used_bytes) VALUES (?, 0)", [.text(workspaceId)])
            let current = try await transaction.query(
                "SELECT used_bytes FROM usage_totals WHERE workspace_id = ? FOR UPDATE", [.text(workspaceId)]
            ).first?["used_bytes"].int ?? 0
            if let quota, current + info.size > quota { throw self.quotaExceeded(quota: quota, used: current) }
            try await transaction.execute(
                """
                INSERT INTO files (id, workspace_id, uploader_id, name, mime, size, sha256, inline_type, created_at,
                  width, height, has_thumbnail, thumbnail_type)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(id), .text(workspaceId), .text(uploaderId), .text(name), .text(mime), .int(info.size),
                    .text(info.sha256 ?? ""), inline.map(SQLValue.text) ?? .null, .date(now),
                    image.map { .int(Int64($0.width)) } ?? .null, image.map { .int(Int64($0.height)) } ?? .null,
                    .int(image?.thumbnail == nil ? 0 : 1), thumbnailType,
                ])
            try await transaction.execute(
                "UPDATE usage_totals SET used_bytes = used_bytes + ? WHERE workspace_id = ?", [.int(info.size), .text(workspaceId)])
            try await also(transaction)
        }
    }

    /// Dimensions, thumbnail (`t/<id>`) and preview (`p/<id>`) of stored bytes that start like an image.
    func renditions(_ id: String, size: Int64, head: Data) async throws -> ImageProcessor.Result? {
        guard FileName.sniffedImage(head) != nil, size <= Int64(ImageProcessor.maximumBytes) else { return nil }
        let bytes = try await blobs.get(Self.contentKey(id), range: nil).collect(upTo: ImageProcessor.maximumBytes)
        guard let result = await ImageProcessor.process(bytes) else { return nil }
        if let thumbnail = result.thumbnail { _ = try await blobs.put("t/\(id)", body: .of(thumbnail.data)) }
        if let preview = result.preview { _ = try await blobs.put("p/\(id)", body: .of(preview.data)) }
        return result
    }

    func quotaExceeded(quota: Int64, used: Int64) -> PluginError {
        PluginError(
            .conflict, "the workspace's file quota is used up",
            details: ["reason": "quota_exceeded", "quota_bytes": "\(quota)", "used_bytes": "\(used)"])
    }

    func usage(_ workspaceId: String) async throws -> Usage {
        let used = try await database.query("SELECT used_bytes FROM usage_totals WHERE workspace_id = ?", [.text(workspaceId)]).first?["used_bytes"].int
        return Usage(usedBytes: used ?? 0, quotaBytes: limits.workspaceQuota)
    }

    // MARK: Reading

    /// Files `principal` may read in a workspace, newest first, paged by id.
    func list(workspaceId: String, channelId: String?, uploaderId: String?, page: Page, principal: Principal) async throws -> ListResponse<FileRecord> {
        guard IDs.isPlausible(workspaceId), try await role(principal.userId, in: workspaceId) != nil else {
            throw PluginError(.notFound, "no such workspace")
        }
        var conditions = ["workspace_id = ?"]
        var values: [SQLValue] = [.text(workspaceId)]
        if let channelId {
            conditions.append("id IN (SELECT file_id FROM file_messages WHERE channel_id = ?)")
            values.append(.text(channelId))
        }
        if let uploaderId {
            conditions.append("uploader_id = ?")
            values.append(.text(uploaderId))
        }
        var cursor = page.cursor
        var kept: [FileRecord] = []
        // Read in batches, keeping what the caller may read, until the page is full or the files end.
        while kept.count <= page.limit {
            var batchConditions = conditions
            var batchValues = values
            if let cursor {
                batchConditions.append("id < ?")
                batchValues.append(.text(cursor))
            }
            let rows = try await database.query(
                "SELECT \(FileRecord.columns) FROM files WHERE \(batchConditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT 200", batchValues)
            for file in rows.map(FileRecord.init(row:)) where try await canRead(file, userId: principal.userId) { kept.append(file) }
            guard rows.count == 200, let last = rows.last?["id"].string else { break }
            cursor = last
        }
        return ListResponse(fetched: kept, limit: page.limit) { $0.id }
    }

    /// `files.find`: what the search plugin asks for `GET /search/files`.
    func find(_ query: FileSearchQuery) async throws -> FileSearchReply {
        var conditions = ["workspace_id = ?"]
        var values: [SQLValue] = [.text(query.workspaceId)]
        let readable = query.readableChannelIds.filter(IDs.isPlausible)
        if readable.isEmpty {
            conditions.append("uploader_id = ?")
        } else {
            conditions.append("(uploader_id = ? OR id IN (SELECT file_id FROM file_messages WHERE channel_id IN (\(sqlPlaceholders(readable.count)))))")
        }
        values.append(.text(query.userId))
        values += readable.map(SQLValue.text)
        for word in query.words {
            conditions.append("name LIKE ?")
            values.append(.text("%" + sqlLikeEscaped(word) + "%"))
        }
        for word in query.excluded {
            conditions.append("name NOT LIKE ?")
            values.append(.text("%" + sqlLikeEscaped(word) + "%"))
        }
        if let uploaders = query.uploaderIds {
            guard !uploaders.isEmpty else { return FileSearchReply(files: [], nextCursor: nil) }
            conditions.append("uploader_id IN (\(sqlPlaceholders(uploaders.count)))")
            values += uploaders.map(SQLValue.text)
        }
        if let channels = query.channelIds {
            guard !channels.isEmpty else { return FileSearchReply(files: [], nextCursor: nil) }
            conditions.append("id IN (SELECT file_id FROM file_messages WHERE channel_id IN (\(sqlPlaceholders(channels.count))))")
            values += channels.map(SQLValue.text)
        }
        if let from = query.createdFrom {
            conditions.append("created_at >= ?")
            values.append(.date(from))
        }
        if let before = query.createdBefore {
            conditions.append("created_at < ?")
            values.append(.date(before))
        }
        if let cursor = query.cursor {
            conditions.append("id < ?")
            values.append(.text(cursor))
        }
        let limit = min(max(query.limit, 1), 200)
        let rows = try await database.query(
            "SELECT \(FileRecord.columns) FROM files WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT \(limit + 1)", values)
        let files = rows.prefix(limit).map(FileRecord.init(row:))
        return FileSearchReply(files: Array(files), nextCursor: rows.count > limit ? files.last?.id : nil)
    }


    // MARK: Signed links

    func signature(_ id: String, _ variant: String, _ expires: Int) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(id)|\(variant)|\(expires)".utf8), using: signingKey)
        return Data(code).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func signedLink(_ id: String, variant: String) -> SignedLink {
        let expires = Int(Date().timeIntervalSince1970 + limits.signedURLLifetime)
        let url = "\(publicURL)/api/v1/files/\(id)/\(variant)?expires=\(expires)&sig=\(signature(id, variant, expires))"
        return SignedLink(url: url, expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)))
    }

    /// Whether the request carries a valid, unexpired signature for this file and variant.
    func checkSignature(_ request: PluginRequest, id: String, variant: String) throws {
        guard let expiresText = request.query("expires"), let expires = Int(expiresText), let sig = request.query("sig") else {
            throw PluginError(.forbidden, "this link is not valid")
        }
        let expected = signature(id, variant, expires)
        // Constant time: the signature is a secret until it matches.
        guard Data(sig.utf8).count == Data(expected.utf8).count,
            zip(sig.utf8, expected.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
        else { throw PluginError(.forbidden, "this link is not valid") }
        guard Double(expires) > Date().timeIntervalSince1970 else { throw PluginError(.forbidden, "this link has expired") }
    }

    // MARK: Deleting

    func delete(_ id: String, principal: Principal) async throws {
        let (file, _) = try await readable(id, by: principal)
        if file.uploaderId != principal.userId {
            let role = try await role(principal.userId, in: file.workspaceId)
            guard role == "owner" || role == "admin" else { throw PluginError(.forbidden, "only the uploader or workspace admins delete a file") }
        }
        let deleted = try await database.transaction(retryOnDeadlock: true) { transaction -> Bool in
            let outcome = try await transaction.execute("DELETE FROM files WHERE id = ?", [.text(id)])
            guard outcome.affectedRows == 1 else { return false }
            try await transaction.execute(
                "UPDATE usage_totals SET used_bytes = GREATEST(0, used_bytes - ?) WHERE workspace_id = ?", [.int(file.size), .text(file.workspaceId)])
            try await transaction.execute("DELETE FROM file_messages WHERE file_id = ?", [.text(id)])
            try await transaction.publish("file.deleted", ["file_id": id, "workspace_id": file.workspaceId])
            return true
        }
        guard deleted else { throw PluginError(.notFound, "no such file") }
        for key in [Self.contentKey(id), "t/\(id)", "p/\(id)"] { try await blobs.delete(key) }
    }
}

/// A stream passed through while counting: past `limit` bytes it fails with 413, and
/// the first bytes are kept for sniffing the type.
final class CountingStream: @unchecked Sendable {
    private let source: ByteStream
    private let limit: Int64
    private var count: Int64 = 0
    private(set) var head = Data()

    init(source: ByteStream, limit: Int64) {
        self.source = source
        self.limit = limit
    }

    var stream: ByteStream {
        ByteStream { [self] in
            guard let piece = try await source.next() else { return nil }
            count += Int64(piece.count)
            guard count <= limit else {
                throw PluginError(.payloadTooLarge, "a file is at most \(limit) bytes", details: ["max_bytes": "\(limit)"])
            }
            if head.count < 16 { head.append(piece.prefix(16 - head.count)) }
            return piece
        }
    }
}
