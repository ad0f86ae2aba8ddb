import Foundation
import Testing
@testable import QuikRuntime

/// Link previews through the host's guarded outbound HTTP, against a real web server
/// on this machine (Python's http.server): `localhost` is allowed as an internal host,
/// `127.0.0.1` is not.
@Suite("Link previews")
struct LinkPreviewTests {
    static let root = Fixtures.packageRoot

    /// Starts the page server; returns its port, its request log and the process.
    static func pages() throws -> (port: Int, log: String, process: Process) {
        let log = try Fixtures.temporaryDirectory() + "/requests.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let (process, fields) = try PythonServer.start("pages.py", [log], what: "the page server")
        let port = Int(fields[0]) ?? 0
        return (port, log, process)
    }

    @Test("the first links of a message are previewed (Open Graph, else title and description) and sent as message.updated; loopback, a redirect to it and private addresses are never fetched")
    func previews() async throws {
        let server = try Self.pages()
        defer { server.process.terminate() }
        try await IdentityHost.with(IdentityHost.messaging, configure: { $0.outbound.allowedInternalHosts = ["localhost"] }) { chat in
            let ada = try await chat.register("Ada")
            let bob = try await chat.register("Bob")
            let workspace = try await chat.workspace(owner: ada, members: [bob])
            let general = try await chat.channel(workspace, "general", by: ada, adding: [bob])
            let bobSocket = try await chat.socket(bob)
            let base = "http://localhost:\(server.port)"
            let posted = try chat.json(try await chat.post(general, "see \(base)/page, and \(base)/plain.", by: ada), 201, "post")
            let id = try #require(posted["id"] as? String)
            #expect((posted["previews"] as? [Any])?.isEmpty == true, "previews come later")
            let updated = try await bobSocket.waitForEvent("message.updated", timeout: .seconds(10)) { $0["id"] as? String == id }
            let previews = try #require(updated["previews"] as? [[String: Any]])
            #expect(previews.count == 2)
            #expect(previews.first?["url"] as? String == "\(base)/page")
            #expect(previews.first?["title"] as? String == "The Analytical Engine & you")
            #expect(previews.first?["description"] as? String == "Notes by A. A. L.")
            #expect(previews.first?["image_url"] as? String == "\(base)/engine.png")
            #expect(previews.first?["site_name"] as? String == "Engines")
            #expect(previews.last?["title"] as? String == "Plain page")
            #expect(previews.last?["site_name"] is NSNull)
            let stored = try chat.json(try await chat.client.get("/api/v1/messages/\(id)", token: bob.access), 200, "read back")
            #expect((stored["previews"] as? [Any])?.count == 2)

            // Refused: by address, through a redirect, and a private address (never connected to).
            var refused: [String] = []
            for text in ["http://127.0.0.1:\(server.port)/page", "\(base)/to-loopback", "http://10.255.255.1/x", "http://[::1]:\(server.port)/page"] {
                refused.append(try #require(try chat.json(try await chat.post(general, text, by: ada), 201, "post \(text)")["id"] as? String))
            }
            try await Task.sleep(for: .seconds(2))
            for id in refused {
                let message = try chat.json(try await chat.client.get("/api/v1/messages/\(id)", token: bob.access), 200, "refused")
                #expect((message["previews"] as? [Any])?.isEmpty == true)
            }
            let requests = try String(contentsOfFile: server.log, encoding: .utf8).split(separator: "\n")
            #expect(requests.contains("localhost:\(server.port) /to-loopback"))
            #expect(!requests.contains { $0.hasPrefix("127.0.0.1") || $0.hasPrefix("[::1]") }, "\(requests)")
        }
    }

    @Test("the address policy: loopback, private, link-local, CGNAT, multicast, unspecified and mapped forms are internal; public addresses are not")
    func addressPolicy() {
        for address in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
            "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not an address",
        ] {
            #expect(AddressPolicy.isInternal(address), "\(address)")
        }
        for address in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            #expect(!AddressPolicy.isInternal(address), "\(address)")
        }
    }
}
