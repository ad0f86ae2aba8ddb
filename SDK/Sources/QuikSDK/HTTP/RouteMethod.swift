/// An HTTP method a plugin route answers.
public struct RouteMethod: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The method name in capitals, as on the wire.
    public var rawValue: String

    /// Wraps a method name; it is upper-cased.
    public init(rawValue: String) {
        self.rawValue = rawValue.uppercased()
    }

    /// `GET`.
    public static var get: RouteMethod { RouteMethod(rawValue: "GET") }
    /// `POST`.
    public static var post: RouteMethod { RouteMethod(rawValue: "POST") }
    /// `PUT`.
    public static var put: RouteMethod { RouteMethod(rawValue: "PUT") }
    /// `PATCH`.
    public static var patch: RouteMethod { RouteMethod(rawValue: "PATCH") }
    /// `DELETE`.
    public static var delete: RouteMethod { RouteMethod(rawValue: "DELETE") }
    /// `HEAD`. Since SDK 1.4.
    public static var head: RouteMethod { RouteMethod(rawValue: "HEAD") }
    /// `OPTIONS`. Since SDK 1.4.
    public static var options: RouteMethod { RouteMethod(rawValue: "OPTIONS") }

    /// The method name.
    public var description: String { rawValue }
}
