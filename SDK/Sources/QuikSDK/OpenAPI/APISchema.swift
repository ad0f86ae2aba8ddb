/// A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) for a request body,
/// a response or a parameter. Build one from the pieces below, infer one from a
/// `Decodable` type with ``decoding(_:)``, or give the JSON text. Since SDK 1.4.
public struct APISchema: Sendable, Equatable {
    var node: JSONValue

    init(node: JSONValue) {
        self.node = node
    }

    /// A schema from its JSON text (malformed text gives the empty schema `{}`, which allows anything).
    public init(json: String) {
        let parsed = JSONValue(parsing: json)
        node = if case .object = parsed { parsed } else { .object([:]) }
    }

    /// The schema as JSON text.
    public var json: String { node.text }

    private func with(_ key: String, _ value: JSONValue?) -> APISchema {
        guard let value, case .object(var fields) = node else { return self }
        fields[key] = value
        return APISchema(node: .object(fields))
    }

    /// Any value.
    public static var anyValue: APISchema { APISchema(node: .object([:])) }
    /// A string.
    public static var string: APISchema { string() }
    /// An integer.
    public static var integer: APISchema { integer() }
    /// A number.
    public static var number: APISchema { APISchema(node: .object(["type": .string("number")])) }
    /// `true` or `false`.
    public static var boolean: APISchema { APISchema(node: .object(["type": .string("boolean")])) }
    /// An RFC 3339 time, as the contract writes them.
    public static var dateTime: APISchema { string(format: "date-time") }

    /// A string with optional bounds (in Unicode code points), a regular expression, a format or a set of values.
    public static func string(
        minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, format: String? = nil, values: [String]? = nil
    ) -> APISchema {
        APISchema(node: .object(["type": .string("string")]))
            .with("minLength", minLength.map(JSONValue.int)).with("maxLength", maxLength.map(JSONValue.int))
            .with("pattern", pattern.map(JSONValue.string)).with("format", format.map(JSONValue.string))
            .with("enum", values.map { .array($0.map(JSONValue.string)) })
    }

    /// An integer with optional bounds.
    public static func integer(minimum: Int? = nil, maximum: Int? = nil) -> APISchema {
        APISchema(node: .object(["type": .string("integer")]))
            .with("minimum", minimum.map(JSONValue.int)).with("maximum", maximum.map(JSONValue.int))
    }

    /// An array of `items`, with optional bounds on its length.
    public static func array(_ items: APISchema, minItems: Int? = nil, maxItems: Int? = nil) -> APISchema {
        APISchema(node: .object(["type": .string("array"), "items": items.node]))
            .with("minItems", minItems.map(JSONValue.int)).with("maxItems", maxItems.map(JSONValue.int))
    }

    /// An object with these properties, of which `required` must be present. The others may
    /// also be `null`, as Swift's decoding of an `Optional` allows. Other properties are allowed.
    public static func object(_ properties: [String: APISchema], required: [String] = []) -> APISchema {
        let nodes = Dictionary(uniqueKeysWithValues: properties.map { name, schema in
            (name, required.contains(name) || schema.allowsNull ? schema.node : schema.orNull.node)
        })
        return APISchema(node: .object(["type": .string("object"), "properties": .object(nodes)]))
            .with("required", required.isEmpty ? nil : .array(required.sorted().map(JSONValue.string)))
    }

    /// Whether the schema is already "this or null".
    private var allowsNull: Bool {
        guard case .object(let fields) = node, case .array(let options)? = fields["anyOf"] else { return false }
        return options.contains(.object(["type": .string("null")]))
    }

    /// A page of the contract's lists: `{"items": [...], "next_cursor": "…" | null}`.
    public static func list(of items: APISchema) -> APISchema {
        object(["items": array(items), "next_cursor": string.orNull], required: ["items", "next_cursor"])
    }

    /// A value any of these schemas allows.
    public static func anyOf(_ schemas: [APISchema]) -> APISchema {
        APISchema(node: .object(["anyOf": .array(schemas.map(\.node))]))
    }

    /// This schema, or `null`.
    public var orNull: APISchema {
        APISchema(node: .object(["anyOf": .array([node, .object(["type": .string("null")])])]))
    }

    /// This schema with a description.
    public func described(_ text: String) -> APISchema { with("description", .string(text)) }
}
