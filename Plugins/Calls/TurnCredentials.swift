import Crypto
import Foundation
import QuikSDK

/// Time-limited TURN credentials in coturn's REST scheme (`use-auth-secret`): the username is
/// `<expiry unix s>:<user_id>`, the password base64(HMAC-SHA1(secret, username)).
struct TurnCredentials: Encodable, Sendable {
    var urls: [String]
    var username: String?
    var credential: String?
    var ttlS: Int

    init(secret: String?, turnURLs: [String], stunURLs: [String], ttl: Int, userId: String, now: Date = Date()) {
        ttlS = ttl
        guard let secret, !secret.isEmpty else {
            urls = stunURLs
            return
        }
        let name = "\(Int(now.timeIntervalSince1970) + ttl):\(userId)"
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        urls = stunURLs + turnURLs
        username = name
        credential = Data(mac).base64EncodedString()
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(urls, forKey: .urls)
        try container.encode(username, forKey: .username)
        try container.encode(credential, forKey: .credential)
        try container.encode(ttlS, forKey: .ttlS)
    }

    private enum CodingKeys: String, CodingKey { case urls, username, credential, ttlS }

    static let schema = APISchema.object(
        ["urls": .array(.string), "username": APISchema.string.orNull, "credential": APISchema.string.orNull, "ttl_s": .integer(minimum: 1)],
        required: ["urls", "username", "credential", "ttl_s"])
}
