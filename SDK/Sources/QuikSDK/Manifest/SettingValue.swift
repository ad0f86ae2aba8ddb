/// A value from `plugins.yml`: the shapes YAML and JSON share.
public enum SettingValue: Sendable, Codable, Equatable, CustomStringConvertible {
    /// No value.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number.
    case int(Int)
    /// A number with a fraction.
    case double(Double)
    /// Text.
    case string(String)
    /// A list.
    case list([SettingValue])
    /// A map.
    case map([String: SettingValue])

    /// The text, when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number, when this is a whole number.
    public var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number, when this is any number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// The flag, when this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// Whether the value has the shape `kind` asks for.
    public func matches(_ kind: SettingSpec.Kind) -> Bool {
        switch (kind, self) {
        case (.string, .string), (.integer, .int), (.number, .int), (.number, .double),
            (.boolean, .bool), (.list, .list), (.map, .map):
            true
        default:
            false
        }
    }

    /// A short rendering for messages.
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): value
        case .list(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .map(let values):
            "{" + values.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// Decodes from any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([SettingValue].self) {
            self = .list(value)
        } else {
            self = .map(try container.decode([String: SettingValue].self))
        }
    }

    /// Encodes as the matching JSON value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        case .map(let value): try container.encode(value)
        }
    }
}

/// A plugin's settings: its `plugins.yml` entry with defaults from its schema filled in.
public struct PluginSettings: Sendable, Equatable {
    /// Every setting, by key.
    public var values: [String: SettingValue]

    /// Wraps resolved values.
    public init(_ values: [String: SettingValue] = [:]) {
        self.values = values
    }

    /// The value of `key`, or `nil`.
    public subscript(key: String) -> SettingValue? {
        values[key]
    }
}
