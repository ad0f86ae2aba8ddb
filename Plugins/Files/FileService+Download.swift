import Foundation
import QuikPluginKit
import QuikSDK

extension FileService {
    /// A file's thumbnail (`t`) or preview (`p`), JPEG or PNG; 404 when the file has none.
    func rendition(_ file: FileRecord, _ prefix: String) async throws -> PluginResponse {
        guard file.hasThumbnail,
            let type = try await database.query("SELECT thumbnail_type FROM files WHERE id = ?", [.text(file.id)]).first?["thumbnail_type"].string
        else { throw PluginError(.notFound, "this file has no thumbnail") }
        let key = "\(prefix)/\(file.id)"
        guard let info = try await blobs.stat(key) else { throw PluginError(.notFound, "this file has no thumbnail") }
        let base = (file.name as NSString).deletingPathExtension
        let name = base + (prefix == "t" ? "-thumbnail" : "-preview") + (type == "image/png" ? ".png" : ".jpg")
        return .streaming(
            try await blobs.get(key, range: nil),
            headers: [
                "content-type": type, "content-length": "\(info.size)", "x-content-type-options": "nosniff",
                "content-disposition": FileName.disposition(name, inline: true), "cache-control": "private, max-age=3600",
            ])
    }

    /// The bytes of a file as the contract serves them: ETag, ranges, a disposition
    /// that never lets a browser run what it cannot prove is an image, audio, video or PDF.
    func content(_ file: FileRecord, inlineType: String?, request: PluginRequest) async throws -> PluginResponse {
        let etag = "\"\(file.sha256)\""
        let inline = inlineType != nil && request.query("download") != "1"
        var headers = [
            "etag": etag, "accept-ranges": "bytes", "x-content-type-options": "nosniff",
            "content-type": inlineType ?? file.mime,
            "content-disposition": FileName.disposition(file.name, inline: inline),
            // Even opened directly, the bytes run no script and load nothing.
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": "private, max-age=0",
        ]
        if inlineType == nil, file.mime.hasPrefix("text/html") || file.mime.contains("xml") || file.mime.contains("javascript") {
            headers["content-type"] = "application/octet-stream"
        }
        if let match = request.headers["if-none-match"], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) {
            return PluginResponse(status: 304, headers: ["etag": etag])
        }
        switch ByteRange.parse(request.headers["range"], size: file.size) {
        case .whole:
            headers["content-length"] = "\(file.size)"
            return .streaming(try await blobs.get(Self.contentKey(file.id), range: nil), headers: headers)
        case .part(let range):
            headers["content-length"] = "\(range.count)"
            headers["content-range"] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(file.size)"
            return .streaming(try await blobs.get(Self.contentKey(file.id), range: range), status: 206, headers: headers)
        case .unsatisfiable:
            let body = Data(
                #"{"error":{"code":"range_not_satisfiable","message":"the range starts past the end of the file's \#(file.size) bytes","details":{}}}"#.utf8)
            return PluginResponse(
                status: 416, headers: ["content-range": "bytes */\(file.size)", "content-type": "application/json; charset=utf-8"], body: body)
        }
    }
}
