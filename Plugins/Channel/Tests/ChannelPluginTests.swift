import QuikTesting
import Testing

@Suite("channel plugin")
struct ChannelPluginTests {
    @Test("a channel made in a workspace is listed with its unread count")
    func createAndList() async throws {
        try await PluginTestHost.with(plugins: [.built("workspace"), .built("channel")]) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Engines","slug":"engines"}"#, token: ada).json()
            let id = try #require(workspace["id"] as? String)
            let channel = try await host.client.post("/api/v1/channels", json: #"{"workspace_id":"\#(id)","name":"general","kind":"public"}"#, token: ada)
            #expect(channel.status == 201)
            let listed = try await host.client.get("/api/v1/channels?workspace_id=\(id)", token: ada).json()
            let items = listed["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["name"] as? String } == ["general"])
            #expect(items.first?["unread_count"] as? Int == 0)
        }
    }
}
