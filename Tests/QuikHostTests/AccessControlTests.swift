import Foundation
import QuikSDK
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

/// RBAC as the host keeps it and the permission, user and admin plugins administer it.
@Suite("Access control", .serialized, .timeLimit(.minutes(3)))
struct AccessControlTests {
    @Test("a member calling admin endpoints gets 403; an admin gets 200")
    func memberIsForbidden() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let root = try await identity.admin()
            for path in ["/api/v1/audit", "/api/v1/audit/verify", "/api/v1/admin/users", "/api/v1/admin/plugins"] {
                let denied = try await identity.client.get(path, token: ada.access)
                #expect(denied.status == 403, "\(path)")
                #expect(denied.errorCode == "forbidden")
                #expect(try await identity.client.get(path, token: root.access).status == 200, "\(path)")
            }
            let escalate = try await identity.client.post(
                "/api/v1/permissions/assignments", json: #"{"user_id":"\#(ada.id)","role":"admin","scope":"system"}"#, token: ada.access)
            #expect(escalate.status == 403)
        }
    }

    @Test("a role change takes effect on the very next request, both ways")
    func roleChangeIsImmediate() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let root = try await identity.admin()
            let client = identity.client
            // Warm the cache with a denial first, so a stale entry would show.
            #expect(try await client.get("/api/v1/audit", token: ada.access).status == 403)
            let grant = try await client.post(
                "/api/v1/permissions/assignments", json: #"{"user_id":"\#(ada.id)","role":"admin","scope":"system"}"#, token: root.access)
            #expect(grant.status == 201)
            #expect(try await client.get("/api/v1/audit", token: ada.access).status == 200)
            let revoke = try await client.send(
                "DELETE", "/api/v1/permissions/assignments?user_id=\(ada.id)&role=admin&scope=system", token: root.access)
            #expect(revoke.status == 204)
            #expect(try await client.get("/api/v1/audit", token: ada.access).status == 403)
        }
    }

    @Test("workspace roles apply in their workspace only; a custom role grants exactly its permissions")
    func workspaceScopes() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let bob = try await identity.register("Bob")
            let cyd = try await identity.register("Cyd")
            let root = try await identity.admin()
            let client = identity.client
            let w1 = try await identity.workspace(owner: ada, members: [bob])
            let w2 = try await identity.workspace(owner: cyd, members: [])
            let assign = { (user: String, role: String, scope: String, token: String) in
                try await client.post(
                    "/api/v1/permissions/assignments", json: #"{"user_id":"\#(user)","role":"\#(role)","scope":"\#(scope)"}"#, token: token)
            }
            #expect(try await client.get("/api/v1/permissions/roles?scope=workspace:\(w1)", token: ada.access).status == 200)
            #expect(try await client.get("/api/v1/permissions/roles?scope=workspace:\(w2)", token: ada.access).status == 403)
            #expect(try await client.get("/api/v1/permissions/roles?scope=system", token: ada.access).status == 403)

            // Ada, the owner, defines a custom role in her workspace and gives it to Bob.
            let defined = try await client.post(
                "/api/v1/permissions/roles", json: #"{"scope":"workspace:\#(w1)","name":"role-keepers","permissions":["roles.manage"]}"#,
                token: ada.access)
            #expect(defined.status == 201)
            #expect(try await client.post(
                "/api/v1/permissions/roles", json: #"{"scope":"workspace:\#(w2)","name":"x","permissions":["roles.manage"]}"#, token: ada.access
            ).status == 403)
            #expect(try await client.post(
                "/api/v1/permissions/roles", json: #"{"scope":"workspace:\#(w1)","name":"bad","permissions":["no.such"]}"#, token: ada.access
            ).status == 422)
            #expect(try await client.get("/api/v1/permissions/roles?scope=workspace:\(w1)", token: bob.access).status == 403)
            #expect(try await assign(bob.id, "role-keepers", "workspace:\(w1)", ada.access).status == 201)
            #expect(try await client.get("/api/v1/permissions/roles?scope=workspace:\(w1)", token: bob.access).status == 200)
            #expect(try await client.get("/api/v1/permissions/roles?scope=workspace:\(w2)", token: bob.access).status == 403)
            #expect(try await assign(bob.id, "no-such-role", "workspace:\(w1)", ada.access).status == 422)

            let roles = try await client.get("/api/v1/permissions/roles?scope=workspace:\(w1)", token: root.access)
            let names = (try roles.json()["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(names == ["owner", "admin", "member", "guest", "role-keepers"])
            let permissions = try await client.get("/api/v1/permissions", token: bob.access)
            let declared = (try permissions.json()["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(Set(declared).isSuperset(of: ["roles.manage", "audit.read", "users.deactivate", "admin.users"]))
        }
    }

    @Test("the permissions API cannot raise anyone: membership roles only through the workspace API, grants only of what the granter holds, no system permissions in a workspace, only to members, and nothing kept after removal")
    func noEscalation() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let bob = try await identity.register("Bob")
            let cyd = try await identity.register("Cyd")
            let dan = try await identity.register("Dan")
            let eve = try await identity.register("Eve")
            let client = identity.client
            let workspace = try await identity.workspace(owner: ada, members: [bob, cyd, dan])
            let scope = "workspace:\(workspace)"
            let assign = { (user: String, role: String, token: String) in
                try await client.post(
                    "/api/v1/permissions/assignments", json: #"{"user_id":"\#(user)","role":"\#(role)","scope":"\#(scope)"}"#, token: token)
            }
            let define = { (name: String, permissions: String, token: String) in
                try await client.post(
                    "/api/v1/permissions/roles", json: #"{"scope":"\#(scope)","name":"\#(name)","permissions":[\#(permissions)]}"#, token: token)
            }
            let promoted = try await client.send(
                "PATCH", "/api/v1/workspaces/\(workspace)/members/\(bob.id)", body: Data(#"{"role":"admin"}"#.utf8), token: ada.access)
            #expect(promoted.status == 200)

            // Bob, a workspace admin, can neither crown himself nor depose the owner.
            #expect(try await assign(bob.id, "owner", bob.access).status == 409)
            let depose = try await client.send(
                "DELETE", "/api/v1/permissions/assignments?user_id=\(ada.id)&role=owner&scope=\(scope)", token: bob.access)
            #expect(depose.status == 409)
            #expect(try await assign(cyd.id, "admin", bob.access).status == 409, "membership roles change through the workspace API")
            let members = try await client.get("/api/v1/workspaces/\(workspace)/members", token: ada.access).json()
            let roles = Dictionary(
                uniqueKeysWithValues: (members["items"] as? [[String: Any]] ?? []).compactMap { row in
                    (row["user_id"] as? String).map { ($0, row["role"] as? String ?? "") }
                })
            #expect(roles[ada.id] == "owner")
            #expect(roles[bob.id] == "admin")

            // No system permission in a workspace role.
            let systemOnly = try await define("auditors", #""audit.read""#, ada.access)
            #expect(systemOnly.status == 422)
            #expect(systemOnly.text.contains("system-only"))

            // A granter gives only what it holds.
            #expect(try await define("keepers", #""roles.manage""#, ada.access).status == 201)
            #expect(try await define("managers", #""workspaces.manage_members""#, ada.access).status == 201)
            #expect(try await assign(cyd.id, "keepers", ada.access).status == 201)
            let beyond = try await assign(dan.id, "managers", cyd.access)
            #expect(beyond.status == 403, "Cyd holds roles.manage but not workspaces.manage_members")
            #expect(try await define("more", #""workspaces.invite""#, cyd.access).status == 403)

            // Only members receive a workspace's roles.
            #expect(try await assign(eve.id, "keepers", ada.access).status == 409)

            // Removed from the workspace, Cyd keeps nothing there.
            #expect(try await client.get("/api/v1/permissions/assignments?scope=\(scope)", token: cyd.access).status == 200)
            let removed = try await client.send("DELETE", "/api/v1/workspaces/\(workspace)/members/\(cyd.id)", token: ada.access)
            #expect(removed.status == 204)
            #expect(try await client.get("/api/v1/permissions/assignments?scope=\(scope)", token: cyd.access).status == 403)
            #expect(try await assign(dan.id, "keepers", cyd.access).status == 403)
            let left = try await client.get("/api/v1/permissions/assignments?user_id=\(cyd.id)", token: cyd.access).json()
            #expect((left["items"] as? [[String: Any]])?.contains { ($0["scope"] as? String) == scope } == false)
        }
    }

    @Test("a role change is written with its access event in the host's outbox, and the relay delivers it")
    func roleChangesAreDurable() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let root = try await identity.admin()
            let grant = try await identity.client.post(
                "/api/v1/permissions/assignments", json: #"{"user_id":"\#(ada.id)","role":"admin","scope":"system"}"#,
                token: root.access)
            #expect(grant.status == 201)
            let hostSchema = identity.host.configuration.database.hostSchema
            let admin = try await TestDatabase.adminPool(maxConnections: 1)
            try await identity.eventually("the outbox row delivered") {
                let rows = try await admin.withConnection { connection in
                    try await connection.perform(
                        "SELECT payload, delivered_at FROM `\(hostSchema)`.`_quik_outbox` WHERE topic = 'access.role_assigned'", []
                    ).0
                }
                return rows.contains { row in
                    !row["delivered_at"].isNull && String(decoding: row["payload"].data ?? Data(), as: UTF8.self).contains(ada.id)
                }
            }
            await admin.close(timeout: .seconds(1))
        }
    }

    @Test("a member's workspace role missing from RBAC (a crash between the two writes) is restored when the workspace plugin starts")
    func workspaceRolesAreMended() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { chat in
            let ada = try await chat.register("Ada")
            let workspace = try await chat.workspace(owner: ada, members: [])
            let hostSchema = chat.host.configuration.database.hostSchema
            let admin = try await TestDatabase.adminPool(maxConnections: 1)
            let held = {
                try await admin.withConnection { connection in
                    try await connection.perform(
                        "SELECT role FROM `\(hostSchema)`.role_assignments WHERE user_id = ? AND scope = ?",
                        [.text(ada.id), .text("workspace:\(workspace)")]
                    ).0.compactMap { $0["role"].string }
                }
            }
            #expect(try await held() == ["owner"])
            try await admin.withConnection { connection in
                _ = try await connection.perform(
                    "DELETE FROM `\(hostSchema)`.role_assignments WHERE user_id = ? AND scope = ?", [.text(ada.id), .text("workspace:\(workspace)")])
            }
            _ = try await chat.host.reload("workspace")
            #expect(try await held() == ["owner"])
            await admin.close(timeout: .seconds(1))
        }
    }

    @Test("the last system admin cannot be removed")
    func lastAdminStays() async throws {
        try await IdentityHost.with { identity in
            let root = try await identity.admin()
            let removal = try await identity.client.send(
                "DELETE", "/api/v1/permissions/assignments?user_id=\(root.id)&role=admin&scope=system", token: root.access)
            #expect(removal.status == 409)
        }
    }

    @Test("deactivation refuses the user's tokens with 401, closes their sockets with 4401, ends their sessions; reactivation lets them back")
    func deactivation() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let root = try await identity.admin()
            let client = identity.client
            let socket = TestSocket(port: identity.test.port, token: ada.access)
            try await socket.waitFor("hello") { $0["type"] as? String == "hello" }

            let off = try await client.post("/api/v1/admin/users/\(ada.id)/deactivate", token: root.access)
            #expect(off.status == 200)
            #expect(try off.json()["deactivated"] as? Bool == true)
            #expect(try await client.get("/api/v1/users/me", token: ada.access).status == 401)
            #expect(try await socket.closed.value == 4401)
            let reconnect = TestSocket(port: identity.test.port, token: ada.access)
            #expect(try await reconnect.closed.value == 4401)
            #expect(try await identity.login(ada.email, ada.password).status == 401)
            try await identity.eventually("sessions revoked") {
                try await client.post("/api/v1/auth/refresh", json: #"{"refresh_token":"\#(ada.refresh)"}"#).status == 401
            }
            #expect(try await client.post("/api/v1/admin/users/\(root.id)/deactivate", token: ada.access).status == 401)

            let on = try await client.post("/api/v1/admin/users/\(ada.id)/reactivate", token: root.access)
            #expect(on.status == 200)
            let back = try await identity.login(ada.email, ada.password)
            #expect(back.status == 200)
            let list = try await client.get("/api/v1/admin/users?query=ada", token: root.access)
            let items = try #require(try list.json()["items"] as? [[String: Any]])
            #expect(items.map { $0["email"] as? String } == [ada.email])
        }
    }

    @Test("profiles: the user and admins see the email, others do not; search by name or email prefix; unknown ids 404")
    func profiles() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("Ada")
            let bob = try await identity.register("Bob")
            let root = try await identity.admin()
            _ = try await identity.workspace(owner: ada, members: [bob])
            let client = identity.client
            let patched = try await client.send(
                "PATCH", "/api/v1/users/me", body: Data(#"{"title":"Engineer","timezone":"Europe/London","status_emoji":":ship:"}"#.utf8),
                token: ada.access)
            #expect(patched.status == 200)
            #expect(try patched.json()["title"] as? String == "Engineer")
            let badZone = try await client.send(
                "PATCH", "/api/v1/users/me", body: Data(#"{"timezone":"Mars/Olympus"}"#.utf8), token: ada.access)
            #expect(badZone.status == 422)

            let seenByBob = try await client.get("/api/v1/users/\(ada.id)", token: bob.access)
            #expect(seenByBob.status == 200)
            #expect(try seenByBob.json()["email"] == nil)
            #expect(try seenByBob.json()["timezone"] as? String == "Europe/London")
            #expect(try await client.get("/api/v1/users/\(ada.id)", token: root.access).json()["email"] as? String == ada.email)
            #expect(try await client.get("/api/v1/users/U000nosuchuser", token: bob.access).status == 404)

            let byName = try await client.get("/api/v1/users?query=ad", token: bob.access)
            #expect((try byName.json()["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [ada.id])
            let byEmail = try await client.get("/api/v1/users?query=\(bob.email.prefix(6))", token: root.access)
            #expect((try byEmail.json()["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [bob.id])
            let notByEmail = try await client.get("/api/v1/users?query=\(bob.email.prefix(6))", token: ada.access)
            #expect((try notByEmail.json()["items"] as? [[String: Any]])?.isEmpty == true, "only admins find people by email")
        }
    }

    @Test("the directory is closed to strangers: a profile, a search hit and a presence answer only for people sharing a workspace; system admins see all")
    func strangersSeeNobody() async throws {
        try await IdentityHost.with(IdentityHost.messaging) { identity in
            let ada = try await identity.register("ada", displayName: "Ada Lovelace")
            let bob = try await identity.register("bob", displayName: "Bob Lovelace")
            let sam = try await identity.register("sam", displayName: "Sam Stranger")
            let root = try await identity.admin()
            let client = identity.client
            _ = try await identity.workspace(owner: ada, members: [bob])
            func ids(_ query: String, _ token: String) async throws -> [String] {
                let reply = try await client.get("/api/v1/users?query=\(query)", token: token)
                return (try reply.json()["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            }
            #expect(try await client.get("/api/v1/users/\(ada.id)", token: bob.access).status == 200)
            #expect(try await client.get("/api/v1/users/\(ada.id)", token: sam.access).status == 404)
            #expect(try await client.get("/api/v1/users/\(sam.id)", token: ada.access).status == 404)
            #expect(try await client.get("/api/v1/users/\(sam.id)", token: sam.access).status == 200)
            #expect(try await client.get("/api/v1/users/\(sam.id)", token: root.access).status == 200)
            #expect(try await ids("lovelace", bob.access) == [ada.id, bob.id])
            #expect(try await ids("lovelace", sam.access).isEmpty)
            #expect(try await ids("", sam.access) == [sam.id], "an empty query lists only whom one may see")
            #expect(Set(try await ids("lovelace", root.access)) == [ada.id, bob.id])
            #expect(try await client.get("/api/v1/presence?user_ids=\(ada.id)", token: bob.access).status == 200)
            #expect(try await client.get("/api/v1/presence?user_ids=\(ada.id)", token: sam.access).status == 404)
            #expect(try await client.get("/api/v1/presence?user_ids=\(sam.id),\(ada.id)", token: sam.access).status == 404)
        }
    }

    @Test("user search matches a prefix of any word of the name, ignoring case and accents, and pages with limit and next_cursor")
    func searchByWordPrefix() async throws {
        try await IdentityHost.with { identity in
            let ada = try await identity.register("ada", displayName: "Ada Lovelace")
            let zoe = try await identity.register("zoe", displayName: "Zoë Ångström-Lovelace")
            let grace = try await identity.register("grace", displayName: "Grace Hopper")
            _ = try await identity.register("ann", displayName: "Ann Lovelace")
            _ = try await identity.workspace(owner: grace, members: [ada, zoe])
            let client = identity.client
            func ids(_ query: String, token: String = grace.access) async throws -> [String] {
                let reply = try await client.get("/api/v1/users?query=\(query)", token: token)
                return (try reply.json()["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            }
            #expect(try await ids("lovelace") == [ada.id, zoe.id])
            #expect(try await ids("LOVE") == [ada.id, zoe.id])
            #expect(try await ids("zoe") == [zoe.id])
            #expect(try await ids("angstr") == [zoe.id])
            #expect(try await ids("%C3%85ngstr%C3%B6m") == [zoe.id], "accented query, percent-encoded")
            #expect(try await ids("ada%20love") == [ada.id], "every query word must start a word")
            #expect(try await ids("ovelace").isEmpty, "a word's middle is not a prefix")
            #expect(try await ids("lovelace", token: ada.access).contains(ada.id))

            let first = try await client.get("/api/v1/users?query=lovelace&limit=1", token: grace.access).json()
            #expect((first["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [ada.id])
            let cursor = try #require(first["next_cursor"] as? String)
            let second = try await client.get("/api/v1/users?query=lovelace&limit=1&cursor=\(cursor)", token: grace.access).json()
            #expect((second["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [zoe.id])
            #expect(second["next_cursor"] is NSNull)
        }
    }
}
