import Foundation
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

    @Test("a reaction is a name or an emoji sequence, taken as written; anything else is 422")
    func reactionNames() async throws {
        try await PluginTestHost.with(plugins: [.built("workspace"), .built("channel"), .built("message")]) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Faces","slug":"faces"}"#, token: ada).json()
            let channel = try await host.client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspace["id"] as? String ?? "")","name":"general"}"#, token: ada).json()
            let message = try await host.client.post(
                "/api/v1/messages", json: #"{"channel_id":"\#(channel["id"] as? String ?? "")","text":"hi"}"#, token: ada).json()
            let id = try #require(message["id"] as? String)
            var statuses: [String: Int] = [:]
            for emoji in ["rocket", "+1", "\u{1F44D}", "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", "Rocket", "\u{85}rocket", "a\u{1B}", String(repeating: "a", count: 65), "two words"] {
                let body = String(decoding: try JSONEncoder().encode(["emoji": emoji]), as: UTF8.self)
                statuses[emoji] = try await host.client.post("/api/v1/messages/\(id)/reactions", json: body, token: ada).status
            }
            #expect(statuses["rocket"] == 200 && statuses["+1"] == 200)
            #expect(statuses["\u{1F44D}"] == 200 && statuses["\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"] == 200)
            #expect(["Rocket", "\u{85}rocket", "a\u{1B}", String(repeating: "a", count: 65), "two words"].allSatisfy { statuses[$0] == 422 }, "\(statuses)")
            let removed = try await host.client.send("DELETE", "/api/v1/messages/\(id)/reactions/%F0%9F%91%8D", token: ada)
            #expect(removed.status == 204)
        }
    }
}
