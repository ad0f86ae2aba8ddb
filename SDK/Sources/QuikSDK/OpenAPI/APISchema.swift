/// A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) for a request body,
/// a response or a parameter. Build one from the pieces below, infer one from a
/// `Decodable` type with ``decoding(_:)``, or give the JSON text. Since SDK 1.4.
public struct APISchema: Sendable, Equatable {
    var node: SettingValue

    init(node: SettingValue) {
        self.node = node
    }

    /// A schema from its JSON text (malformed text gives the empty schema `{}`, which allows anything).
    public init(json: String) {
        let parsed = SettingValue(parsing: json)
        node = if case .map = parsed { parsed } else { .map([:]) }
    }

    /// The schema as JSON text.
    public var json: String { node.jsonText }

    private func with(_ key: String, _ value: SettingValue?) -> APISchema {
        guard let value, case .map(var fields) = node else { return self }
        fields[key] = value
        return APISchema(node: .map(fields))
    }

    /// Any value.
    public static var anyValue: APISchema { APISchema(node: .map([:])) }
    /// A string.
    public static var string: APISchema { string() }
    /// An integer.
    public static var integer: APISchema { integer() }
    /// A number.
    public static var number: APISchema { APISchema(node: .map(["type": .string("number")])) }
    /// `true` or `false`.
    public static var boolean: APISchema { APISchema(node: .map(["type": .string("boolean")])) }
    /// An RFC 3339 time, as the contract writes them.
    public static var dateTime: APISchema { string(format: "date-time") }

    /// A string with optional bounds (in Unicode code points), a regular expression, a format or a set of values.
    public static func string(
        minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, format: String? = nil, values: [String]? = nil
    ) -> APISchema {
        APISchema(node: .map(["type": .string("string")]))
            .with("minLength", minLength.map(SettingValue.int)).with("maxLength", maxLength.map(SettingValue.int))
            .with("pattern", pattern.map(SettingValue.string)).with("format", format.map(SettingValue.string))
            .with("enum", values.map { .list($0.map(SettingValue.string)) })
    }

    /// An integer with optional bounds.
    public static func integer(minimum: Int? = nil, maximum: Int? = nil) -> APISchema {
        APISchema(node: .map(["type": .string("integer")]))
            .with("minimum", minimum.map(SettingValue.int)).with("maximum", maximum.map(SettingValue.int))
    }

    /// An array of `items`, with optional bounds on its length.
    public static func array(_ items: APISchema, minItems: Int? = nil, maxItems: Int? = nil) -> APISchema {
        APISchema(node: .map(["type": .string("array"), "items": items.node]))
            .with("minItems", minItems.map(SettingValue.int)).with("maxItems", maxItems.map(SettingValue.int))
    }

    /// An object with these properties, of which `required` must be present. The others may
    /// also be `null`, as Swift's decoding of an `Optional` allows. Other properties are allowed.
    public static func object(_ properties: [String: APISchema], required: [String] = []) -> APISchema {
        let nodes = Dictionary(uniqueKeysWithValues: properties.map { name, schema in
            (name, required.contains(name) || schema.allowsNull ? schema.node : schema.orNull.node)
        })
        return APISchema(node: .map(["type": .string("object"), "properties": .map(nodes)]))
            .with("required", required.isEmpty ? nil : .list(required.sorted().map(SettingValue.string)))
    }

    /// Whether the schema is already "this or null".
    private var allowsNull: Bool {
        guard case .map(let fields) = node, case .list(let options)? = fields["anyOf"] else { return false }
        return options.contains(.map(["type": .string("null")]))
    }

    /// A page of the contract's lists: `{"items": [...], "next_cursor": "…" | null}`.
    public static func list(of items: APISchema) -> APISchema {
        object(["items": array(items), "next_cursor": string.orNull], required: ["items", "next_cursor"])
    }

    /// A value any of these schemas allows.
    public static func anyOf(_ schemas: [APISchema]) -> APISchema {
        APISchema(node: .map(["anyOf": .list(schemas.map(\.node))]))
    }

    /// This schema, or `null`.
    public var orNull: APISchema {
        APISchema(node: .map(["anyOf": .list([node, .map(["type": .string("null")])])]))
    }

    /// This schema with a description.
    public func described(_ text: String) -> APISchema { with("description", .string(text)) }
}
