import QuikTesting
import Testing

@Suite("search plugin")
struct SearchPluginTests {
    @Test("a posted message is found by a word, a prefix and its author, and not by an excluded word")
    func findsPostedMessages() async throws {
        let plugins: [TestPlugin] = [.built("auth"), .built("workspace"), .built("user"), .built("channel"), .built("message"), .built("search")]
        try await PluginTestHost.with(plugins: plugins) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Looms","slug":"looms"}"#, token: ada).json()
            let workspaceId = workspace["id"] as? String ?? ""
            let channel = try await host.client.post(
                "/api/v1/channels", json: #"{"workspace_id":"\#(workspaceId)","name":"general"}"#, token: ada).json()
            let channelId = channel["id"] as? String ?? ""
            for text in ["The Analytical Engine weaves algebraic patterns", "Jacquard looms weave flowers"] {
                _ = try await host.client.post("/api/v1/messages", json: #"{"channel_id":"\#(channelId)","text":"\#(text)"}"#, token: ada)
            }
            func search(_ q: String) async throws -> [String] {
                let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q
                let deadline = ContinuousClock.now + .seconds(5)
                while true {
                    let reply = try await host.client.get("/api/v1/search/messages?workspace_id=\(workspaceId)&q=\(encoded)", token: ada).json()
                    let texts = (reply["items"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["text"] as? String }
                    if !texts.isEmpty || ContinuousClock.now > deadline { return texts }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(try await search("engine") == ["The Analytical Engine weaves algebraic patterns"])
            #expect(try await search("weav*").count == 2)
            #expect(try await search("weav* -flowers") == ["The Analytical Engine weaves algebraic patterns"])
            #expect(try await search("from:@ada looms") == ["Jacquard looms weave flowers"])
        }
    }
}
