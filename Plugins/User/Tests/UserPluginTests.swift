import QuikTesting
import Testing

@Suite("user plugin")
struct UserPluginTests {
    @Test("a registered user's profile is theirs to read and change")
    func profile() async throws {
        try await PluginTestHost.with(plugins: [.built("auth"), .built("workspace"), .built("user")], hostTokens: true) { host in
            let registered = try await host.client.post(
                "/api/v1/auth/register", json: #"{"email":"ada@example.com","password":"correct horse battery","display_name":"Ada Lovelace"}"#)
            let token = try #require(try registered.json()["access_token"] as? String)
            let me = try await host.client.get("/api/v1/users/me", token: token)
            #expect(try me.json()["display_name"] as? String == "Ada Lovelace")
            let patched = try await host.client.send("PATCH", "/api/v1/users/me", body: .init(#"{"title":"Analyst"}"#.utf8), token: token)
            #expect(try patched.json()["title"] as? String == "Analyst")
        }
    }
}
