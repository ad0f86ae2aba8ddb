import Foundation
import QuikSDK

/// `?limit=&cursor=` as the contract defines them: limit 1–200, default 50.
public struct Page: Sendable {
    /// How many items to return.
    public var limit: Int
    /// The opaque position to continue after, if any.
    public var cursor: String?

    /// Reads `limit` and `cursor`; a bad limit is `bad_request`.
    public init(_ request: PluginRequest, defaultLimit: Int = 50) throws {
        if let text = request.query("limit") {
            guard let value = Int(text), (1...200).contains(value) else {
                throw PluginError(.badRequest, "limit must be a whole number from 1 to 200", details: ["limit": text])
            }
            limit = value
        } else {
            limit = defaultLimit
        }
        let cursor = request.query("cursor")
        self.cursor = cursor?.isEmpty == false ? cursor : nil
    }
}

/// `{"items": [...], "next_cursor": "..." | null}`.
public struct ListResponse<Item: Encodable & Sendable>: Encodable, Sendable {
    /// The page's items.
    public var items: [Item]
    /// Where the next page starts, or `nil` on the last page.
    public var nextCursor: String?

    /// Creates a page of a list.
    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// Takes `limit` of `fetched` (fetch `limit + 1` rows) and makes the cursor from the last one kept.
    public init(fetched: [Item], limit: Int, cursor: (Item) -> String) {
        items = Array(fetched.prefix(limit))
        nextCursor = fetched.count > limit ? items.last.map(cursor) : nil
    }

    private enum CodingKeys: String, CodingKey { case items, nextCursor }

    /// Encodes `next_cursor` as `null` on the last page rather than leaving it out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
