import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK
import QuikWebPush

/// Pushes: one job per notification decides whether to push at all (not while the user
/// has a socket open and is not away, nor in DND: dropped, not held), then one job per
/// device sends, so a failing device is retried alone and no device gets one notification twice.
struct Delivery: Sendable {
    static let deviceJob = "push_device"

    let context: any PluginContext
    let database: any PluginDatabase
    let store: NotificationStore
    let keys: ServerKeys
    let pushProxyURL: String?
    /// The `sub` of VAPID tokens: whom push services may write to.
    let subject: String

    struct DeviceJob: Codable {
        var notificationId: String
        var deviceId: String
    }

    /// The Web Push payload (API.md).
    struct Payload: Encodable {
        var type: String
        var notificationId: String
        var workspaceId: String?
        var channelId: String?
        var messageId: String?
        var actorId: String?
        var text: String

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(notificationId, forKey: .notificationId)
            try container.encode(workspaceId, forKey: .workspaceId)
            try container.encode(channelId, forKey: .channelId)
            try container.encode(messageId, forKey: .messageId)
            try container.encode(actorId, forKey: .actorId)
            try container.encode(text, forKey: .text)
        }

        private enum CodingKeys: String, CodingKey { case type, notificationId, workspaceId, channelId, messageId, actorId, text }
    }

    private func notification(_ id: String) async throws -> (Notification, String)? {
        guard let row = try await database.query("SELECT \(Notification.columns) FROM notifications WHERE id = ?", [.text(id)]).first else {
            return nil
        }
        return (Notification(row: row), row["user_id"].string ?? "")
    }

    /// The `push` job.
    func push(_ job: Job) async throws {
        let id = try job.decode(PushJob.self).notificationId
        // Deleted with its message, or edited out of a mention, since: nothing to push.
        guard let (notification, user) = try await notification(id), !notification.read else { return }
        if let state = try? await context.call("presence", "statuses", PresenceQuery(userIds: [user]), as: PresenceStates.self).states.first,
            state.connected, state.status != "away"
        {
            return
        }
        guard try await !store.dnd(user).isActive() else { return }
        let jobs = try context.requireJobs()
        for row in try await database.query("SELECT id FROM devices WHERE user_id = ?", [.text(user)]) {
            guard let device = row["id"].string else { continue }
            try await jobs.schedule(Self.deviceJob, DeviceJob(notificationId: id, deviceId: device), key: "push:\(id):\(device)")
        }
    }

    /// The `push_device` job: a 404 or 410 (or the proxy's `REMOVE`) forgets the device; a 429 or 5xx is retried.
    func pushDevice(_ job: Job) async throws {
        let task = try job.decode(DeviceJob.self)
        guard let (notification, user) = try await notification(task.notificationId),
            let device = try await database.query(
                "SELECT \(Device.columns) FROM devices WHERE id = ? AND user_id = ?", [.text(task.deviceId), .text(user)]
            ).first
        else { return }
        guard let outbound = context.outbound else { throw PluginError(.unavailable, "no outbound HTTP") }
        let payload = Payload(
            type: notification.type, notificationId: notification.id, workspaceId: notification.workspaceId, channelId: notification.channelId,
            messageId: notification.messageId, actorId: notification.actorId, text: notification.text)
        var request: OutboundRequest
        switch device["type"].string {
        case "web_push":
            guard let endpoint = device["endpoint"].string else { return }
            let keys = try PushSubscriptionKeys(p256dh: device["p256dh"].string ?? "", auth: device["auth"].string ?? "")
            request = OutboundRequest(url: endpoint)
            request.method = .post
            request.body = try WebPush.encrypt(try JSONEncoder.quik.encode(payload), to: keys)
            request.headers = [
                "content-type": "application/octet-stream", "content-encoding": "aes128gcm", "ttl": "86400", "urgency": "normal",
                "authorization": try WebPush.authorization(endpoint: endpoint, subject: subject, key: self.keys.vapid),
            ]
        case "push_proxy":
            guard let proxy = pushProxyURL, let token = device["token"].string else { return }
            let badge = try await store.unreadCount(workspaceId: nil, userId: user)
            let body: [String: String] = [
                "platform": device["platform"].string == "apns" ? "apple" : "android", "server_id": keys.serverId, "device_id": token,
                "type": "message", "message": notification.text, "channel_id": notification.channelId ?? "", "post_id": notification.messageId ?? "",
                "sender_id": notification.actorId ?? "",
            ]
            var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(body)) as? [String: Any] ?? [:]
            object["badge"] = badge
            request = OutboundRequest(url: proxy.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/api/v1/send_push")
            request.method = .post
            request.body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            request.headers = ["content-type": "application/json"]
        default:
            return
        }
        request.timeoutSeconds = 10
        request.maxBytes = 64 << 10
        request.maxRedirects = 0
        let response = try await outbound.fetch(request)
        let remove = [404, 410].contains(response.status)
            || (device["type"].string == "push_proxy"
                && (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["status"] as? String == "REMOVE")
        if remove {
            try await database.execute("DELETE FROM devices WHERE id = ?", [.text(task.deviceId)])
            context.logger.info("push device gone; removed", metadata: ["device_id": "\(task.deviceId)", "status": "\(response.status)"])
            return
        }
        if response.status == 429 || response.status >= 500 {
            throw PluginError(.unavailable, "the push service answered \(response.status)")
        }
        if !(200..<300).contains(response.status) {
            context.logger.warning("push refused", metadata: ["device_id": "\(task.deviceId)", "status": "\(response.status)"])
        }
    }
}
