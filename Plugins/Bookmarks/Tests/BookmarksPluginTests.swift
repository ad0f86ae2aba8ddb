import QuikTesting
import Testing

@Suite("bookmarks plugin")
struct BookmarksPluginTests {
    @Test("a saved message is listed in its workspace with the message as the REST API gives it; saving again answers 200")
    func saveAndList() async throws {
        let plugins: [TestPlugin] = [.built("workspace"), .built("channel"), .built("message"), .built("bookmarks")]
        try await PluginTestHost.with(plugins: plugins) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Shelf","slug":"shelf"}"#, token: ada).json()
            let workspaceId = try #require(workspace["id"] as? String)
            let channel = try await host.client.post("/api/v1/channels", json: #"{"workspace_id":"\#(workspaceId)","name":"general"}"#, token: ada).json()
            let message = try await host.client.post(
                "/api/v1/messages", json: #"{"channel_id":"\#(channel["id"] as? String ?? "")","text":"keep me"}"#, token: ada).json()
            let id = try #require(message["id"] as? String)
            let saved = try await host.client.post("/api/v1/bookmarks", json: #"{"message_id":"\#(id)"}"#, token: ada)
            #expect(saved.status == 201)
            #expect(try await host.client.post("/api/v1/bookmarks", json: #"{"message_id":"\#(id)"}"#, token: ada).status == 200)
            let list = try await host.client.get("/api/v1/bookmarks?workspace_id=\(workspaceId)", token: ada).json()
            let items = try #require(list["items"] as? [[String: Any]])
            #expect(items.map { ($0["message"] as? [String: Any])?["text"] as? String } == ["keep me"])
        }
    }
}
