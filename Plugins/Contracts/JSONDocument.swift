import Foundation

/// A JSON document (a message, a poll) carried between plugins as a JSON string of its
/// UTF-8 text (`"message": "{\"id\":…}"`), not base64, so a logged payload stays readable.
@propertyWrapper
public struct JSONDocument: Codable, Sendable {
    public var wrappedValue: Data

    public init(wrappedValue: Data) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        wrappedValue = Data(try decoder.singleValueContainer().decode(String.self).utf8)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(decoding: wrappedValue, as: UTF8.self))
    }
}

/// ``JSONDocument`` that may be absent: left out when `nil`, `nil` when missing.
@propertyWrapper
public struct OptionalJSONDocument: Codable, Sendable {
    public var wrappedValue: Data?

    public init(wrappedValue: Data?) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        wrappedValue = try JSONDocument(from: decoder).wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        try wrappedValue.map { try JSONDocument(wrappedValue: $0).encode(to: encoder) }
    }
}

extension KeyedDecodingContainer {
    /// A missing key is a `nil` document.
    public func decode(_ type: OptionalJSONDocument.Type, forKey key: Key) throws -> OptionalJSONDocument {
        try decodeIfPresent(type, forKey: key) ?? OptionalJSONDocument(wrappedValue: nil)
    }
}

extension KeyedEncodingContainer {
    /// A `nil` document is left out.
    public mutating func encode(_ value: OptionalJSONDocument, forKey key: Key) throws {
        if value.wrappedValue != nil { try encodeIfPresent(value, forKey: key) }
    }
}
