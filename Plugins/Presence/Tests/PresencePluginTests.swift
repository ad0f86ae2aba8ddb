import QuikTesting
import Testing

@Suite("presence plugin")
struct PresencePluginTests {
    @Test("a user with an open socket shows online")
    func onlineWithASocket() async throws {
        try await PluginTestHost.with(plugins: [.built("workspace"), .built("presence")]) { host in
            let socket = host.socket(as: "ada")
            try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            var status: String?
            for _ in 0..<50 {
                let reply = try await host.client.get("/api/v1/presence?user_ids=ada", token: host.token(for: "ada"))
                status = (try reply.jsonArray().first as? [String: Any])?["status"] as? String
                if status == "online" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == "online")
        }
    }
}
