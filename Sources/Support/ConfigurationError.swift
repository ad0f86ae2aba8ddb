/// A problem with `plugins.yml` or the command line that stops start-up.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// Where in the file, when known.
    public var location: SourceLocation?
    /// The offending key, when there is one.
    public var key: String?
    /// What is wrong.
    public var reason: String

    /// Creates an error.
    public init(_ reason: String, key: String? = nil, at location: SourceLocation? = nil) {
        self.reason = reason
        self.key = key
        self.location = location
    }

    /// `file:line:column: key 'x': reason`.
    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        if let key { text += "key '\(key)': " }
        return text + reason
    }
}
