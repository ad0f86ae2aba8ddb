import QuikTesting
import Testing

@Suite("permission plugin")
struct PermissionPluginTests {
    @Test("the catalogue lists the permissions the running plugins declare")
    func catalogue() async throws {
        try await PluginTestHost.with(plugins: [.built("permission")]) { host in
            let reply = try await host.client.get("/api/v1/permissions", token: host.token(for: "ada"))
            #expect(reply.status == 200)
            let names = (try reply.json()["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(names.contains("roles.manage"))
        }
    }
}
