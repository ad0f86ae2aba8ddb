import QuikTesting
import Testing

@Suite("workspace plugin")
struct WorkspacePluginTests {
    @Test("the creator owns a new workspace; a stranger cannot see it")
    func createAndHide() async throws {
        try await PluginTestHost.with(plugins: [.built("workspace")]) { host in
            let created = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Analytical","slug":"analytical"}"#, token: host.token(for: "ada"))
            #expect(created.status == 201)
            let id = try #require(try created.json()["id"] as? String)
            let members = try await host.client.get("/api/v1/workspaces/\(id)/members", token: host.token(for: "ada")).json()
            #expect((members["items"] as? [[String: Any]])?.first?["role"] as? String == "owner")
            #expect(try await host.client.get("/api/v1/workspaces/\(id)", token: host.token(for: "bob")).status == 404)
        }
    }
}
