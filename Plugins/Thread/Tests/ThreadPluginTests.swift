import QuikTesting
import Testing

@Suite("thread plugin")
struct ThreadPluginTests {
    @Test("a reply shows in its thread, and its author follows it")
    func replyAndFollow() async throws {
        let plugins: [TestPlugin] = [.built("workspace"), .built("channel"), .built("message"), .built("thread")]
        try await PluginTestHost.with(plugins: plugins) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Looms","slug":"looms"}"#, token: ada).json()
            let channel = try await host.client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspace["id"] as? String ?? "")","name":"general"}"#, token: ada).json()
            let channelId = channel["id"] as? String ?? ""
            let root = try await host.client.post("/api/v1/messages", json: #"{"channel_id":"\#(channelId)","text":"root"}"#, token: ada).json()
            let rootId = try #require(root["id"] as? String)
            _ = try await host.client.post(
                "/api/v1/messages", json: #"{"channel_id":"\#(channelId)","text":"reply","thread_root_id":"\#(rootId)"}"#, token: ada)
            let thread = try await host.client.get("/api/v1/threads/\(rootId)", token: ada).json()
            #expect((thread["replies"] as? [[String: Any]])?.map { $0["text"] as? String } == ["reply"])
            #expect(thread["participants"] as? [String] == ["ada"])
        }
    }
}
