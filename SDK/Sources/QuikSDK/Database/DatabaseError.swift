/// A database failure, as plugins see it. Its text never includes bound values.
public struct DatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, for deciding what to do.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// The kind's name.
        public var name: String

        /// Creates a kind; prefer the named ones.
        public init(_ name: String) { self.name = name }

        /// The server cannot be reached, or no connection came free within the lease timeout.
        /// An unhandled one answers the request 503 `unavailable`.
        public static var unavailable: Kind { Kind("unavailable") }
        /// A unique key already holds the value (server error 1062).
        public static var duplicateKey: Kind { Kind("duplicate_key") }
        /// A deadlock or lock wait timeout; the transaction was rolled back.
        public static var deadlock: Kind { Kind("deadlock") }
        /// The statement ran past the statement timeout.
        public static var timeout: Kind { Kind("timeout") }
        /// The account may not touch that object (another plugin's schema, say).
        public static var denied: Kind { Kind("denied") }
        /// A foreign key, `NOT NULL` or check constraint refused the change.
        public static var constraint: Kind { Kind("constraint") }
        /// Any other error: bad SQL, a wrong number of bindings, ...
        public static var other: Kind { Kind("other") }

        /// The name.
        public var description: String { name }
    }

    /// What kind of failure.
    public var kind: Kind
    /// The server's error number, or 0.
    public var serverCode: Int
    /// The server's or the driver's message.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, serverCode: Int = 0) {
        self.kind = kind
        self.message = message
        self.serverCode = serverCode
    }

    /// `kind (code): message`.
    public var description: String { "\(kind) (\(serverCode)): \(message)" }
}
