import Crypto
import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The `files` plugin: uploads streamed into the deployment's blob store, downloads with
/// ranges and ETags, signed links that need no token, per-file limits and workspace quotas.
public final class FilesPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "files", version: "1.0.0", mount: "files", dependencies: ["workspace", "channel"],
            capabilities: PluginCapabilities(database: true, publishes: ["file"]),
            settings: [
                SettingSpec(key: "max_file_bytes", kind: .integer, defaultValue: .int(104_857_600), help: "Largest file, in bytes"),
                SettingSpec(key: "workspace_quota_bytes", kind: .integer, help: "Bytes one workspace may hold (unset: unlimited)"),
                SettingSpec(key: "signed_url_ttl_s", kind: .integer, defaultValue: .int(3600), help: "How long a signed link works"),
                SettingSpec(key: "upload_expiry_s", kind: .integer, defaultValue: .int(86400), help: "How long an unfinished upload is kept"),
                SettingSpec(
                    key: "public_url", kind: .string, defaultValue: .string("http://localhost:8080"),
                    help: "Base of signed links when server.public_url is not set"),
            ],
            summary: "Files: uploads, downloads with ranges, signed links, quotas")
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "files", statements: [
                """
                CREATE TABLE files (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  workspace_id VARCHAR(32) NOT NULL,
                  uploader_id VARCHAR(32) NOT NULL,
                  name VARCHAR(255) NOT NULL,
                  mime VARCHAR(127) NOT NULL,
                  size BIGINT NOT NULL,
                  sha256 CHAR(64) NOT NULL,
                  width INT NULL,
                  height INT NULL,
                  has_thumbnail TINYINT(1) NOT NULL DEFAULT 0,
                  inline_type VARCHAR(127) NULL,
                  created_at DATETIME(3) NOT NULL,
                  KEY by_workspace (workspace_id, id),
                  KEY by_uploader (uploader_id, id)
                )
                """,
                """
                CREATE TABLE usage_totals (
                  workspace_id VARCHAR(32) NOT NULL PRIMARY KEY,
                  used_bytes BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE file_messages (
                  file_id VARCHAR(32) NOT NULL,
                  message_id VARCHAR(32) NOT NULL,
                  channel_id VARCHAR(32) NOT NULL,
                  PRIMARY KEY (file_id, message_id),
                  KEY by_channel (channel_id)
                )
                """,
                """
                CREATE TABLE signing_key (
                  id TINYINT NOT NULL PRIMARY KEY,
                  secret CHAR(64) NOT NULL
                )
                """,
            ]),
            Migration(version: 2, name: "resumable_uploads", statements: [
                """
                CREATE TABLE uploads (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  workspace_id VARCHAR(32) NOT NULL,
                  uploader_id VARCHAR(32) NOT NULL,
                  name VARCHAR(255) NOT NULL,
                  mime VARCHAR(127) NOT NULL,
                  length BIGINT NOT NULL,
                  received BIGINT NOT NULL,
                  parts INT NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  expires_at DATETIME(3) NOT NULL,
                  KEY by_expiry (expires_at)
                )
                """
            ]),
            Migration(version: 3, name: "thumbnail_type", statements: ["ALTER TABLE files ADD COLUMN thumbnail_type VARCHAR(32) NULL"]),
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let database = try context.requireDatabase()
        let settings = context.settings
        // One key for every host sharing the database; the first to start makes it.
        let fresh = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try await database.execute("INSERT IGNORE INTO signing_key (id, secret) VALUES (1, ?)", [.text(fresh)])
        guard let secret = try await database.query("SELECT secret FROM signing_key WHERE id = 1").first?["secret"].string else {
            throw PluginError(.unavailable, "no signing key")
        }
        var limits = FileService.Limits()
        limits.maxFileBytes = Int64(max(1, settings["max_file_bytes"]?.intValue ?? 104_857_600))
        limits.workspaceQuota = settings["workspace_quota_bytes"]?.intValue.map { Int64(max(0, $0)) }
        limits.signedURLLifetime = TimeInterval(max(1, settings["signed_url_ttl_s"]?.intValue ?? 3600))
        // server.public_url when the deployment sets it; else this plugin's own setting.
        let publicURL = (context.publicURL ?? settings["public_url"]?.stringValue ?? "http://localhost:8080")
            .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let service = FileService(
            context: context, database: database, blobs: try context.requireBlobs(), limits: limits, publicURL: publicURL,
            signingKey: SymmetricKey(data: Data(secret.utf8)))
        try registerRoutes(context, service)
        try await registerUploads(context, service, expiry: TimeInterval(max(1, settings["upload_expiry_s"]?.intValue ?? 86400)))

        try context.provideService("attachable") { call in
            guard call.caller == "message" else { throw PluginError(.forbidden, "only the message plugin attaches files") }
            let query = try JSONDecoder.quik.decode(AttachableQuery.self, from: call.payload)
            return try JSONEncoder.quik.encode(AttachableReply(files: try await service.attachable(query)))
        }
        try context.provideService("find") { call in
            guard call.caller == "search" else { throw PluginError(.forbidden, "only the search plugin searches files this way") }
            return try JSONEncoder.quik.encode(try await service.find(try JSONDecoder.quik.decode(FileSearchQuery.self, from: call.payload)))
        }
        try context.provideService("attached") { call in
            guard call.caller == "message" else { throw PluginError(.forbidden, "only the message plugin attaches files") }
            try await service.recordAttached(try JSONDecoder.quik.decode(AttachedFiles.self, from: call.payload))
            return try JSONEncoder.quik.encode(AttachableReply(files: []))
        }
        // The same from the event, should the call above have failed; and a deleted message no longer shares its files.
        try context.subscribe("message.created") { event in
            guard let posted = try? JSONDecoder.quik.decode(PostedMessage.self, from: event.payload), !posted.files.isEmpty else { return }
            try? await service.recordAttached(AttachedFiles(messageId: posted.id, channelId: posted.channelId, fileIds: posted.files.map(\.id)))
        }
        try context.subscribe("message.deleted") { event in
            guard let posted = try? JSONDecoder.quik.decode(PostedMessage.self, from: event.payload) else { return }
            _ = try? await database.execute("DELETE FROM file_messages WHERE message_id = ?", [.text(posted.id)])
        }
    }

    private func registerUploads(_ context: any PluginContext, _ service: FileService, expiry: TimeInterval) async throws {
        let tusHeaders: [APIParameter] = [.header("Tus-Resumable", .string(values: [Tus.version]), required: true)]
        let options = RouteOptions(requiresAuthentication: false, summary: "tus: what this server supports").documented(status: 204)
        try context.addRoute(.options, "/uploads", options: options) { request in
            await Tus.answer(request) {
                PluginResponse(
                    status: 204,
                    headers: ["tus-version": Tus.version, "tus-extension": Tus.extensions, "tus-max-size": "\(service.limits.maxFileBytes)"])
            }
        }
        let create = RouteOptions(summary: "tus: start a resumable upload (Upload-Length, Upload-Metadata filename, filetype, workspace_id)")
            .documented(
                query: tusHeaders + [.header("Upload-Length", .string(pattern: "^[0-9]{1,19}$"), required: true), .header("Upload-Metadata", .string, required: true)],
                status: 201)
        try context.addRoute(.post, "/uploads", options: create) { request in
            await Tus.answer(request) { try await service.createUpload(request, principal: try request.requirePrincipal(), expiry: expiry) }
        }
        try context.addRoute(.head, "/uploads/{id}", options: RouteOptions(summary: "tus: the upload's offset").documented(query: tusHeaders)) { request in
            await Tus.answer(request) {
                PluginResponse(status: 200, headers: try await service.upload(try request.parameter("id"), principal: try request.requirePrincipal()).headers)
            }
        }
        var patch = RouteOptions(summary: "tus: append a chunk at Upload-Offset")
            .documented(query: tusHeaders + [.header("Upload-Offset", .string(pattern: "^[0-9]{1,19}$"), required: true)], status: 204)
            .streamingBody(maxBytes: service.limits.maxFileBytes)
        patch.requestContentType = "application/offset+octet-stream"
        try context.addRoute(.patch, "/uploads/{id}", options: patch) { request in
            await Tus.answer(request) { try await service.patchUpload(try request.parameter("id"), request: request, principal: try request.requirePrincipal()) }
        }
        try context.addRoute(.delete, "/uploads/{id}", options: RouteOptions(summary: "tus: abandon an upload").documented(query: tusHeaders, status: 204)) { request in
            await Tus.answer(request) {
                try await service.deleteUpload(try request.parameter("id"), principal: try request.requirePrincipal())
                return .noContent
            }
        }
        // One sweep at a time for the whole deployment, as a durable job that schedules its own next run.
        let sweepEvery = min(60, max(1, expiry / 10))
        let jobs = try context.requireJobs()
        try context.onJob(Self.sweepJob) { _ in
            try await service.sweepExpiredUploads()
            try await jobs.reschedule(key: Self.sweepJob, to: Date().addingTimeInterval(sweepEvery))
        }
        if try await !jobs.reschedule(key: Self.sweepJob, to: Date().addingTimeInterval(sweepEvery)) {
            try await jobs.schedule(JobRequest(kind: Self.sweepJob, runAt: Date().addingTimeInterval(sweepEvery), key: Self.sweepJob))
        }
    }

    static let sweepJob = "sweep_expired_uploads"

    /// What the files plugin reads of a `message.*` event.
    struct PostedMessage: Decodable {
        struct Attached: Decodable {
            var id: String
        }

        var id: String
        var channelId: String
        var files: [Attached] = []

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            channelId = try container.decode(String.self, forKey: .channelId)
            files = try container.decodeIfPresent([Attached].self, forKey: .files) ?? []
        }

        enum CodingKeys: String, CodingKey { case id, channelId, files }
    }

    private func registerRoutes(_ context: any PluginContext, _ service: FileService) throws {
        let file = FileRecord.schema
        let workspace = APIParameter.query("workspace_id", .string(pattern: "^[A-Za-z0-9_-]{1,64}$"), required: true)
        var upload = RouteOptions(summary: "Upload a file (multipart/form-data with a part 'file', or the raw bytes with ?name=)")
            .documented(query: [workspace, .query("name", .string, "The file's name, for a raw upload")], response: file, status: 201)
            // The form around the file may add a little to its bytes.
            .streamingBody(maxBytes: service.limits.maxFileBytes + (1 << 20))
        upload.requestContentType = "application/octet-stream"
        try context.addRoute(.post, "/", options: upload) { request in
            try .json(try await service.upload(request, principal: try request.requirePrincipal()), status: 201)
        }

        let filters: [APIParameter] = [
            workspace, .query("channel_id", .string, "Only files posted in this channel"), .query("uploader_id", .string, "Only this person's"),
            .query("limit", .integer(minimum: 1, maximum: 200)), .query("cursor", .string),
        ]
        try context.addRoute(.get, "/", options: RouteOptions(summary: "Files the caller may read, newest first").documented(query: filters, response: .list(of: file))) { request in
            let page = try Page(request)
            return try .json(
                try await service.list(
                    workspaceId: request.query("workspace_id") ?? "", channelId: request.query("channel_id"), uploaderId: request.query("uploader_id"),
                    page: page, principal: try request.requirePrincipal()))
        }
        try context.addRoute(.get, "/usage", options: RouteOptions(summary: "A workspace's file usage and quota").documented(query: [workspace], response: Usage.schema)) { request in
            let principal = try request.requirePrincipal()
            let workspaceId = request.query("workspace_id") ?? ""
            guard IDs.isPlausible(workspaceId), try await service.role(principal.userId, in: workspaceId) != nil else {
                throw PluginError(.notFound, "no such workspace")
            }
            return try .json(try await service.usage(workspaceId))
        }
        try context.addRoute(.get, "/{id}", options: RouteOptions(summary: "A file's record").documented(response: file)) { request in
            try .json(try await service.readable(try request.parameter("id"), by: try request.requirePrincipal()).0)
        }
        let variant = APIParameter.query("variant", .string(values: ["content", "thumbnail", "preview"]), "content by default")
        try context.addRoute(.get, "/{id}/url", options: RouteOptions(summary: "A signed link to the file that needs no token").documented(query: [variant], response: SignedLink.schema)) { request in
            let id = try request.parameter("id")
            _ = try await service.readable(id, by: try request.requirePrincipal())
            let which = request.query("variant") ?? "content"
            guard ["content", "thumbnail", "preview"].contains(which) else {
                throw PluginError(.validationFailed, "variant is content, thumbnail or preview", details: ["variant": "unknown"])
            }
            return try .json(service.signedLink(id, variant: which))
        }
        let signed: [APIParameter] = [
            .query("expires", .integer, "From a signed link"), .query("sig", .string, "From a signed link"),
            .query("download", .string(values: ["1"]), "Always as an attachment"),
        ]
        for which in ["content", "thumbnail", "preview"] {
            var options = RouteOptions(requiresAuthentication: false, summary: "The file's \(which) (a bearer token, or a signed link's expires and sig)")
                .documented(query: signed, response: .string(format: "binary"), also: which == "content" ? [206] : [])
            options.responseContentType = "*/*"
            try context.addRoute(.get, "/{id}/\(which)", options: options) { request in
                let id = try request.parameter("id")
                let found: (FileRecord, inlineType: String?)
                if request.query("sig") != nil || request.principal == nil {
                    guard let record = try await service.record(id) else { throw PluginError(.notFound, "no such file") }
                    try service.checkSignature(request, id: id, variant: which)
                    found = record
                } else {
                    found = try await service.readable(id, by: try request.requirePrincipal())
                }
                guard which == "content" else { return try await service.rendition(found.0, which == "thumbnail" ? "t" : "p") }
                return try await service.content(found.0, inlineType: found.inlineType, request: request)
            }
        }
        try context.addRoute(.delete, "/{id}", options: RouteOptions(summary: "Delete a file (uploader or workspace admins)").documented(status: 204)) { request in
            try await service.delete(try request.parameter("id"), principal: try request.requirePrincipal())
            return .noContent
        }
    }
}
