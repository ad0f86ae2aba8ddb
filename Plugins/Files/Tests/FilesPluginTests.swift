import Foundation
import QuikTesting
import Testing

@Suite("files plugin")
struct FilesPluginTests {
    @Test("a workspace member uploads raw bytes and reads them back, whole and by range")
    func uploadAndRead() async throws {
        try await PluginTestHost.with(plugins: [.built("workspace"), .built("channel"), .built("files")]) { host in
            let ada = host.token(for: "ada")
            let workspace = try await host.client.post("/api/v1/workspaces", json: #"{"name":"Engines","slug":"engines"}"#, token: ada).json()
            let id = try #require(workspace["id"] as? String)
            let uploaded = try await host.client.send(
                "POST", "/api/v1/files?workspace_id=\(id)&name=notes.txt", body: Data("analytical engine".utf8), token: ada,
                headers: ["Content-Type": "text/plain"])
            #expect(uploaded.status == 201)
            let file = try uploaded.json()
            let fileId = try #require(file["id"] as? String)
            #expect(file["size"] as? Int == 17)
            let whole = try await host.client.get("/api/v1/files/\(fileId)/content", token: ada)
            #expect(whole.text == "analytical engine")
            let part = try await host.client.get("/api/v1/files/\(fileId)/content", token: ada, headers: ["Range": "bytes=0-9"])
            #expect(part.status == 206)
            #expect(part.text == "analytical")
        }
    }
}
