import Crypto
import Foundation
import QuikPluginKit
import QuikSDK
import QuikWebPush

/// A device that receives pushes: a browser's Web Push subscription, or a phone's token for the push proxy.
struct Device: Codable, Sendable {
    var id: String
    /// `web_push` or `push_proxy`.
    var type: String
    /// `web`, `apns` or `fcm`.
    var platform: String
    var createdAt: Date

    static let columns = "id, user_id, type, platform, endpoint, p256dh, auth, token, created_at"

    init(row: SQLRow) {
        id = row["id"].string ?? ""
        type = row["type"].string ?? ""
        platform = row["platform"].string ?? ""
        createdAt = row["created_at"].date ?? Date()
    }

    static let schema = APISchema.object(
        ["id": .string, "type": .string(values: ["web_push", "push_proxy"]), "platform": .string(values: ["web", "apns", "fcm"]), "created_at": .dateTime],
        required: ["id", "type", "platform", "created_at"])
}

/// `POST /notifications/devices`.
struct NewDevice: Decodable {
    struct Subscription: Decodable {
        struct Keys: Decodable {
            var p256dh: String?
            var auth: String?
        }

        var endpoint: String?
        var keys: Keys?
    }

    var type: String?
    var subscription: Subscription?
    var platform: String?
    var token: String?

    static let maximumEndpoint = 2048
    static let maximumToken = 4096

    static let schema = APISchema.object([
        "type": .string(values: ["web_push", "push_proxy"]),
        "subscription": .object(
            [
                "endpoint": .string(minLength: 1, maxLength: maximumEndpoint),
                "keys": .object(["p256dh": .string, "auth": .string], required: ["p256dh", "auth"]),
            ], required: ["endpoint", "keys"]),
        "platform": .string(values: ["apns", "fcm"]), "token": .string(minLength: 1, maxLength: maximumToken, pattern: "^[^\u{0}]*$"),
    ], required: ["type"])

    /// What is stored: the device's identity (endpoint or token), checked.
    struct Checked {
        var type: String
        var platform: String
        var identity: String
        var endpoint: String?
        var p256dh: String?
        var auth: String?
        var token: String?
    }

    /// Checks the body; `allowsInternal` says whether an `http` endpoint's host is one the deployment lets requests reach.
    func checked(allowsInternal: (String) -> Bool) throws -> Checked {
        switch type {
        case "web_push":
            guard let subscription else {
                throw PluginError(.validationFailed, "a web_push device needs its subscription", details: ["subscription": "is required"])
            }
            guard let endpoint = subscription.endpoint, endpoint.count <= Self.maximumEndpoint, let url = URL(string: endpoint),
                let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty,
                scheme == "https" || (scheme == "http" && allowsInternal(host))
            else {
                throw PluginError(
                    .validationFailed, "the endpoint must be an https URL (or http to an allowed internal host)",
                    details: ["subscription.endpoint": "must be https"])
            }
            do {
                _ = try PushSubscriptionKeys(p256dh: subscription.keys?.p256dh ?? "", auth: subscription.keys?.auth ?? "")
            } catch let error as WebPushError {
                throw PluginError(.validationFailed, "the subscription's keys are malformed", details: ["subscription.keys.\(error.field)": error.message])
            }
            return Checked(
                type: "web_push", platform: "web", identity: endpoint, endpoint: endpoint, p256dh: subscription.keys?.p256dh, auth: subscription.keys?.auth)
        case "push_proxy":
            var validator = Validator()
            validator.check(["apns", "fcm"].contains(platform ?? ""), "platform", "must be apns or fcm")
            validator.check(!(token ?? "").isEmpty, "token", "is required")
            validator.check(token, "token", atMost: Self.maximumToken)
            try validator.finish()
            return Checked(type: "push_proxy", platform: platform ?? "", identity: "\(platform ?? ""):\(token ?? "")", token: token)
        default:
            throw PluginError(.validationFailed, "type must be web_push or push_proxy", details: ["type": "unknown"])
        }
    }
}

/// Registering and forgetting devices.
struct Devices: Sendable {
    let database: any PluginDatabase

    static func identityHash(_ identity: String) -> String {
        SHA256.hash(data: Data(identity.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The device, and whether it is new. The same endpoint or token again is the same device, now the caller's.
    func register(_ device: NewDevice.Checked, userId: String) async throws -> (Device, Bool) {
        let hash = Self.identityHash(device.identity)
        return try await database.transaction(retryOnDeadlock: true) { transaction in
            if let row = try await transaction.query("SELECT \(Device.columns) FROM devices WHERE identity_hash = ? FOR UPDATE", [.text(hash)]).first {
                try await transaction.execute(
                    "UPDATE devices SET user_id = ?, p256dh = ?, auth = ? WHERE identity_hash = ?",
                    [.text(userId), device.p256dh.map(SQLValue.text) ?? .null, device.auth.map(SQLValue.text) ?? .null, .text(hash)])
                return (Device(row: row), false)
            }
            let id = IDs.make("V")
            try await transaction.execute(
                """
                INSERT INTO devices (id, user_id, type, platform, identity_hash, endpoint, p256dh, auth, token, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(id), .text(userId), .text(device.type), .text(device.platform), .text(hash), device.endpoint.map(SQLValue.text) ?? .null,
                    device.p256dh.map(SQLValue.text) ?? .null, device.auth.map(SQLValue.text) ?? .null, device.token.map(SQLValue.text) ?? .null,
                    .date(Date()),
                ])
            let row = try await transaction.query("SELECT \(Device.columns) FROM devices WHERE id = ?", [.text(id)])
            return (Device(row: row[0]), true)
        }
    }

    func list(_ userId: String) async throws -> [Device] {
        try await database.query("SELECT \(Device.columns) FROM devices WHERE user_id = ? ORDER BY id", [.text(userId)]).map(Device.init(row:))
    }

    func delete(_ id: String, userId: String) async throws {
        let outcome = try await database.execute("DELETE FROM devices WHERE id = ? AND user_id = ?", [.text(id), .text(userId)])
        guard outcome.affectedRows == 1 else { throw PluginError(.notFound, "no such device") }
    }
}
