import Foundation
import QuikTesting
import Testing

@Suite("scheduled plugin")
struct ScheduledPluginTests {
    @Test("a message scheduled two seconds ahead is posted as its author and shows as sent")
    func postsOnTime() async throws {
        let plugins: [TestPlugin] = [.built("workspace"), .built("channel"), .built("message"), .built("scheduled")]
        try await PluginTestHost.with(plugins: plugins) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Looms","slug":"looms"}"#, token: ada).json()
            let channel = try await host.client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspace["id"] as? String ?? "")","name":"general"}"#, token: ada).json()
            let channelId = channel["id"] as? String ?? ""
            let at = ISO8601DateFormatter().string(from: Date().addingTimeInterval(2))
            let scheduled = try await host.client.post(
                "/api/v1/scheduled", json: #"{"channel_id":"\#(channelId)","text":"good morning","post_at":"\#(at)"}"#, token: ada).json()
            let id = try #require(scheduled["id"] as? String)
            let deadline = ContinuousClock.now + .seconds(8)
            var state = ""
            while ContinuousClock.now < deadline, state != "sent" {
                try await Task.sleep(for: .milliseconds(200))
                state = try await host.client.get("/api/v1/scheduled/\(id)", token: ada).json()["state"] as? String ?? ""
            }
            #expect(state == "sent")
            let history = try await host.client.get("/api/v1/messages?channel_id=\(channelId)", token: ada).json()["items"] as? [[String: Any]]
            #expect(history?.map { $0["text"] as? String } == ["good morning"])
            #expect(history?.first?["author_id"] as? String == "ada")
        }
    }
}
