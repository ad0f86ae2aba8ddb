import QuikSDK

/// Why the store could not do what it was asked; `description` names the key, never a credential.
public struct StorageError: Error, CustomStringConvertible {
    /// What failed.
    public var operation: String
    /// The key concerned.
    public var key: String
    /// What the store or the file system said.
    public var reason: String

    /// An error for `operation` on `key`.
    public init(_ operation: String, key: String, _ reason: String) {
        self.operation = operation
        self.key = key
        self.reason = reason
    }

    public var description: String { "storage \(operation) of '\(key)' failed: \(reason)" }

    /// What a plugin sees: the store is unavailable, with no detail of the backend.
    var pluginError: PluginError { PluginError(.unavailable, "file storage is unavailable; try again shortly") }

    static func checked(_ key: String) throws -> String {
        guard BlobKey.isValid(key) else {
            throw PluginError(.validationFailed, "a storage key is 1–512 characters of A-Z a-z 0-9 . _ - /", details: ["key": "malformed"])
        }
        return key
    }
}
