import Foundation
import QuikSDK

/// What a message shows of a page it links to.
struct LinkPreview: Codable, Sendable, Equatable {
    var url: String
    var title: String?
    var description: String?
    var imageUrl: String?
    var siteName: String?

    /// Every key, `null` where there is no value.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(url, forKey: .url)
        try container.encode(title, forKey: .title)
        try container.encode(description, forKey: .description)
        try container.encode(imageUrl, forKey: .imageUrl)
        try container.encode(siteName, forKey: .siteName)
    }

    static let schema = APISchema.object(
        [
            "url": .string, "title": APISchema.string.orNull, "description": APISchema.string.orNull, "image_url": APISchema.string.orNull,
            "site_name": APISchema.string.orNull,
        ], required: ["url", "title", "description", "image_url", "site_name"])

    /// The first three distinct `http`/`https` URLs of `text`, trailing punctuation left out.
    static func urls(in text: String) -> [String] {
        var found: [String] = []
        let range = NSRange(text.startIndex..., in: text)
        for match in Patterns.url.matches(in: text, range: range) {
            guard let swiftRange = Range(match.range, in: text) else { continue }
            var url = String(text[swiftRange])
            while let last = url.last, ".,;:!?)]}*_".contains(last) { url.removeLast() }
            if URL(string: url)?.host != nil, !found.contains(url) { found.append(url) }
            if found.count == 3 { break }
        }
        return found
    }

    /// Open Graph tags, else `<title>` and `<meta name="description">`; `nil` when the page says nothing.
    static func parse(html: String, url: String) -> LinkPreview? {
        var meta: [String: String] = [:]
        let (tag, attribute) = (Patterns.meta, Patterns.attribute)
        let whole = NSRange(html.startIndex..., in: html)
        for match in tag.matches(in: html, range: whole) {
            guard let range = Range(match.range, in: html) else { continue }
            let element = String(html[range])
            var attributes: [String: String] = [:]
            for pair in attribute.matches(in: element, range: NSRange(element.startIndex..., in: element)) {
                guard let name = Range(pair.range(at: 1), in: element) else { continue }
                let value = Range(pair.range(at: 3), in: element) ?? Range(pair.range(at: 4), in: element)
                attributes[element[name].lowercased()] = value.map { String(element[$0]) } ?? ""
            }
            if let key = attributes["property"] ?? attributes["name"], let content = attributes["content"] {
                meta[key.lowercased()] = meta[key.lowercased()] ?? content
            }
        }
        var title = meta["og:title"]
        if title == nil, let titleTag = Patterns.title.firstMatch(in: html, range: whole), let range = Range(titleTag.range(at: 1), in: html)
        {
            title = String(html[range])
        }
        let preview = LinkPreview(
            url: url, title: clean(title, 300), description: clean(meta["og:description"] ?? meta["description"], 1000),
            imageUrl: clean(meta["og:image"], 2000).flatMap { URL(string: $0, relativeTo: URL(string: url))?.absoluteURL.absoluteString },
            siteName: clean(meta["og:site_name"], 200))
        return preview.title == nil && preview.description == nil && preview.imageUrl == nil ? nil : preview
    }

    /// Compiled once: every post and edit looks for links.
    private enum Patterns {
        nonisolated(unsafe) static let url = try! NSRegularExpression(pattern: #"https?://[^\s<>"'`]+"#, options: [.caseInsensitive])
        nonisolated(unsafe) static let meta = try! NSRegularExpression(pattern: #"<meta\b[^>]*>"#, options: [.caseInsensitive])
        nonisolated(unsafe) static let attribute = try! NSRegularExpression(pattern: #"([a-zA-Z:_-]+)\s*=\s*("([^"]*)"|'([^']*)')"#)
        nonisolated(unsafe) static let title = try! NSRegularExpression(pattern: #"<title[^>]*>([\s\S]*?)</title>"#, options: [.caseInsensitive])
    }

    private static func clean(_ text: String?, _ limit: Int) -> String? {
        guard let text else { return nil }
        var decoded = text
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&#x27;", "'"), ("&apos;", "'"), ("&nbsp;", " "), ("&amp;", "&")] {
            decoded = decoded.replacingOccurrences(of: entity, with: character)
        }
        let collapsed = decoded.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let cut = String(collapsed.unicodeScalars.prefix(limit).map(Character.init))
        return cut.isEmpty ? nil : cut
    }
}
