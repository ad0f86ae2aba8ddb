import Crypto
import Foundation
import QuikSDK

/// Reads the pages a message links to, through the host's guarded outbound HTTP,
/// and updates the message once there is something to show. Pages are cached an hour.
struct LinkPreviewer: Sendable {
    static let cacheLifetime: TimeInterval = 3600

    let context: any PluginContext
    let database: any PluginDatabase
    let outbound: any OutboundHTTP

    func preview(_ url: String) async -> LinkPreview? {
        let key = SHA256.hash(data: Data(url.utf8)).map { String(format: "%02x", $0) }.joined()
        if let row = try? await database.query("SELECT preview_json, fetched_at FROM link_previews WHERE url_hash = ?", [.text(key)]).first,
            let fetched = row["fetched_at"].date, Date().timeIntervalSince(fetched) < Self.cacheLifetime
        {
            return row["preview_json"].string.flatMap { try? JSONDecoder.quik.decode(LinkPreview.self, from: Data($0.utf8)) }
        }
        var request = OutboundRequest(url: url)
        request.headers = ["accept": "text/html,application/xhtml+xml", "user-agent": "QuikAppBot/1.0 (link preview)"]
        request.timeoutSeconds = 5
        request.maxBytes = 1 << 20
        request.maxRedirects = 3
        var preview: LinkPreview?
        do {
            let response = try await outbound.fetch(request)
            if response.status == 200, (response.headers["content-type"] ?? "text/html").lowercased().contains("html") {
                preview = LinkPreview.parse(html: String(decoding: response.body, as: UTF8.self), url: url)
            }
        } catch {
            context.logger.info("no link preview", metadata: ["url_hash": "\(key.prefix(12))", "error": "\(error)"])
        }
        let json = preview.flatMap { try? JSONEncoder.quik.encode($0) }.map { SQLValue.text(String(decoding: $0, as: UTF8.self)) } ?? .null
        _ = try? await database.execute(
            """
            INSERT INTO link_previews (url_hash, preview_json, fetched_at) VALUES (?, ?, ?)
            ON DUPLICATE KEY UPDATE preview_json = VALUES(preview_json), fetched_at = VALUES(fetched_at)
            """, [.text(key), json, .date(Date())])
        return preview
    }
}
