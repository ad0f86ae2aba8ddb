import Foundation
import QuikTesting
import Testing

@Suite("reminders plugin")
struct RemindersPluginTests {
    @Test("a reminder set for two seconds from now fires on its owner's socket and shows as fired")
    func firesOnTime() async throws {
        try await PluginTestHost.with(plugins: [.built("workspace"), .built("channel"), .built("message"), .built("reminders")]) { host in
            let ada = host.token(for: "ada")
            let socket = host.socket(as: "ada")
            try await socket.waitFor("hello") { $0["type"] as? String == "hello" }
            let created = try await host.client.post("/api/v1/reminders", json: #"{"text":"stretch","time":"in 0 minutes"}"#, token: ada)
            #expect(created.status == 422, "now is not in the future")
            let at = ISO8601DateFormatter().string(from: Date().addingTimeInterval(2))
            let reminder = try await host.client.post("/api/v1/reminders", json: #"{"text":"stretch","time":"\#(at)"}"#, token: ada).json()
            #expect(reminder["state"] as? String == "pending")
            let fired = try await socket.waitFor("reminder.fired", timeout: .seconds(6)) { $0["topic"] as? String == "reminder.fired" }
            #expect((fired["data"] as? [String: Any])?["id"] as? String == reminder["id"] as? String)
            let listed = try await host.client.get("/api/v1/reminders", token: ada).json()["items"] as? [[String: Any]]
            #expect(listed?.first?["state"] as? String == "fired")
        }
    }
}
