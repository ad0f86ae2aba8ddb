import Crypto
import Foundation

extension WebPush {
    /// The longest a VAPID token may live (RFC 8292 §2: `exp` at most 24 hours ahead).
    public static let maximumTokenLifetime: TimeInterval = 24 * 3600

    /// The `Authorization` header value for a push to `endpoint`: `vapid t=<JWT>, k=<publicKey>`
    /// (RFC 8292 §3). The JWT is ES256 (raw r‖s signature) with `aud` = the endpoint's origin
    /// (scheme://host[:port]), `exp` = `now` + `lifetime` (more than 0, at most 24 h) and
    /// `sub` = `subject` (a `mailto:` or `https:` URI). Throws `WebPushError` on a bad input.
    public static func authorization(
        endpoint: String, subject: String, key: VAPIDKey, lifetime: TimeInterval = 12 * 3600, now: Date = Date()
    ) throws -> String {
        let audience = try origin(of: endpoint)
        let lowered = subject.lowercased()
        guard (lowered.hasPrefix("mailto:") && subject.count > 7) || (lowered.hasPrefix("https:") && subject.count > 6) else {
            throw WebPushError(field: "subject", message: "must be a mailto: or https: URI")
        }
        guard lifetime > 0, lifetime <= maximumTokenLifetime else {
            throw WebPushError(field: "lifetime", message: "must be more than 0 and at most 24 hours, got \(lifetime) s")
        }
        let expiry = Int((now.timeIntervalSince1970 + lifetime).rounded(.down))
        let header = try JSONSerialization.data(withJSONObject: ["typ": "JWT", "alg": "ES256"], options: [.sortedKeys])
        let claims = try JSONSerialization.data(
            withJSONObject: ["aud": audience, "exp": expiry, "sub": subject] as [String: Any], options: [.sortedKeys, .withoutEscapingSlashes])
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(claims)
        let signature = try key.signingKey.signature(for: Data(signingInput.utf8))
        return "vapid t=\(signingInput).\(Base64URL.encode(signature.rawRepresentation)), k=\(key.publicKey)"
    }

    /// The origin of an `http`/`https` URL (RFC 6454 §6.2): lowercase scheme and host,
    /// the port only where it is not the scheme's default.
    static func origin(of endpoint: String) throws -> String {
        guard let url = URLComponents(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = url.host, !host.isEmpty
        else {
            throw WebPushError(field: "endpoint", message: "must be an absolute http or https URL")
        }
        var origin = scheme + "://"
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        origin += bareHost.contains(":") ? "[\(bareHost.lowercased())]" : bareHost.lowercased()
        if let port = url.port, port != (scheme == "https" ? 443 : 80) {
            origin += ":\(port)"
        }
        return origin
    }
}
