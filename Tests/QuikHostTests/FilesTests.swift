import AsyncHTTPClient
import Foundation
import NIOCore
import QuikSDK
import QuikTesting
import Testing
@testable import QuikRuntime
@testable import QuikStorage

/// Files end to end: upload, attach to a message, read as a channel member, signed links,
/// limits and bad input, with the local store and with S3 (moto_server).
@Suite("Files")
struct FilesTests {
    /// A 1×1 PNG.
    static let png = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")!

    static func sha256(_ data: Data) -> String { SignatureV4.sha256(data) }

    /// A `multipart/form-data` body with a text part and the `file` part.
    static func form(_ data: Data, filename: String, type: String, boundary: String = "qb\(UUID().uuidString.prefix(8))") -> (Data, String) {
        var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: \(type)\r\n\r\n".utf8))
        body.append(data)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    /// The host with the files plugin (small limits for the tests) on `store`.
    static func with(store: String, _ body: (IdentityHost) async throws -> Void) async throws {
        let bucket: S3Configuration? = store == "s3" ? try await MotoServer.store().configuration : nil
        try await IdentityHost.with(IdentityHost.messaging + ["files"], configure: { configuration in
            if let index = configuration.plugins.firstIndex(where: { $0.name == "files" }) {
                configuration.plugins[index].settings = [
                    "max_file_bytes": .int(2 << 20), "workspace_quota_bytes": .int(3 << 20), "signed_url_ttl_s": .int(2),
                ]
            }
            if let bucket { configuration.storage.backend = .s3(bucket) }
            configuration.publicURL = "https://chat.example.test"
        }, body)
    }

    @Test("a photo uploaded as a form, posted in a channel: members read it (whole, by range, by ETag) and its thumbnail, a non-member gets 404 for both, a signed link works without a token until it expires", arguments: ["local", "s3"])
    func endToEnd(store: String) async throws {
        try await Self.with(store: store) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let sam = try await chat.register("Sam")
            let workspace = try await chat.workspace(owner: ada, members: [bob, sam])
            let general = try await chat.channel(workspace, "general", kind: "private", by: ada, adding: [bob])
            let (body, type) = Self.form(Self.png, filename: "dot.png", type: "image/png")
            let uploaded = try chat.json(
                try await chat.client.send("POST", "/api/v1/files?workspace_id=\(workspace)", body: body, token: ada.access, headers: ["Content-Type": type]),
                201, "upload")
            let id = try #require(uploaded["id"] as? String)
            #expect(uploaded["name"] as? String == "dot.png")
            #expect(uploaded["mime"] as? String == "image/png")
            #expect(uploaded["size"] as? Int == Self.png.count)
            #expect(uploaded["sha256"] as? String == Self.sha256(Self.png))
            #expect(try await chat.client.get("/api/v1/files/\(id)", token: bob.access).status == 404, "not yet shared with Bob")

            let bobSocket = try await chat.socket(bob)
            let posted = try chat.json(
                try await chat.client.post(
                    "/api/v1/messages", json: #"{"channel_id":"\#(general)","text":"","file_ids":["\#(id)"]}"#, token: ada.access),
                201, "post with a file")
            #expect((posted["files"] as? [[String: Any]])?.first?["id"] as? String == id)
            let event = try await bobSocket.waitForEvent("message.created") { $0["id"] as? String == posted["id"] as? String }
            #expect((event["files"] as? [[String: Any]])?.first?["sha256"] as? String == Self.sha256(Self.png))

            let content = try await chat.client.get("/api/v1/files/\(id)/content", token: bob.access)
            #expect(content.status == 200)
            #expect(content.body == Self.png)
            #expect(content.headers["content-type"] == "image/png")
            #expect(content.headers["x-content-type-options"] == "nosniff")
            #expect(content.headers["content-disposition"]?.hasPrefix("inline;") == true)
            let etag = try #require(content.headers["etag"])
            #expect(try await chat.client.get("/api/v1/files/\(id)/content", token: bob.access, headers: ["If-None-Match": etag]).status == 304)
            let part = try await chat.client.get("/api/v1/files/\(id)/content", token: bob.access, headers: ["Range": "bytes=1-3"])
            #expect(part.status == 206)
            #expect(part.body == Self.png.subdata(in: 1..<4))
            #expect(part.headers["content-range"] == "bytes 1-3/\(Self.png.count)")
            let past = try await chat.client.get("/api/v1/files/\(id)/content", token: bob.access, headers: ["Range": "bytes=9999-"])
            #expect(past.status == 416)
            #expect(past.headers["content-range"] == "bytes */\(Self.png.count)")
            #expect(try await chat.client.get("/api/v1/files/\(id)/content", token: bob.access, headers: ["Range": "bytes=0-1,3-4"]).status == 200)

            #expect(uploaded["width"] as? Int == 1)
            #expect(uploaded["has_thumbnail"] as? Bool == true)
            let thumbnail = try await chat.client.get("/api/v1/files/\(id)/thumbnail", token: bob.access)
            #expect(thumbnail.status == 200)
            #expect(thumbnail.headers["content-type"]?.hasPrefix("image/") == true)

            // Sam is in the workspace but not the private channel.
            #expect(try await chat.client.get("/api/v1/files/\(id)", token: sam.access).status == 404)
            #expect(try await chat.client.get("/api/v1/files/\(id)/content", token: sam.access).status == 404)
            #expect(try await chat.client.get("/api/v1/files/\(id)/thumbnail", token: sam.access).status == 404)

            let link = try chat.json(try await chat.client.get("/api/v1/files/\(id)/url", token: bob.access), 200, "signed link")
            let url = try #require(link["url"] as? String)
            #expect(url.hasPrefix("https://chat.example.test/api/v1/files/\(id)/content?expires="), "server.public_url is the base")
            let path = try #require(url.range(of: "/api/v1/").map { String(url[$0.lowerBound...]) })
            #expect(try await chat.client.get(path).body == Self.png, "no token needed")
            #expect(try await chat.client.get(path.replacingOccurrences(of: "sig=", with: "sig=x")).status == 403)
            #expect(try await chat.client.get(path.replacingOccurrences(of: "/content?", with: "/thumbnail?")).status == 403)
            try await Task.sleep(for: .milliseconds(2100))
            #expect(try await chat.client.get(path).status == 403, "expired")

            // Deleting frees the bytes, and the message drops the file.
            #expect(try await chat.client.send("DELETE", "/api/v1/files/\(id)", token: bob.access).status == 403)
            #expect(try await chat.client.send("DELETE", "/api/v1/files/\(id)", token: ada.access).status == 204)
            try await bobSocket.waitForEvent("message.updated") { ($0["files"] as? [Any])?.isEmpty == true }
            #expect(try await chat.client.get("/api/v1/files/\(id)", token: ada.access).status == 404)
            #expect(try await chat.client.get(path).status == 404)
            let usage = try chat.json(try await chat.client.get("/api/v1/files/usage?workspace_id=\(workspace)", token: bob.access), 200, "usage")
            #expect(usage["used_bytes"] as? Int == 0)
        }
    }

    @Test("bad uploads: past the file limit 413, past the quota 409, empty 422, no name 422, a non-member 404; names are cleaned; HTML posing as PNG is never served inline", arguments: ["local", "s3"])
    func badUploads(store: String) async throws {
        try await Self.with(store: store) { chat in
            let ada = try await chat.register("Ada")
            let sam = try await chat.register("Sam")
            let workspace = try await chat.workspace(owner: ada, members: [])
            func upload(_ data: Data, name: String?, type: String = "application/octet-stream", as account: IdentityHost.Account? = nil) async throws -> TestClient.Reply {
                let query = name.map { "&name=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
                return try await chat.client.send(
                    "POST", "/api/v1/files?workspace_id=\(workspace)\(query)", body: data, token: (account ?? ada).access, headers: ["Content-Type": type])
            }
            let big = try await upload(Data(count: (2 << 20) + 1), name: "big.bin")
            #expect(big.status == 413)
            #expect((try big.json()["error"] as? [String: Any]).flatMap { $0["details"] as? [String: Any] }?["max_bytes"] as? String == "\(2 << 20)")
            #expect(try await upload(Data(count: 1 << 20), name: "one.bin").status == 201)
            #expect(try await upload(Data(count: 1 << 20), name: "two.bin").status == 201)
            let over = try await upload(Data(count: (1 << 20) + 10), name: "three.bin")
            #expect(over.status == 409)
            // Sent chunked, with no length to check first: refused once the bytes are in, and none kept.
            var chunked = HTTPClientRequest(url: "http://127.0.0.1:\(chat.test.port)/api/v1/files?workspace_id=\(workspace)&name=four.bin")
            chunked.method = .POST
            chunked.headers.add(name: "Authorization", value: "Bearer \(ada.access)")
            chunked.headers.add(name: "Content-Type", value: "application/octet-stream")
            let (pieces, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
            feed.yield(ByteBuffer(repeating: 7, count: 700_000))
            feed.yield(ByteBuffer(repeating: 8, count: 700_000))
            feed.finish()
            chunked.body = .stream(pieces, length: .unknown)
            let midway = try await HTTPClient.shared.execute(chunked, timeout: .seconds(30))
            let midwayBody = String(buffer: try await midway.body.collect(upTo: 1 << 16))
            #expect(midway.status.code == 409, "\(midwayBody)")
            #expect(midwayBody.contains("quota_exceeded"))
            #expect((try over.json()["error"] as? [String: Any]).flatMap { $0["details"] as? [String: Any] }?["reason"] as? String == "quota_exceeded")
            #expect(try await upload(Data(), name: "empty.txt").status == 422)
            #expect(try await upload(Data("x".utf8), name: nil).status == 422)
            #expect(try await upload(Data("x".utf8), name: "x.txt", as: sam).status == 404)
            let usage = try chat.json(try await chat.client.get("/api/v1/files/usage?workspace_id=\(workspace)", token: ada.access), 200, "usage")
            #expect(usage["used_bytes"] as? Int == 2 << 20, "refused uploads hold no bytes")
            #expect(usage["quota_bytes"] as? Int == 3 << 20)

            let tricky = try chat.json(try await upload(Data("hi".utf8), name: "../etc/pass\u{0}wd.txt", type: "text/plain"), 201, "tricky name")
            #expect(tricky["name"] as? String == ".._etc_pass_wd.txt")

            let html = Data("<html><script>alert(1)</script></html>".utf8)
            let fake = try chat.json(try await upload(html, name: "cat.png", type: "image/png"), 201, "HTML named .png")
            let served = try await chat.client.get("/api/v1/files/\(try #require(fake["id"] as? String))/content", token: ada.access)
            #expect(served.headers["content-disposition"]?.hasPrefix("attachment;") == true)
            #expect(served.headers["x-content-type-options"] == "nosniff")
            #expect(served.headers["content-security-policy"]?.contains("sandbox") == true)
        }
    }

    static let root = Fixtures.packageRoot

    @Test("a photo uploaded with tuspy, cut off half-way through a chunk and resumed by a new tuspy uploader from the server's offset, arrives whole; posted in a channel, the other member gets message.created with it and fetches its thumbnail, a non-member gets 404", arguments: ["local", "s3"])
    func resumableWithTuspy(store: String) async throws {
        let folder = try Fixtures.temporaryDirectory()
        let python = Self.root + "/.build-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw TestFailure("\(python) is missing: scripts/test makes the venv") }
        let made = try await runProgram(python, [Self.root + "/Tests/Clients/images.py", "make", folder])
        try #require(made.status == 0, "\(made.output)")
        let path = folder + "/noise.jpg"
        let photo = try Data(contentsOf: URL(fileURLWithPath: path))
        try #require(photo.count > 600_000, "the photo spans more than two chunks")
        try await Self.with(store: store) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let sam = try await chat.register("Sam")
            let workspace = try await chat.workspace(owner: ada, members: [bob, sam])
            let (status, output) = try await runProgram(python, [
                Self.root + "/Tests/Clients/tus_upload.py", "http://127.0.0.1:\(chat.test.port)", ada.access, workspace, path, "262144", "2",
            ])
            #expect(status == 0, "\(output)")
            #expect(output.contains("resuming at 524288"), "\(output)")
            let url = try #require(output.split(separator: "\n").last.map(String.init))
            let id = try #require(url.split(separator: "/").last.map(String.init))
            let file = try chat.json(try await chat.client.get("/api/v1/files/\(id)", token: ada.access), 200, "the finished upload")
            #expect(file["sha256"] as? String == Self.sha256(photo))
            #expect(file["size"] as? Int == photo.count)
            #expect(file["name"] as? String == "photo.jpg")
            #expect(file["width"] as? Int == 1600)
            #expect(file["has_thumbnail"] as? Bool == true)
            #expect(try await chat.client.get("/api/v1/files/\(id)/content", token: ada.access).body == photo)
            let gone = try await chat.client.send("HEAD", "/api/v1/files/uploads/\(id)", token: ada.access, headers: ["Tus-Resumable": "1.0.0"])
            #expect(gone.status == 404, "a finished upload is the file now")

            let general = try await chat.channel(workspace, "photos", kind: "private", by: ada, adding: [bob])
            let bobSocket = try await chat.socket(bob)
            let posted = try chat.json(
                try await chat.client.post("/api/v1/messages", json: #"{"channel_id":"\#(general)","text":"look","file_ids":["\#(id)"]}"#, token: ada.access),
                201, "post the photo")
            let event = try await bobSocket.waitForEvent("message.created") { $0["id"] as? String == posted["id"] as? String }
            #expect((event["files"] as? [[String: Any]])?.first?["id"] as? String == id)
            let thumbnail = try await chat.client.get("/api/v1/files/\(id)/thumbnail", token: bob.access)
            #expect(thumbnail.status == 200)
            #expect(thumbnail.headers["content-type"] == "image/jpeg")
            #expect(try await chat.client.get("/api/v1/files/\(id)", token: sam.access).status == 404)
            #expect(try await chat.client.get("/api/v1/files/\(id)/thumbnail", token: sam.access).status == 404)

            // Removed from the channel, Bob loses the file with it.
            let removed = try await chat.client.send("DELETE", "/api/v1/channels/\(general)/members/\(bob.id)", token: ada.access)
            #expect(removed.status == 204 || removed.status == 200)
            #expect(try await chat.client.get("/api/v1/files/\(id)/thumbnail", token: bob.access).status == 404)
        }
    }

    @Test("tus errors: 412 without Tus-Resumable, 415 for another type, 409 for a wrong offset, 413 past the length or the limit, 409 past the quota, 404 for someone else's upload; DELETE ends one", arguments: ["local"])
    func tusErrors(store: String) async throws {
        try await Self.with(store: store) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let tus = ["Tus-Resumable": "1.0.0"]
            func metadata(_ name: String) -> String {
                "filename \(Data(name.utf8).base64EncodedString()),workspace_id \(Data(workspace.utf8).base64EncodedString())"
            }
            let options = try await chat.client.send("OPTIONS", "/api/v1/files/uploads")
            #expect(options.status == 204)
            #expect(options.headers["tus-extension"] == "creation,termination,expiration")
            #expect(options.headers["tus-max-size"] == "\(2 << 20)")
            let noVersion = try await chat.client.send("POST", "/api/v1/files/uploads", token: ada.access, headers: ["Upload-Length": "10", "Upload-Metadata": metadata("a.txt")])
            #expect(noVersion.status == 412)
            #expect(noVersion.headers["tus-version"] == "1.0.0")
            #expect(try await chat.client.send("POST", "/api/v1/files/uploads", token: ada.access, headers: tus.merging(["Upload-Metadata": metadata("a.txt")]) { $1 }).status == 400)
            #expect(try await chat.client.send("POST", "/api/v1/files/uploads", token: ada.access, headers: tus.merging(["Upload-Length": "\((2 << 20) + 1)", "Upload-Metadata": metadata("a.txt")]) { $1 }).status == 413)
            let held = try await chat.client.send(
                "POST", "/api/v1/files?workspace_id=\(workspace)&name=held.bin", body: Data(count: 1_600_000), token: ada.access,
                headers: ["Content-Type": "application/octet-stream"])
            #expect(held.status == 201)
            let overQuota = try await chat.client.send(
                "POST", "/api/v1/files/uploads", token: ada.access, headers: tus.merging(["Upload-Length": "1600000", "Upload-Metadata": metadata("b.bin")]) { $1 })
            #expect(overQuota.status == 409, "the quota counts Upload-Length")
            #expect(overQuota.headers["tus-resumable"] == "1.0.0")
            #expect(try await chat.client.send("POST", "/api/v1/files/uploads", token: ada.access, headers: tus.merging(["Upload-Length": "10", "Upload-Metadata": "workspace_id \(Data(workspace.utf8).base64EncodedString())"]) { $1 }).status == 422)

            let created = try await chat.client.send("POST", "/api/v1/files/uploads", token: ada.access, headers: tus.merging(["Upload-Length": "10", "Upload-Metadata": metadata("ten.txt")]) { $1 })
            #expect(created.status == 201)
            #expect(created.headers["tus-resumable"] == "1.0.0")
            #expect(created.headers["upload-expires"] != nil)
            let location = try #require(created.headers["location"])
            func patch(_ bytes: String, offset: Int, type: String = "application/offset+octet-stream", as account: IdentityHost.Account? = nil) async throws -> TestClient.Reply {
                try await chat.client.send(
                    "PATCH", location, body: Data(bytes.utf8), token: (account ?? ada).access,
                    headers: tus.merging(["Content-Type": type, "Upload-Offset": "\(offset)"]) { $1 })
            }
            #expect(try await patch("01234", offset: 0, type: "application/json").status == 415)
            #expect(try await patch("01234", offset: 3).status == 409)
            #expect(try await patch("01234", offset: 0, as: bob).status == 404)
            let first = try await patch("01234", offset: 0)
            #expect(first.status == 204)
            #expect(first.headers["upload-offset"] == "5")
            #expect(try await patch("5678901234", offset: 5).status == 413, "more than is left")
            let head = try await chat.client.send("HEAD", location, token: ada.access, headers: tus)
            #expect(head.headers["upload-offset"] == "5")
            #expect(head.headers["upload-length"] == "10")
            #expect(head.headers["cache-control"] == "no-store")
            #expect(try await chat.client.send("DELETE", location, token: ada.access, headers: tus).status == 204)
            #expect(try await chat.client.send("HEAD", location, token: ada.access, headers: tus).status == 404)
        }
    }

    /// A PNG whose header claims `width` × `height` and whose pixels never come: a few hundred
    /// bytes that would take gigabytes to decode.
    static func claimingPNG(width: UInt32, height: UInt32) -> Data {
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        func be(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be(UInt32(data.count)) + body + be(crc32(body))
        }
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        bytes += chunk("IHDR", be(width) + be(height) + [8, 0, 0, 0, 0])
        bytes += chunk("IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00])
        bytes += chunk("IEND", [])
        return Data(bytes)
    }

    @Test("images: dimensions as shown (EXIF rotation applied), a JPEG thumbnail fitting 400×400 and a preview fitting 1920×1080, PNG when transparent; a 20,000×20,000 PNG of a few hundred bytes is stored without being decoded", arguments: ["local", "s3"])
    func images(store: String) async throws {
        let folder = try Fixtures.temporaryDirectory()
        let python = Self.root + "/.build-venv/bin/python"
        let script = Self.root + "/Tests/Clients/images.py"
        let made = try await runProgram(python, [script, "make", folder])
        try #require(made.status == 0, "\(made.output)")
        func measure(_ data: Data) async throws -> [String] {
            let path = folder + "/measured-\(UUID().uuidString)"
            try data.write(to: URL(fileURLWithPath: path))
            let (status, output) = try await runProgram(python, [script, "size", path])
            try #require(status == 0, "\(output)")
            return output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        try await Self.with(store: store) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            func upload(_ data: Data, _ name: String, _ type: String) async throws -> [String: Any] {
                try chat.json(
                    try await chat.client.send(
                        "POST", "/api/v1/files?workspace_id=\(workspace)&name=\(name)", body: data, token: ada.access, headers: ["Content-Type": type]),
                    201, "upload \(name)")
            }
            func rendition(_ id: String, _ which: String) async throws -> TestClient.Reply {
                try await chat.client.get("/api/v1/files/\(id)/\(which)", token: ada.access)
            }

            let rotated = try await upload(try Data(contentsOf: URL(fileURLWithPath: folder + "/rotated.jpg")), "rotated.jpg", "image/jpeg")
            #expect(rotated["width"] as? Int == 32)
            #expect(rotated["height"] as? Int == 64)
            #expect(rotated["has_thumbnail"] as? Bool == true)
            let rotatedThumb = try await rendition(try #require(rotated["id"] as? String), "thumbnail")
            #expect(rotatedThumb.headers["content-type"] == "image/jpeg")
            #expect(try await measure(rotatedThumb.body) == ["JPEG", "32", "64", "1"], "turned upright, not enlarged")

            let photo = try await upload(try Data(contentsOf: URL(fileURLWithPath: folder + "/photo.jpg")), "photo.jpg", "image/jpeg")
            let photoId = try #require(photo["id"] as? String)
            #expect(photo["width"] as? Int == 3000)
            #expect(try await measure(try await rendition(photoId, "thumbnail").body) == ["JPEG", "400", "267", "1"])
            #expect(try await measure(try await rendition(photoId, "preview").body) == ["JPEG", "1620", "1080", "1"])

            let alpha = try await upload(try Data(contentsOf: URL(fileURLWithPath: folder + "/alpha.png")), "alpha.png", "image/png")
            let alphaThumb = try await rendition(try #require(alpha["id"] as? String), "thumbnail")
            #expect(alphaThumb.headers["content-type"] == "image/png")
            #expect(try await measure(alphaThumb.body) == ["PNG", "300", "300", "1"])

            let bomb = try await upload(Self.claimingPNG(width: 20_000, height: 20_000), "bomb.png", "image/png")
            #expect(bomb["width"] as? Int == 20_000)
            #expect(bomb["height"] as? Int == 20_000)
            #expect(bomb["has_thumbnail"] as? Bool == false)
            #expect(try await rendition(try #require(bomb["id"] as? String), "thumbnail").status == 404)

            let text = try await upload(Data("not an image".utf8), "notes.png", "image/png")
            #expect(text["width"] is NSNull)
            #expect(text["has_thumbnail"] as? Bool == false)
        }
    }

    @Test("an upload abandoned past upload_expiry_s is swept by the durable sweep job: its parts are deleted and it is gone")
    func abandonedUploadsAreSwept() async throws {
        try await IdentityHost.with(IdentityHost.messaging + ["files"], configure: { configuration in
            if let index = configuration.plugins.firstIndex(where: { $0.name == "files" }) {
                configuration.plugins[index].settings = ["upload_expiry_s": .int(2)]
            }
            configuration.metricsToken = SecretText(PluginTestHost.metricsToken)
        }) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let tus = ["Tus-Resumable": "1.0.0"]
            let metadata = "filename \(Data("left.txt".utf8).base64EncodedString()),workspace_id \(Data(workspace.utf8).base64EncodedString())"
            let created = try await chat.client.send(
                "POST", "/api/v1/files/uploads", token: ada.access, headers: tus.merging(["Upload-Length": "10", "Upload-Metadata": metadata]) { $1 })
            let location = try #require(created.headers["location"])
            let patched = try await chat.client.send(
                "PATCH", location, body: Data("01234".utf8), token: ada.access,
                headers: tus.merging(["Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"]) { $1 })
            #expect(patched.status == 204)
            let store = chat.host.configuration.stateDirectory + "/files"
            func storedFiles() -> [String] {
                (FileManager.default.enumerator(atPath: store)?.allObjects as? [String] ?? []).filter { path in
                    var directory: ObjCBool = false
                    return FileManager.default.fileExists(atPath: store + "/" + path, isDirectory: &directory) && !directory.boolValue
                        && !path.contains(".partial")
                }
            }
            #expect(storedFiles().count == 1, "the first part is kept while the upload may resume")
            try await chat.eventually("the sweep", timeout: .seconds(10)) { storedFiles().isEmpty }
            #expect(try await chat.client.send("HEAD", location, token: ada.access, headers: tus).status == 404)
            let metrics = try await chat.test.metrics().text
            #expect(metrics.contains(#"quik_job_runs_total{plugin="files",kind="sweep_expired_uploads",outcome="done"}"#))
        }
    }
}
