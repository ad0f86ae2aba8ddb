import Foundation

/// Names and media types as the contract takes them.
enum FileName {
    /// Cut to 255 characters; `/`, `\` and control characters (NUL included) become `_`.
    static func clean(_ raw: String?) -> String? {
        guard let raw else { return nil }
        let scalars = raw.unicodeScalars.prefix(255).map { scalar -> Unicode.Scalar in
            scalar == "/" || scalar == "\\" || scalar.properties.generalCategory == .control ? "_" : scalar
        }
        let name = String(String.UnicodeScalarView(scalars)).trimmingCharacters(in: .whitespaces)
        return name.isEmpty ? nil : name
    }

    /// The declared type when it is one (`type/subtype`), else guessed from the name's extension.
    static func mime(declared: String?, name: String) -> String {
        let declared = declared?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if declared != "application/octet-stream", declared.range(of: #"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$"#, options: .regularExpression) != nil {
            return declared
        }
        let ext = (name as NSString).pathExtension.lowercased()
        return byExtension[ext] ?? "application/octet-stream"
    }

    static let byExtension: [String: String] = [
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "json": "application/json",
        "html": "text/html", "htm": "text/html", "svg": "image/svg+xml", "zip": "application/zip", "mp3": "audio/mpeg",
        "mp4": "video/mp4", "mov": "video/quicktime", "wav": "audio/wav", "ogg": "audio/ogg", "webm": "video/webm",
    ]

    /// The raster type the first bytes show (PNG, JPEG, GIF, WebP), whatever the name says.
    static func sniffedImage(_ head: Data) -> String? {
        let bytes = [UInt8](head.prefix(12))
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8)) { return "image/gif" }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return "image/webp" }
        return nil
    }

    /// How the bytes may be shown inline: a raster image its bytes prove, or audio, video or PDF
    /// (a PDF only with its `%PDF` header). `nil`: download only, so no browser runs it.
    static func inlineType(declared mime: String, head: Data) -> String? {
        if let image = sniffedImage(head) { return image }
        if mime.hasPrefix("audio/") || mime.hasPrefix("video/") { return mime }
        if mime == "application/pdf", head.starts(with: Array("%PDF-".utf8)) { return mime }
        return nil
    }

    /// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (or `inline`).
    static func disposition(_ name: String, inline: Bool) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0.value >= 0x20 ? Character($0) : "_" })
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(0x80)))
        allowed.insert(charactersIn: "!#$&+-.^_`|~")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? ascii
        return "\(inline ? "inline" : "attachment"); filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
