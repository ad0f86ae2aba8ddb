import Foundation
import QuikSDK
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// The audit plugin's log: what it records, how admins query it, and its hash chain.
@Suite("Audit log", .serialized, .timeLimit(.minutes(3)))
struct AuditTests {
    static func records(_ identity: IdentityHost, _ token: String, _ query: String = "") async throws -> [[String: Any]] {
        let reply = try await identity.client.get("/api/v1/audit?limit=200\(query)", token: token)
        guard reply.status == 200 else { throw TestFailure("audit: \(reply.status) \(reply.text)") }
        return try reply.json()["items"] as? [[String: Any]] ?? []
    }

    @Test("sign-ins, failures, token reuse, role changes, deactivations and plugin loads are recorded and filterable")
    func recordsSecurityEvents() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let root = try await identity.admin()
            let client = identity.client
            _ = try await identity.login(ada.email, "wrong password!!")
            _ = try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#)
            _ = try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#)
            _ = try await client.post("/api/v1/admin/users/\(ada.id)/deactivate", token: root.access)
            let expected: Set<String> = [
                "host.plugin_loaded", "auth.user_registered", "auth.login_succeeded", "auth.login_failed", "auth.token_reuse_detected",
                "access.role_assigned", "access.user_deactivated",
            ]
            try await identity.eventually("every kind of event in the log") {
                let actions = Set(try await Self.records(identity, root.access).compactMap { $0["action"] as? String })
                return actions.isSuperset(of: expected)
            }
            let failures = try await Self.records(identity, root.access, "&action=auth.login_failed")
            #expect(failures.count == 1)
            #expect(failures.first?["target"] as? String == ada.id)
            #expect(failures.first?["ip"] as? String == "127.0.0.1")
            let byRoot = try await Self.records(identity, root.access, "&actor=\(root.id)")
            #expect(byRoot.contains { $0["action"] as? String == "access.user_deactivated" })
            #expect(byRoot.allSatisfy { $0["actor"] as? String == root.id })
            let future = QuikTime.format(Date().addingTimeInterval(3600))
            #expect(try await Self.records(identity, root.access, "&since=\(future)").isEmpty)
            let loads = try await Self.records(identity, root.access, "&action=host.*")
            #expect(Set(loads.compactMap { $0["target"] as? String }) == Set(IdentityHost.plugins))
        }
    }

    @Test("verify passes on an intact chain and names the record edited, or removed, directly in MySQL")
    func verifyDetectsTampering() async throws {
        try await IdentityHost.with { identity in
            let root = try await identity.admin()
            for _ in 0..<3 { _ = try await identity.login(root.email, "wrong password!!") }
            try await identity.eventually("failures recorded") {
                try await Self.records(identity, root.access, "&action=auth.login_failed").count == 3
            }
            let intact = try await identity.client.get("/api/v1/audit/verify", token: root.access).json()
            #expect(intact["ok"] as? Bool == true)
            let checked = try #require(intact["checked"] as? Int)
            #expect(checked >= 8)

            let schema = identity.host.configuration.database.schema(for: "audit")
            let admin = try await TestDatabase.adminPool(maxConnections: 1)
            let victim = try #require(try await Self.records(identity, root.access, "&action=auth.login_failed").last?["seq"] as? Int)
            try await admin.withConnection { connection in
                _ = try await connection.perform(
                    "UPDATE `\(schema)`.audit_log SET ip = '10.0.0.1' WHERE seq = ?", [.int(Int64(victim))])
            }
            let edited = try await identity.client.get("/api/v1/audit/verify", token: root.access).json()
            #expect(edited["ok"] as? Bool == false)
            #expect(edited["broken_at"] as? Int == victim)
            #expect((edited["reason"] as? String)?.contains("altered") == true)

            try await admin.withConnection { connection in
                _ = try await connection.perform(
                    "UPDATE `\(schema)`.audit_log SET ip = '127.0.0.1' WHERE seq = ?", [.int(Int64(victim))])
                _ = try await connection.perform("DELETE FROM `\(schema)`.audit_log WHERE seq = ?", [.int(Int64(victim + 1))])
            }
            let removed = try await identity.client.get("/api/v1/audit/verify", token: root.access).json()
            #expect(removed["ok"] as? Bool == false)
            #expect(removed["broken_at"] as? Int == victim + 1)
            #expect((removed["reason"] as? String)?.contains("missing") == true)
            await admin.close(timeout: .seconds(1))
        }
    }
}
