import Foundation

extension APISchema {
    /// The schema of what `type` decodes with the contract's decoder: snake_case keys,
    /// properties decoded with `decodeIfPresent` optional (and nullable), dates as
    /// RFC 3339 strings, `CaseIterable` string enums as their values. Inferred by
    /// running the type's `init(from:)` against a recording decoder, so a type
    /// whose initialiser rejects placeholder values is described up to that point.
    public static func decoding(_ type: any Decodable.Type) -> APISchema {
        APISchema(node: SchemaRecorder.schema(of: type, depth: 0))
    }
}

/// Runs `init(from:)` against placeholder values and writes down what was asked for.
private final class SchemaRecorder: Decoder {
    /// What the type's initialiser asked for.
    enum Shape {
        case unknown
        case single(SettingValue)
        case keyed([String: (SettingValue, required: Bool)])
        case unkeyed(SettingValue)
    }

    static let maxDepth = 8

    let depth: Int
    var shape: Shape = .unknown
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    init(depth: Int) {
        self.depth = depth
    }

    static func schema(of type: any Decodable.Type, depth: Int) -> SettingValue {
        if let known = primitive(type) { return known }
        if let values = enumValues(type) { return .map(["type": .string("string"), "enum": .list(values.map(SettingValue.string))]) }
        guard depth < maxDepth else { return .map([:]) }
        let recorder = SchemaRecorder(depth: depth)
        _ = try? type.init(from: recorder)
        return recorder.node
    }

