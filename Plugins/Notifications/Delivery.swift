import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK
import QuikWebPush
import Synchronization

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

    /// VAPID headers by push service origin, reused for an hour of their 12 (signing one per push cost more than the push).
    let vapidHeaders = VAPIDHeaders()

    final class VAPIDHeaders: Sendable {
        private let cache = Mutex<[String: (header: String, until: Date)]>([:])

        func header(for endpoint: String, make: () throws -> String) rethrows -> String {
            let origin = URL(string: endpoint).map { "\($0.scheme ?? "")://\($0.host ?? ""):\($0.port ?? 0)" } ?? endpoint
            let now = Date()
            if let hit = cache.withLock({ $0[origin] }), hit.until > now { return hit.header }
            let header = try make()
            cache.withLock { cache in
                if cache.count > 1000 { cache.removeAll() }
                cache[origin] = (header, now.addingTimeInterval(3600))
            }
            return header
        }
    }

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

    /// Pushes at once to this many devices.
    static let fanOut = 16

    /// The `push` job: the notifications still unread, of users with no open socket (or away) and not
    /// in DND, go to each of their devices, 16 at a time. Each push sent is logged, so a rerun after a
    /// crash skips it; a device that fails for now gets a `push_device` job of its own, retried alone.
    func push(_ job: Job) async throws {
        let ids = try job.decode(PushJob.self).notificationIds
        guard !ids.isEmpty else { return }
        // Deleted with its message, edited out of a mention, or read since: nothing to push.
        let rows = try await database.query(
            "SELECT \(Notification.columns) FROM notifications WHERE id IN (\(sqlPlaceholders(ids.count))) AND is_read = 0", ids.map(SQLValue.text))
        var pending = rows.map { (Notification(row: $0), $0["user_id"].string ?? "") }
        let users = Array(Set(pending.map(\.1)))
        guard !users.isEmpty else { return }
        if let states = try? await context.call("presence", "statuses", PresenceQuery(userIds: users), as: PresenceStates.self).states {
            let active = Set(states.filter { $0.connected && $0.status != "away" }.map(\.userId))
            pending.removeAll { active.contains($0.1) }
        }
        let now = Date()
        let quiet = Set(
            try await database.query("SELECT * FROM dnd WHERE user_id IN (\(sqlPlaceholders(users.count)))", users.map(SQLValue.text))
                .filter { DoNotDisturb(row: $0).isActive(at: now) }.compactMap { $0["user_id"].string })
        pending.removeAll { quiet.contains($0.1) }
        guard !pending.isEmpty else { return }
        let reached = Array(Set(pending.map(\.1)))
        var devices: [String: [SQLRow]] = [:]
        for row in try await database.query(
            "SELECT \(Device.columns) FROM devices WHERE user_id IN (\(sqlPlaceholders(reached.count)))", reached.map(SQLValue.text))
        {
            devices[row["user_id"].string ?? "", default: []].append(row)
        }
        let sent = Set(
            try await database.query(
                "SELECT notification_id, device_id FROM push_log WHERE notification_id IN (\(sqlPlaceholders(pending.count)))", pending.map { .text($0.0.id) }
            ).map { "\($0["notification_id"].string ?? "")/\($0["device_id"].string ?? "")" })
        var sends: [(Notification, String, SQLRow)] = []
        for (notification, user) in pending {
            for device in devices[user] ?? [] where !sent.contains("\(notification.id)/\(device["id"].string ?? "")") {
                sends.append((notification, user, device))
            }
        }
        let jobs = try context.requireJobs()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, send) in sends.enumerated() {
                if index >= Self.fanOut { try await group.next() }
                group.addTask {
                    let (notification, user, device) = send
                    let deviceId = device["id"].string ?? ""
                    do {
                        try await self.send(notification, user: user, device: device)
                    } catch {
                        try await jobs.schedule(
                            Self.deviceJob, DeviceJob(notificationId: notification.id, deviceId: deviceId), key: "push:\(notification.id):\(deviceId)")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The `push_device` job: one device's retry.
    func pushDevice(_ job: Job) async throws {
        let task = try job.decode(DeviceJob.self)
        guard let (notification, user) = try await notification(task.notificationId), !notification.read,
            let device = try await database.query(
                "SELECT \(Device.columns) FROM devices WHERE id = ? AND user_id = ?", [.text(task.deviceId), .text(user)]
            ).first,
            try await database.query(
                "SELECT 1 FROM push_log WHERE notification_id = ? AND device_id = ?", [.text(task.notificationId), .text(task.deviceId)]
            ).isEmpty
        else { return }
        try await send(notification, user: user, device: device)
    }

    /// Sends one push: a 404 or 410 (or the proxy's `REMOVE`) forgets the device; a 429 or 5xx throws, to retry;
    /// a push sent is logged, so it is never sent again for the same notification and device.
    func send(_ notification: Notification, user: String, device: SQLRow) async throws {
        let deviceId = device["id"].string ?? ""
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
                "authorization": try vapidHeaders.header(for: endpoint) {
                    try WebPush.authorization(endpoint: endpoint, subject: subject, key: self.keys.vapid)
                },
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
            try await database.execute("DELETE FROM devices WHERE id = ?", [.text(deviceId)])
            context.logger.info("push device gone; removed", metadata: ["device_id": "\(deviceId)", "status": "\(response.status)"])
            return
        }
        if response.status == 429 || response.status >= 500 {
            throw PluginError(.unavailable, "the push service answered \(response.status)")
        }
        if !(200..<300).contains(response.status) {
            context.logger.warning("push refused", metadata: ["device_id": "\(deviceId)", "status": "\(response.status)"])
        }
        try await database.execute(
            "INSERT IGNORE INTO push_log (notification_id, device_id, sent_at) VALUES (?, ?, ?)", [.text(notification.id), .text(deviceId), .date(Date())])
    }
}
