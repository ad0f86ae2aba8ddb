import Crypto
import Foundation
import NIOPosix
import QuikSDK

#if canImport(Glibc)
import Glibc
#endif

/// Blobs as files under one folder: written to `.partial/` and renamed into place,
/// so an object appears whole or not at all. File calls run on NIO's blocking pool.
public final class LocalBlobStore: BlobStore {
    /// The folder.
    public let root: String
    static let readSize = 256 << 10

    /// A store under `directory`, created if missing.
    public init(directory: String) throws {
        root = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        try FileManager.default.createDirectory(atPath: root + "/.partial", withIntermediateDirectories: true)
    }

    private func path(_ key: String) -> String { root + "/" + key }

    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }

    public func put(_ key: String, body: ByteStream) async throws -> BlobInfo {
        let key = try StorageError.checked(key)
        let partial = root + "/.partial/" + UUID().uuidString
        let fd = try await Self.blocking { () throws -> Int32 in
            let fd = open(partial, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw StorageError("put", key: key, "cannot create a partial file (errno \(errno))") }
            return fd
        }
        var hash = SHA256()
        var size: Int64 = 0
        do {
            while let piece = try await body.next() {
                hash.update(data: piece)
                size += Int64(piece.count)
                try await Self.blocking {
                    try piece.withUnsafeBytes { bytes in
                        var offset = 0
                        while offset < bytes.count {
                            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                            guard written > 0 else { throw StorageError("put", key: key, "write failed (errno \(errno))") }
                            offset += written
                        }
                    }
                }
            }
            let final = path(key)
            try await Self.blocking {
                guard fsync(fd) == 0 else { throw StorageError("put", key: key, "fsync failed (errno \(errno))") }
                close(fd)
                let folder = (final as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                guard rename(partial, final) == 0 else { throw StorageError("put", key: key, "rename failed (errno \(errno))") }
            }
        } catch {
            _ = try? await Self.blocking {
                close(fd)
                unlink(partial)
            }
            throw error
        }
        return BlobInfo(size: size, sha256: SignatureV4.hex(hash.finalize()))
    }

    public func get(_ key: String, range: Range<Int64>?) async throws -> ByteStream {
        let key = try StorageError.checked(key)
        let file = path(key)
        let reader = try await Self.blocking { () throws -> FileReader in
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT { throw PluginError(.notFound, "no such object") }
                throw StorageError("get", key: key, "open failed (errno \(errno))")
            }
            var info = Glibc.stat()
            fstat(fd, &info)
            let size = Int64(info.st_size)
            let wanted = range ?? 0..<size
            guard wanted.lowerBound >= 0, wanted.upperBound <= size else {
                close(fd)
                throw PluginError(.validationFailed, "range \(wanted) is outside the object's \(size) bytes", details: ["range": "unsatisfiable"])
            }
            return FileReader(fd: fd, offset: wanted.lowerBound, end: wanted.upperBound)
        }
        return ByteStream { try await Self.blocking { try reader.read(Self.readSize) } }
    }

    public func stat(_ key: String) async throws -> BlobInfo? {
        let key = try StorageError.checked(key)
        let file = path(key)
        return try await Self.blocking { () -> BlobInfo? in
            var info = Glibc.stat()
            guard lstat(file, &info) == 0 else { return nil }
            return BlobInfo(size: Int64(info.st_size), sha256: nil)
        }
    }

    public func delete(_ key: String) async throws {
        let key = try StorageError.checked(key)
        let file = path(key)
        try await Self.blocking {
            guard unlink(file) == 0 || errno == ENOENT else { throw StorageError("delete", key: key, "unlink failed (errno \(errno))") }
        }
    }
}

/// One open file read forward from `offset` to `end`; closed at the end or when dropped.
private final class FileReader: @unchecked Sendable {
    private var fd: Int32
    private var offset: Int64
    private let end: Int64

    init(fd: Int32, offset: Int64, end: Int64) {
        self.fd = fd
        self.offset = offset
        self.end = end
    }

    /// Up to `count` bytes, or `nil` at the end. Reads are one at a time (one reader).
    func read(_ count: Int) throws -> Data? {
        guard fd >= 0 else { return nil }
        let wanted = Int(min(Int64(count), end - offset))
        guard wanted > 0 else {
            finish()
            return nil
        }
        var data = Data(count: wanted)
        let got = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(offset)) }
        guard got > 0 else {
            finish()
            if got < 0 { throw StorageError("get", key: "", "read failed (errno \(errno))") }
            return nil
        }
        offset += Int64(got)
        return got == wanted ? data : data.prefix(got)
    }

    private func finish() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { finish() }
}
