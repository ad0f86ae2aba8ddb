/// A query or header parameter of a route (path parameters come from the route's
/// path), for the OpenAPI document. Since SDK 1.4.
public struct APIParameter: Sendable, Equatable {
    /// The parameter's name, as the client writes it.
    public var name: String
    /// `query` or `header`.
    public var location: String
    /// Whether a request without it is refused.
    public var required: Bool
    /// Its values.
    public var schema: APISchema
    /// One line for the document.
    public var summary: String

    /// Creates a parameter.
    public init(name: String, location: String, required: Bool, schema: APISchema, summary: String) {
        self.name = name
        self.location = location
        self.required = required
        self.schema = schema
        self.summary = summary
    }

    /// A query parameter.
    public static func query(_ name: String, _ schema: APISchema = .string, required: Bool = false, _ summary: String = "") -> APIParameter {
        APIParameter(name: name, location: "query", required: required, schema: schema, summary: summary)
    }

    /// A request header.
    public static func header(_ name: String, _ schema: APISchema = .string, required: Bool = false, _ summary: String = "") -> APIParameter {
        APIParameter(name: name, location: "header", required: required, schema: schema, summary: summary)
    }
}
