import QuikTesting
import Testing

@Suite("audit plugin")
struct AuditPluginTests {
    @Test("the audit log is closed to ordinary users")
    func membersRefused() async throws {
        try await PluginTestHost.with(plugins: [.built("audit")]) { host in
            let member = try await host.client.get("/api/v1/audit", token: host.token(for: "ada"))
            let anonymous = try await host.client.get("/api/v1/audit")
            #expect(member.status == 403)
            #expect(anonymous.status == 401)
        }
    }
}
