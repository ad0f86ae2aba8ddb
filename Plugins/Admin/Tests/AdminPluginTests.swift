import QuikTesting
import Testing

@Suite("admin plugin")
struct AdminPluginTests {
    @Test("user administration is closed to ordinary users")
    func membersRefused() async throws {
        try await PluginTestHost.with(plugins: [.built("auth"), .built("workspace"), .built("user"), .built("admin")]) { host in
            let member = try await host.client.get("/api/v1/admin/users", token: host.token(for: "ada"))
            #expect(member.status == 403)
        }
    }
}
