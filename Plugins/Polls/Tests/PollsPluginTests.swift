import Foundation
import QuikTesting
import Testing

@Suite("polls plugin")
struct PollsPluginTests {
    @Test("a poll is a message whose poll field counts the votes")
    func pollAndVote() async throws {
        let plugins: [TestPlugin] = [.built("workspace"), .built("channel"), .built("message"), .built("polls")]
        try await PluginTestHost.with(plugins: plugins) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Votes","slug":"votes"}"#, token: ada).json()
            let channel = try await host.client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspace["id"] as? String ?? "")","name":"general"}"#, token: ada).json()
            let created = try await host.client.post(
                "/api/v1/polls", json: #"{"channel_id":"\#(channel["id"] as? String ?? "")","question":"Tea?","options":["yes","no"]}"#, token: ada)
            #expect(created.status == 201)
            let message = try created.json()
            #expect(message["text"] as? String == "Tea?")
            let poll = try #require(message["poll"] as? [String: Any])
            let options = try #require(poll["options"] as? [[String: Any]])
            let yes = try #require(options.first?["id"] as? String)
            let voted = try await host.client.send(
                "PUT", "/api/v1/polls/\(message["id"] as? String ?? "")/vote", body: Data(#"{"option_ids":["\#(yes)"]}"#.utf8), token: ada)
            #expect(voted.status == 200)
            let counted = ((try voted.json()["poll"] as? [String: Any])?["options"] as? [[String: Any]])?.first
            #expect(counted?["votes"] as? Int == 1)
            #expect(counted?["user_ids"] as? [String] == ["ada"])
        }
    }
}
