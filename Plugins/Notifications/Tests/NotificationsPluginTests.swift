import Foundation
import QuikTesting
import Testing

@Suite("notifications plugin")
struct NotificationsPluginTests {
    @Test("preferences start at mentions, every 15 minutes, and change field by field")
    func preferences() async throws {
        let plugins: [TestPlugin] = [
            .built("auth"), .built("workspace"), .built("user"), .built("channel"), .built("message"), .built("notifications"),
        ]
        try await PluginTestHost.with(plugins: plugins) { host in
            let ada = host.token(for: "ada")
            let defaults = try await host.client.get("/api/v1/notifications/preferences", token: ada).json()
            #expect(defaults["push"] as? String == "mentions")
            #expect(defaults["email_interval"] as? String == "15m")
            let changed = try await host.client.send(
                "PATCH", "/api/v1/notifications/preferences", body: Data(#"{"push":"none"}"#.utf8), token: ada)
            #expect(try changed.json()["push"] as? String == "none")
            #expect(try changed.json()["email"] as? String == "mentions")
        }
    }
}
