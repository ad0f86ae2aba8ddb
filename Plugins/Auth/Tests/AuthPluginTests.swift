import QuikTesting
import Testing

@Suite("auth plugin")
struct AuthPluginTests {
    @Test("register signs the new user in; the password signs in again; the access token lists the session")
    func registerAndLogin() async throws {
        try await PluginTestHost.with(plugins: [.built("auth")], hostTokens: true) { host in
            let body = #"{"email":"ada@example.com","password":"correct horse battery","display_name":"Ada"}"#
            let registered = try await host.client.post("/api/v1/auth/register", json: body)
            #expect(registered.status == 201)
            let login = try await host.client.post("/api/v1/auth/login", json: #"{"email":"ada@example.com","password":"correct horse battery"}"#)
            #expect(login.status == 200)
            let token = try #require(try login.json()["access_token"] as? String)
            let sessions = try await host.client.get("/api/v1/auth/sessions", token: token)
            #expect(sessions.status == 200)
            #expect(try await host.client.post("/api/v1/auth/login", json: #"{"email":"ada@example.com","password":"wrong one here"}"#).status == 401)
        }
    }
}
