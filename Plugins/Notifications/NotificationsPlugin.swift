import Foundation
import QuikContracts
import QuikPluginKit
import QuikSDK

/// The `notifications` plugin: who is told of what (mentions, DMs, followed threads,
/// reminders), an in-app feed, preferences and do-not-disturb, email for what stays
/// unread, and pushes to browsers (Web Push with VAPID) and phones (a push proxy).
public final class NotificationsPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        var manifest = PluginManifest(
            name: "notifications", version: "1.0.0", mount: "notifications", dependencies: ["channel", "message", "user"],
            capabilities: PluginCapabilities(database: true, publishes: ["notification"], outboundHosts: ["*"]),
            settings: [
                SettingSpec(key: "email_delay_s", kind: .number, defaultValue: .int(30), help: "Seconds an `immediate` email waits, so a message read at once is not mailed"),
                SettingSpec(key: "push_delay_s", kind: .number, defaultValue: .int(0), help: "Seconds a push waits first (read meanwhile, it is not sent)"),
                SettingSpec(key: "push_proxy_url", kind: .string, help: "Base URL of a Mattermost-style push proxy for APNs/FCM devices"),
                SettingSpec(key: "server_id", kind: .string, help: "This deployment's id at the push proxy (default: one made and kept on first start)"),
                SettingSpec(key: "vapid_subject", kind: .string, help: "Contact for push services in VAPID tokens, mailto: or https: (default: the public URL)"),
            ],
            summary: "Notifications: feed, preferences, do-not-disturb, email and push")
        // Followed threads, presence and reminders add to what is routed when their plugins run.
        manifest.optionalDependencies = ["thread", "presence", "reminders"]
        return manifest
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "notifications", statements: [
                """
                CREATE TABLE notifications (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  user_id VARCHAR(32) NOT NULL,
                  type VARCHAR(16) NOT NULL,
                  in_feed TINYINT(1) NOT NULL,
                  workspace_id VARCHAR(32) NULL,
                  channel_id VARCHAR(32) NULL,
                  message_id VARCHAR(32) NULL,
                  reminder_id VARCHAR(32) NULL,
                  call_id VARCHAR(32) NULL,
                  actor_id VARCHAR(32) NULL,
                  text VARCHAR(800) NOT NULL,
                  is_read TINYINT(1) NOT NULL DEFAULT 0,
                  created_at DATETIME(3) NOT NULL,
                  email_due_at DATETIME(3) NULL,
                  emailed_at DATETIME(3) NULL,
                  UNIQUE KEY one_per_message (user_id, message_id),
                  UNIQUE KEY one_per_reminder (user_id, reminder_id),
                  UNIQUE KEY one_per_call (user_id, call_id),
                  KEY feed (user_id, in_feed, id),
                  KEY by_message (message_id),
                  KEY by_channel (user_id, channel_id, message_id),
                  KEY email_due (emailed_at, email_due_at)
                )
                """,
                """
                CREATE TABLE preferences (
                  user_id VARCHAR(32) NOT NULL PRIMARY KEY,
                  desktop VARCHAR(8) NOT NULL, push VARCHAR(8) NOT NULL, email VARCHAR(8) NOT NULL, email_interval VARCHAR(10) NOT NULL,
                  updated_at DATETIME(3) NOT NULL
                )
                """,
                """
                CREATE TABLE channel_preferences (
                  user_id VARCHAR(32) NOT NULL, channel_id VARCHAR(32) NOT NULL,
                  desktop VARCHAR(8) NOT NULL, push VARCHAR(8) NOT NULL, email VARCHAR(8) NOT NULL, muted TINYINT(1) NOT NULL,
                  PRIMARY KEY (user_id, channel_id), KEY by_channel (channel_id)
                )
                """,
                """
                CREATE TABLE dnd (
                  user_id VARCHAR(32) NOT NULL PRIMARY KEY,
                  until_at DATETIME(3) NULL,
                  schedule_start CHAR(5) NULL, schedule_end CHAR(5) NULL, schedule_timezone VARCHAR(64) NULL
                )
                """,
                """
                CREATE TABLE devices (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  user_id VARCHAR(32) NOT NULL,
                  type VARCHAR(12) NOT NULL,
                  platform VARCHAR(8) NOT NULL,
                  identity_hash CHAR(64) NOT NULL,
                  endpoint VARCHAR(2048) NULL, p256dh VARCHAR(200) NULL, auth VARCHAR(100) NULL, token TEXT NULL,
                  created_at DATETIME(3) NOT NULL,
                  UNIQUE KEY by_identity (identity_hash), KEY by_user (user_id)
                )
                """,
                "CREATE TABLE server_keys (name VARCHAR(40) NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
                """
                CREATE TABLE push_log (
                  notification_id VARCHAR(32) NOT NULL, device_id VARCHAR(32) NOT NULL, sent_at DATETIME(3) NOT NULL,
                  PRIMARY KEY (notification_id, device_id)
                )
                """,
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let database = try context.requireDatabase()
        let settings = context.settings
        let keys = try await ServerKeys.load(database)
        let publicURL = (context.publicURL ?? "http://localhost:8080").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let store = NotificationStore(context: context, database: database)
        let router = Router(
            context: context, database: database, store: store, immediateEmailDelay: max(0, settings["email_delay_s"]?.doubleValue ?? 30),
            pushDelay: max(0, min(3600, settings["push_delay_s"]?.doubleValue ?? 0)))
        let serverKeys = settings["server_id"]?.stringValue.map { ServerKeys(vapid: keys.vapid, unsubscribe: keys.unsubscribe, serverId: $0) } ?? keys
        let delivery = Delivery(
            context: context, database: database, store: store, keys: serverKeys, pushProxyURL: settings["push_proxy_url"]?.stringValue,
            subject: settings["vapid_subject"]?.stringValue ?? (publicURL.hasPrefix("https://") ? publicURL : "mailto:push@quikapp.invalid"))
        let digest = Digest(context: context, database: database, store: store, keys: keys, publicURL: publicURL)
        let devices = Devices(database: database)
        try routes(context, store: store, devices: devices, digest: digest, keys: keys)

        try context.onJob(Router.pushJob) { job in try await delivery.push(job) }
        try context.onJob(Delivery.deviceJob) { job in try await delivery.pushDevice(job) }
        try context.onJob(Router.emailJob) { job in try await digest.send(job) }

        // Durable events, delivered again after a crash: each handler makes nothing twice.
        try context.subscribe("message.created") { event in
            guard let message = try? event.decode(Router.MessageEvent.self) else { return }
            do {
                try await router.route(message)
            } catch {
                context.logger.error("a message was not routed to notifications", metadata: ["message_id": "\(message.id)", "error": "\(error)"])
            }
        }
        try context.subscribe("message.updated") { event in
            guard let message = try? event.decode(Router.MessageEvent.self) else { return }
            try? await router.edited(message)
        }
        try context.subscribe("message.deleted") { event in
            guard let message = try? event.decode(Router.MessageEvent.self) else { return }
            try? await router.deleted(message.id)
        }
        try context.subscribe("channel.read") { event in
            guard let mark = try? event.decode(ChannelRead.self) else { return }
            try? await router.read(mark)
        }
        try context.subscribe("call.missed") { event in
            guard let call = try? event.decode(Router.MissedCall.self) else { return }
            do {
                try await router.missed(call)
            } catch {
                context.logger.error("a missed call was not routed to notifications", metadata: ["error": "\(error)"])
            }
        }
        try context.subscribe("reminder.fired") { event in
            guard let fired = try? event.decode(Router.FiredReminder.self) else { return }
            do {
                try await router.reminded(fired)
            } catch {
                context.logger.error("a reminder was not routed to notifications", metadata: ["error": "\(error)"])
            }
        }
    }

    private func routes(_ context: any PluginContext, store: NotificationStore, devices: Devices, digest: Digest, keys: ServerKeys) throws {
        let page = [
            APIParameter.query("limit", .integer(minimum: 1, maximum: 200), "Items per page, 50 by default"),
            .query("cursor", .string, "The next_cursor of the page before"),
        ]
        let workspace = APIParameter.query("workspace_id", .string, "Only this workspace's")
        let unread = APIParameter.query("unread", .string(values: ["true", "false"]), "Only unread ones")
        try context.addRoute(
            .get, "/", options: RouteOptions(summary: "The caller's notifications, newest first").documented(query: [workspace, unread] + page, response: .list(of: Notification.schema))
        ) { request in
            let unread = request.query("unread")
            guard unread == nil || unread == "true" || unread == "false" else {
                throw PluginError(.validationFailed, "unread is true or false", details: ["unread": "must be true or false"])
            }
            return try .json(
                try await store.feed(
                    workspaceId: request.query("workspace_id"), unreadOnly: unread == "true", page: try Page(request),
                    userId: try request.requirePrincipal().userId))
        }
        let count = APISchema.object(["count": .integer(minimum: 0)], required: ["count"])
        try context.addRoute(.get, "/unread_count", options: RouteOptions(summary: "Unread notifications").documented(query: [workspace], response: count)) { request in
            try .json(["count": try await store.unreadCount(workspaceId: request.query("workspace_id"), userId: try request.requirePrincipal().userId)])
        }
        try context.addRoute(
            .post, "/read", options: RouteOptions(summary: "Mark read: {ids} or {all: true, workspace_id?}").documented(body: NotificationStore.ReadBody.schema, status: 204)
        ) { request in
            try await store.markRead(try request.decode(NotificationStore.ReadBody.self), userId: try request.requirePrincipal().userId)
            return .noContent
        }

        try context.addRoute(.get, "/preferences", options: RouteOptions(summary: "The caller's defaults").documented(response: Preferences.schema)) { request in
            try .json(try await store.preferences(try request.requirePrincipal().userId))
        }
        try context.addRoute(
            .patch, "/preferences", options: RouteOptions(summary: "Change the caller's defaults").documented(body: PreferencesPatch.schema, response: Preferences.schema)
        ) { request in
            let user = try request.requirePrincipal().userId
            let next = try request.decode(PreferencesPatch.self).applied(to: try await store.preferences(user))
            try await store.setPreferences(next, for: user)
            return try .json(next)
        }
        try context.addRoute(
            .get, "/preferences/channels/{channel_id}", options: RouteOptions(summary: "The caller's choices for a channel").documented(response: ChannelPreferences.schema)
        ) { request in
            let user = try request.requirePrincipal().userId
            let channel = try request.parameter("channel_id")
            try await store.requireVisible(channel, user)
            return try .json(try await store.channelPreferences(channel, user))
        }
        try context.addRoute(
            .put, "/preferences/channels/{channel_id}",
            options: RouteOptions(summary: "Set the caller's choices for a channel").documented(body: ChannelPreferencesBody.schema, response: ChannelPreferences.schema)
        ) { request in
            let user = try request.requirePrincipal().userId
            let channel = try request.parameter("channel_id")
            let preferences = try request.decode(ChannelPreferencesBody.self).checked()
            try await store.requireVisible(channel, user)
            try await store.setChannelPreferences(preferences, channelId: channel, userId: user)
            return try .json(preferences)
        }

        try context.addRoute(.get, "/dnd", options: RouteOptions(summary: "Do-not-disturb now").documented(response: DoNotDisturb.viewSchema)) { request in
            try .json(try await store.dnd(try request.requirePrincipal().userId).view)
        }
        try context.addRoute(
            .post, "/dnd", options: RouteOptions(summary: "Do not disturb until a time").documented(body: DNDUntil.schema, response: DoNotDisturb.viewSchema)
        ) { request in
            let body = try request.decode(DNDUntil.self)
            return try .json(try await store.setDND(until: body.until, userId: try request.requirePrincipal().userId).view)
        }
        try context.addRoute(.delete, "/dnd", options: RouteOptions(summary: "End do-not-disturb now").documented(status: 204)) { request in
            try await store.endDND(try request.requirePrincipal().userId)
            return .noContent
        }
        try context.addRoute(
            .put, "/dnd/schedule",
            options: RouteOptions(summary: "Do not disturb daily from start to end (may cross midnight)").documented(
                body: DNDScheduleBody.schema, response: DoNotDisturb.viewSchema)
        ) { request in
            let body = try request.decode(DNDScheduleBody.self)
            return try .json(try await store.setSchedule(body, userId: try request.requirePrincipal().userId).view)
        }
        try context.addRoute(.delete, "/dnd/schedule", options: RouteOptions(summary: "No daily do-not-disturb").documented(status: 204)) { request in
            try await store.clearSchedule(try request.requirePrincipal().userId)
            return .noContent
        }

        try context.addRoute(
            .post, "/devices",
            options: RouteOptions(summary: "Register a device: a Web Push subscription or a push-proxy token").documented(
                body: NewDevice.schema, response: Device.schema, status: 201, also: [200])
        ) { request in
            let user = try request.requirePrincipal().userId
            let outbound = context.outbound
            let checked = try request.decode(NewDevice.self).checked { host in outbound?.allowsInternal(host: host) ?? false }
            let (device, created) = try await devices.register(checked, userId: user)
            return try .json(device, status: created ? 201 : 200)
        }
        try context.addRoute(.get, "/devices", options: RouteOptions(summary: "The caller's devices").documented(response: .array(Device.schema))) { request in
            try .json(try await devices.list(try request.requirePrincipal().userId))
        }
        try context.addRoute(.delete, "/devices/{id}", options: RouteOptions(summary: "Forget a device").documented(status: 204)) { request in
            try await devices.delete(try request.parameter("id"), userId: try request.requirePrincipal().userId)
            return .noContent
        }
        let key = APISchema.object(["public_key": .string], required: ["public_key"])
        try context.addRoute(
            .get, "/web_push_key", options: RouteOptions(summary: "The VAPID public key for PushManager.subscribe").documented(response: key)
        ) { _ in
            try .json(["public_key": keys.vapid.publicKey])
        }
        let link = [APIParameter.query("user_id", .string, required: true), .query("sig", .string, required: true)]
        var unsubscribe = RouteOptions(requiresAuthentication: false, summary: "Stop notification emails (the link in each one)").documented(query: link)
        unsubscribe.responseContentType = "text/plain"
        for method in [RouteMethod.get, .post] {
            try context.addRoute(method, "/unsubscribe", options: unsubscribe) { request in
                try await digest.unsubscribe(userId: request.query("user_id"), signature: request.query("sig"))
            }
        }
    }
}
