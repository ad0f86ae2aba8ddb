import CArgon2
import Dispatch
import Foundation
import QuikSDK

/// Argon2id password hashing through libargon2, off the cooperative threads.
///
/// Parameters default to OWASP's recommendation for Argon2id: 19 MiB of memory,
/// 2 iterations, 1 lane, a 16-byte random salt and a 32-byte hash, kept in the
/// PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) so that
/// stronger parameters later still verify old hashes (and rehash them at login).
struct PasswordHasher: Sendable {
    struct Parameters: Sendable, Equatable {
        /// Memory in KiB. Default 19456 (19 MiB).
        var memoryKiB: UInt32 = 19456
        /// Passes over memory. Default 2.
        var iterations: UInt32 = 2
        /// Lanes. Default 1.
        var parallelism: UInt32 = 1
    }

    static let saltBytes = 16
    static let hashBytes = 32

    let parameters: Parameters

    /// The PHC string for `password` with a new random salt.
    func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await offload {
            let salt = (0..<Self.saltBytes).map { _ in UInt8.random(in: 0...255) }
            let length = argon2_encodedlen(
                parameters.iterations, parameters.memoryKiB, parameters.parallelism, UInt32(Self.saltBytes), UInt32(Self.hashBytes),
                Argon2_id)
            var encoded = [CChar](repeating: 0, count: length)
            let password = Array(password.utf8)
            let result = argon2id_hash_encoded(
                parameters.iterations, parameters.memoryKiB, parameters.parallelism, password, password.count, salt, salt.count,
                Self.hashBytes, &encoded, length)
            guard result == ARGON2_OK.rawValue else {
                throw PluginError(.internalError, "password hashing failed")
            }
            return String(cString: encoded)
        }
    }

    /// Whether `password` matches the PHC string (libargon2 compares in constant time).
    func verify(_ password: String, against encoded: String) async -> Bool {
        (try? await offload {
            let password = Array(password.utf8)
            return argon2id_verify(encoded, password, password.count) == ARGON2_OK.rawValue
        }) ?? false
    }

    /// Whether a stored hash was made with other parameters than the current ones.
    func needsRehash(_ encoded: String) -> Bool {
        !encoded.hasPrefix("$argon2id$v=19$m=\(parameters.memoryKiB),t=\(parameters.iterations),p=\(parameters.parallelism)$")
    }

    /// Hashing takes tens of milliseconds of CPU; it runs on a dispatch queue so
    /// the server's cooperative threads keep answering other requests.
    private func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
