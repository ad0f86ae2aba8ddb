import Foundation
import OpenAPIKit
import QuikHost
import Testing

@Suite("OpenAPI document", .timeLimit(.minutes(5)))
struct OpenAPITests {
    /// The checkout's root, for the Python tools `scripts/test` installs in `.build-venv`.
    static let root = Fixtures.packageRoot

    @Test("the document is valid OpenAPI 3.1, and every first-party operation declares its success response and its body")
    func validDocument() async throws {
        try await IdentityHost.with(IdentityHost.messaging + ["files"]) { identity in
            let data = try await identity.client.get("/api/v1/openapi.json").body
            let document = try JSONDecoder().decode(OpenAPI.Document.self, from: data)
            try document.validate()
            #expect(document.paths.count >= 50)
            var undocumented: [String] = []
            for (path, item) in document.paths {
                guard let item = item.pathItemValue else { continue }
                for endpoint in item.endpoints where endpoint.operation.tags?.contains("host") != true {
                    let name = "\(endpoint.method.rawValue) \(path.rawValue)"
                    let successes = endpoint.operation.responses.filter { $0.key.isSuccess }
                    if successes.isEmpty { undocumented.append("\(name): no success response") }
                    // 202 and 204 answer with no body, and so do HEAD and tus (its answers are headers).
                    let bodiless = endpoint.method.rawValue.uppercased() == "HEAD" || path.rawValue.hasPrefix("/api/v1/files/uploads")
                    for (status, response) in successes where !["202", "204"].contains(status.rawValue) && !bodiless {
                        if response.responseValue?.content.isEmpty != false { undocumented.append("\(name) \(status.rawValue): no schema") }
                    }
                    if endpoint.operation.responses[.default] == nil { undocumented.append("\(name): no error envelope") }
                }
            }
            #expect(undocumented.isEmpty, "\(undocumented.sorted())")
        }
    }

    @Test("schemathesis, driven by the document with a valid token, finds no 5xx, no response outside its schema and no schema-valid request refused")
    func schemaDrivenFuzzing() async throws {
        let schemathesis = Self.root + "/.build-venv/bin/schemathesis"
        guard FileManager.default.isExecutableFile(atPath: schemathesis) else {
            throw TestFailure("\(schemathesis) is missing: scripts/test installs it (pip install schemathesis into .build-venv)")
        }
        try await IdentityHost.with(IdentityHost.messaging + ["files"]) { identity in
            let user = try await identity.register("fuzz")
            let (status, output) = try await runProgram(schemathesis, [
                "run", "http://127.0.0.1:\(identity.test.port)/api/v1/openapi.json",
                "--header", "Authorization: Bearer \(user.access)",
                // Every check but one: a method a path does not serve answers 404, as the contract says, not 405.
                "--checks", "all", "--exclude-checks", "unsupported_method",
                "--max-examples", "10", "--workers", "1", "--seed", "1",
                "--exclude-path", "/api/v1/realtime", "--exclude-path", "/metrics",
                // tus answers a missing Tus-Resumable with 412, as its protocol says (schemathesis expects a 4xx it knows);
                // tuspy and FilesTests.tusErrors drive those routes instead.
                "--exclude-path-regex", "^/api/v1/files/uploads",
            ])
            #expect(status == 0, "\(output.suffix(6000))")
            #expect(output.contains("passed"), "\(output.suffix(2000))")
        }
    }

    @Test("schemathesis on the search, reminders, scheduled and notifications routes, in a workspace with messages: no 5xx, no response outside its schema")
    func schemaDrivenFuzzingOfSearchAndLater() async throws {
        let schemathesis = Self.root + "/.build-venv/bin/schemathesis"
        guard FileManager.default.isExecutableFile(atPath: schemathesis) else {
            throw TestFailure("\(schemathesis) is missing: scripts/test installs it (pip install schemathesis into .build-venv)")
        }
        try await IdentityHost.with(IdentityHost.messaging + ["files", "search", "reminders", "scheduled", "notifications"]) { chat in
            let user = try await chat.register("fuzz")
            // A workspace of the caller's with messages, so queries get past 404 to the engine.
            let workspace = try await chat.workspace(owner: user, members: [])
            let general = try await chat.channel(workspace, "general", by: user)
            for text in ["weaving patterns", "engine notes https://example.org", "loom budget"] {
                _ = try chat.json(try await chat.post(general, text, by: user), 201, "post")
            }
            let config = try Fixtures.temporaryDirectory() + "/schemathesis.toml"
            try "[parameters]\n\"query.workspace_id\" = \"\(workspace)\"\n\"query.channel_id\" = \"\(general)\"\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            // Search with every check; reminders and scheduled messages without the one that wants every
            // schema-valid request accepted: a time in the past is valid RFC 3339 and still refused (422).
            // Notifications likewise: a valid-looking time in the past, or subscription keys that are not a curve point, are 422.
            for (paths, excluded) in [
                ("search", "unsupported_method"), ("reminders|scheduled|notifications", "unsupported_method,positive_data_acceptance"),
            ] {
                let (status, output) = try await runProgram(schemathesis, [
                    "--config-file", config,
                    "run", "http://127.0.0.1:\(chat.test.port)/api/v1/openapi.json",
                    "--header", "Authorization: Bearer \(user.access)",
                    "--checks", "all", "--exclude-checks", excluded,
                    "--max-examples", "40", "--workers", "1", "--seed", "1",
                    "--include-path-regex", "^/api/v1/(\(paths))",
                ])
                #expect(status == 0, "\(paths): \(output.suffix(6000))")
                #expect(output.contains("passed"), "\(output.suffix(2000))")
            }
        }
    }
}
