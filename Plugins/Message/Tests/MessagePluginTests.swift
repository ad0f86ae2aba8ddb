import QuikTesting
import Testing

@Suite("message plugin")
struct MessagePluginTests {
    @Test("a posted message reaches a member's socket and the channel's history")
    func postAndDeliver() async throws {
        try await PluginTestHost.with(plugins: [.built("workspace"), .built("channel"), .built("message")]) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Notes","slug":"notes"}"#, token: ada).json()
            let channel = try await host.client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspace["id"] as? String ?? "")","name":"general"}"#, token: ada).json()
            let channelId = try #require(channel["id"] as? String)
            let socket = host.socket(as: "ada")
            try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            let posted = try await host.client.post("/api/v1/messages", json: #"{"channel_id":"\#(channelId)","text":"Note G"}"#, token: ada)
            #expect(posted.status == 201)
            let event = try await socket.waitFor("message.created") { $0["topic"] as? String == "message.created" }
            #expect((event["data"] as? [String: Any])?["text"] as? String == "Note G")
            let history = try await host.client.get("/api/v1/messages?channel_id=\(channelId)", token: ada).json()
            #expect((history["items"] as? [[String: Any]])?.count == 1)
        }
    }
}
