import Foundation
import QuikTesting
import Testing

@Suite("calls plugin")
struct CallsPluginTests {
    @Test("without a TURN secret, clients get the STUN servers and no credentials")
    func stunOnly() async throws {
        let plugins: [TestPlugin] = [.built("workspace"), .built("channel"), .built("calls")]
        try await PluginTestHost.with(plugins: plugins) { host in
            let turn = try await host.client.get("/api/v1/calls/turn", token: host.token(for: "ada")).json()
            #expect(turn["urls"] as? [String] == [])
            #expect(turn["username"] is NSNull)
            #expect(turn["ttl_s"] as? Int == 3600)
        }
    }
}
