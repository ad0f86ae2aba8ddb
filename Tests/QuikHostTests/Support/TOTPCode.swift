import Crypto
import Foundation

/// Computes RFC 6238 codes independently of the auth plugin, as an authenticator app would.
enum TOTPCode {
    static func code(secret base32: String, step: Int64) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bytes: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in base32 {
            buffer = (buffer << 5) | alphabet.firstIndex(of: character)!
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        var counter = UInt64(step).bigEndian
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: withUnsafeBytes(of: &counter) { Data($0) }, using: SymmetricKey(data: bytes)))
        let offset = Int(mac[19] & 0x0F)
        let value = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        return String(format: "%06d", value % 1_000_000)
    }

    static var currentStep: Int64 { Int64(Date().timeIntervalSince1970 / 30) }
}
