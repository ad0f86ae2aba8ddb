import Foundation

/// Where a deployment keeps file bytes (`storage:` in plugins.yml): a folder on
/// the host's disk by default, or an S3-compatible bucket. A plugin sees only its
/// own keys. Since SDK 1.4.
public protocol BlobStore: Sendable {
    /// Stores `body` under `key`, replacing what was there; the object appears whole
    /// or not at all. Keys are 1–512 characters of `A-Z a-z 0-9 . _ - /`, without `..`.
    func put(_ key: String, body: ByteStream) async throws -> BlobInfo

    /// The bytes of `key`, or of `range` of them; `not_found` when there is no such object.
    func get(_ key: String, range: Range<Int64>?) async throws -> ByteStream

    /// What is stored under `key`, or `nil`.
    func stat(_ key: String) async throws -> BlobInfo?

    /// Removes `key`; removing a missing key is not an error.
    func delete(_ key: String) async throws
}

/// What a ``BlobStore`` holds under a key. Since SDK 1.4.
public struct BlobInfo: Sendable, Equatable {
    /// Size in bytes.
    public var size: Int64
    /// Lowercase hex SHA-256 of the bytes, when the store computed it (``BlobStore/put(_:body:)`` does).
    public var sha256: String?

    /// Creates a description.
    public init(size: Int64, sha256: String?) {
        self.size = size
        self.sha256 = sha256
    }
}

/// The key rule every ``BlobStore`` enforces. Since SDK 1.4.
public enum BlobKey {
    /// Whether `key` is 1–512 characters of `A-Z a-z 0-9 . _ - /`, not starting with `/` and without `..`.
    public static func isValid(_ key: String) -> Bool {
        (1...512).contains(key.utf8.count) && !key.hasPrefix("/") && !key.contains("..")
            && key.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2E || byte == 0x5F || byte == 0x2D || byte == 0x2F
            }
    }
}
