/// One step of a plugin's schema, applied once, in version order, before the plugin starts.
///
/// Never edit a migration that has shipped: the host records each one's
/// checksum and refuses to start a plugin whose applied migration changed.
/// Add a new one instead.
public struct Migration: Sendable, Equatable {
    /// Position in the sequence: 1, 2, 3, …
    public var version: Int
    /// A short name, such as `create_messages`.
    public var name: String
    /// The statements, run in order against the plugin's own schema.
    public var statements: [String]

    /// Creates a migration.
    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}