    /// A value of `type` to hand back to the initialiser, and its schema.
    static func placeholder<T: Decodable>(_ type: T.Type, depth: Int) throws -> (T, SettingValue) {
        if let value = primitiveValue(type) { return (value, primitive(type) ?? .map([:])) }
        if let iterable = type as? any CaseIterable.Type, let first = firstCase(iterable) as? T {
            return (first, schema(of: type, depth: depth))
        }
        guard depth < maxDepth else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "too deep")) }
        let recorder = SchemaRecorder(depth: depth)
        let value = try T(from: recorder)
        return (value, recorder.node)
    }

    var node: SettingValue {
        switch shape {
        case .unknown: .map([:])
        case .single(let schema): schema
        case .unkeyed(let items): .map(["type": .string("array"), "items": items])
        case .keyed(let properties):
            .map([
                "type": .string("object"),
                "properties": .map(properties.mapValues(\.0)),
                "required": .list(properties.filter(\.value.required).keys.sorted().map(SettingValue.string)),
            ])
        }
    }

    private static func primitive(_ type: Any.Type) -> SettingValue? {
        switch type {
        case is String.Type, is Substring.Type, is Character.Type: .map(["type": .string("string")])
        case is Bool.Type: .map(["type": .string("boolean")])
        case is Int.Type, is Int8.Type, is Int16.Type, is Int32.Type, is Int64.Type,
            is UInt.Type, is UInt8.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type:
            .map(["type": .string("integer")])
        case is Double.Type, is Float.Type, is Decimal.Type: .map(["type": .string("number")])
        case is Date.Type: .map(["type": .string("string"), "format": .string("date-time")])
        case is Data.Type: .map(["type": .string("string"), "contentEncoding": .string("base64")])
        case is URL.Type: .map(["type": .string("string"), "format": .string("uri")])
        case is UUID.Type: .map(["type": .string("string"), "format": .string("uuid")])
        default: nil
        }
    }

    private static func primitiveValue<T>(_ type: T.Type) -> T? {
        let value: Any? =
            switch type {
            case is String.Type: "x"
            case is Bool.Type: false
            case is Int.Type: 0
            case is Int64.Type: Int64(0)
            case is Int32.Type: Int32(0)
            case is UInt64.Type: UInt64(0)
            case is UInt.Type: UInt(0)
            case is Double.Type: 0.0
            case is Float.Type: Float(0)
            case is Date.Type: Date(timeIntervalSince1970: 0)
            case is Data.Type: Data()
            case is URL.Type: URL(string: "https://example.com")
            case is UUID.Type: UUID()
            case is Decimal.Type: Decimal(0)
            default: nil
            }
        return value as? T
    }

    private static func firstCase(_ type: any CaseIterable.Type) -> Any? {
        func first<C: CaseIterable>(_: C.Type) -> Any? { C.allCases.first }
        return first(type)
    }

    private static func enumValues(_ type: Any.Type) -> [String]? {
        func values<C: CaseIterable>(_: C.Type) -> [String]? {
            let raw = C.allCases.compactMap { ($0 as? any RawRepresentable)?.rawValue as? String }
            return raw.isEmpty ? nil : raw
        }
        guard let iterable = type as? any CaseIterable.Type else { return nil }
        return values(iterable)
    }

    /// The contract's key strategy: camelCase property names become snake_case.
    static func snakeCase(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                if !result.isEmpty { result += "_" }
                result += character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if case .keyed = shape {} else { shape = .keyed([:]) }
        return KeyedDecodingContainer(KeyedRecorder<Key>(recorder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        UnkeyedRecorder(recorder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleRecorder(recorder: self)
    }

    /// Records a property. `decodeIfPresent` asks `decodeNil` first, which records
    /// `null`; the value's schema then joins it, and the property is optional.
    func record(_ key: String, _ schema: SettingValue, required: Bool) {
        guard case .keyed(var properties) = shape else { return }
        let name = Self.snakeCase(key)
        if let (existing, _) = properties[name], existing == Self.null, schema != Self.null {
            properties[name] = (.map(["anyOf": .list([schema, Self.null])]), false)
        } else {
            properties[name] = (schema, required)
        }
        shape = .keyed(properties)
    }

    static let null = SettingValue.map(["type": .string("null")])
}

private struct KeyedRecorder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: SchemaRecorder
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }

    func decodeNil(forKey key: Key) throws -> Bool {
        recorder.record(key.stringValue, SchemaRecorder.null, required: false)
        return false
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        recorder.record(key.stringValue, SchemaRecorder.null, required: false)
        recorder.record(key.stringValue, SchemaRecorder.schema(of: type, depth: recorder.depth + 1), required: false)
        return nil
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decodeAny(type, forKey: key) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decodeAny(type, forKey: key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decodeAny(type, forKey: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decodeAny(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decodeAny(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeAny(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodeAny(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodeAny(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeAny(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeAny(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodeAny(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodeAny(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodeAny(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodeAny(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodeAny(type, forKey: key) }

    private func decodeAny<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (value, schema) = try SchemaRecorder.placeholder(type, depth: recorder.depth + 1)
        recorder.record(key.stringValue, schema, required: true)
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = SchemaRecorder(depth: recorder.depth + 1)
        defer { recorder.record(key.stringValue, nested.node, required: true) }
        return try nested.container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let nested = SchemaRecorder(depth: recorder.depth + 1)
        recorder.record(key.stringValue, .map(["type": .string("array")]), required: true)
        return UnkeyedRecorder(recorder: nested)
    }

    func superDecoder() throws -> any Decoder { recorder }
    func superDecoder(forKey key: Key) throws -> any Decoder { SchemaRecorder(depth: recorder.depth + 1) }
}

private struct UnkeyedRecorder: UnkeyedDecodingContainer {
    let recorder: SchemaRecorder
    var codingPath: [any CodingKey] { [] }
    var count: Int? { nil }
    /// One element is decoded, to learn the element's schema.
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex > 0 }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeAny(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try decodeAny(type) }
    mutating func decode(_ type: String.Type) throws -> String { try decodeAny(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decodeAny(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decodeAny(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decodeAny(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeAny(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeAny(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeAny(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeAny(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeAny(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeAny(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeAny(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeAny(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeAny(type) }

    private mutating func decodeAny<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        let (value, schema) = try SchemaRecorder.placeholder(type, depth: recorder.depth + 1)
        recorder.shape = .unkeyed(schema)
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        currentIndex += 1
        return try SchemaRecorder(depth: recorder.depth + 1).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        currentIndex += 1
        return UnkeyedRecorder(recorder: SchemaRecorder(depth: recorder.depth + 1))
    }

    mutating func superDecoder() throws -> any Decoder { recorder }
}

private struct SingleRecorder: SingleValueDecodingContainer {
    let recorder: SchemaRecorder
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeAny(type) }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeAny(type) }
    func decode(_ type: String.Type) throws -> String { try decodeAny(type) }
    func decode(_ type: Double.Type) throws -> Double { try decodeAny(type) }
    func decode(_ type: Float.Type) throws -> Float { try decodeAny(type) }
    func decode(_ type: Int.Type) throws -> Int { try decodeAny(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeAny(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeAny(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeAny(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeAny(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeAny(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeAny(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeAny(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeAny(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeAny(type) }

    private func decodeAny<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, schema) = try SchemaRecorder.placeholder(type, depth: recorder.depth)
        recorder.shape = .single(schema)
        return value
    }
}
