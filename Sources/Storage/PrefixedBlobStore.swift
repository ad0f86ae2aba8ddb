import QuikSDK

/// One plugin's view of the deployment's store: its keys live under `<prefix>/`,
/// so no plugin reaches another's objects.
public struct PrefixedBlobStore: BlobStore {
    let store: any BlobStore
    let prefix: String

    /// `store` seen under `prefix` (a plugin's name).
    public init(_ store: any BlobStore, prefix: String) {
        self.store = store
        self.prefix = prefix
    }

    private func scoped(_ key: String) throws -> String {
        _ = try StorageError.checked(key)
        return prefix + "/" + key
    }

    /// A backend failure reaches the plugin as `unavailable`, without the backend's details.
    private func plain<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as StorageError {
            throw error.pluginError
        }
    }

    public func put(_ key: String, body: ByteStream) async throws -> BlobInfo {
        try await plain { try await store.put(try scoped(key), body: body) }
    }

    public func get(_ key: String, range: Range<Int64>?) async throws -> ByteStream {
        try await plain { try await store.get(try scoped(key), range: range) }
    }

    public func stat(_ key: String) async throws -> BlobInfo? {
        try await plain { try await store.stat(try scoped(key)) }
    }

    public func delete(_ key: String) async throws {
        try await plain { try await store.delete(try scoped(key)) }
    }
}
