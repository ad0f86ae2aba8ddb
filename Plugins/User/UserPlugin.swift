import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `user` plugin: profiles (made when `auth` registers someone), search and deactivation.
public final class UserPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "user", version: "1.0.0", mount: "users", dependencies: ["auth", "workspace"],
            capabilities: PluginCapabilities(database: true, publishes: ["user"]),
            summary: "User profiles, search and deactivation",
            permissions: [
                PermissionSpec("users.deactivate", summary: "Deactivate and reactivate users (system admins)"),
                PermissionSpec("users.view_email", summary: "See other users' email addresses (system admins)"),
            ])
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "profiles", statements: [
                """
                CREATE TABLE profiles (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  email VARCHAR(254) NOT NULL,
                  display_name VARCHAR(100) NOT NULL,
                  title VARCHAR(100) NOT NULL DEFAULT '',
                  timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
                  status_text VARCHAR(100) NOT NULL DEFAULT '',
                  status_emoji VARCHAR(64) NOT NULL DEFAULT '',
                  created_at DATETIME(3) NOT NULL,
                  deactivated TINYINT(1) NOT NULL DEFAULT 0,
                  KEY by_name (display_name),
                  KEY by_email (email)
                )
                """
            ]),
            // Search keys: folded name words and email local part (filled in at setup for older rows).
            Migration(version: 2, name: "search keys", statements: [
                "ALTER TABLE profiles ADD COLUMN name_words VARCHAR(400) NULL, ADD COLUMN email_local VARCHAR(254) NULL"
            ]),
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let directory = UserDirectory(context: context, database: try context.requireDatabase())
        try await directory.fillSearchKeys()

        try context.subscribe("auth.user_registered") { event in
            guard let registered = try? JSONDecoder.quik.decode(Registered.self, from: event.payload) else { return }
            do {
                try await directory.ensureProfile(registered.userId, known: registered)
            } catch {
                context.logger.error("profile not created", metadata: ["user_id": registered.userId, "error": "\(error)"])
            }
        }

        let profile = APISchema.decoding(Profile.self)
        try context.addRoute(.get, "/me", options: RouteOptions(summary: "The caller's profile").documented(response: profile)) { request in
            let principal = try request.requirePrincipal()
            return try .json(try await directory.profile(principal.userId, viewer: principal, createIfMissing: true))
        }
        let patch = RouteOptions(summary: "Change the caller's profile").documented(body: ProfilePatch.schema, response: profile)
        try context.addRoute(.patch, "/me", options: patch) { request in
            let principal = try request.requirePrincipal()
            return try .json(try await directory.update(principal, with: try request.decode(ProfilePatch.self)))
        }
        try context.addRoute(.get, "/{id}", options: RouteOptions(summary: "One user; 404 unless the caller shares a workspace with them (system admins see all)").documented(response: profile)) { request in
            let principal = try request.requirePrincipal()
            return try .json(try await directory.visibleProfile(try request.parameter("id"), viewer: principal))
        }
        let search = RouteOptions(summary: "Search users: each query word starts a word of the name (or, for admins, the email)")
            .documented(
                query: [
                    .query("query", .string, "Words that each start a word of the name (admins: or of the email)"),
                    .query("limit", .integer(minimum: 1, maximum: 200), "Users per page (default 50)"),
                    .query("cursor", .string, "The next_cursor of the page before"),
                ],
                response: .list(of: profile))
        try context.addRoute(.get, "/", options: search) { request in
            let principal = try request.requirePrincipal()
            let page = try Page(request)
            return try .json(try await directory.search(request.query("query"), page: page, viewer: principal))
        }
        for (path, deactivated) in [("/{id}/deactivate", true), ("/{id}/reactivate", false)] {
            let options = RouteOptions(summary: deactivated ? "Deactivate a user (admins)" : "Reactivate a user (admins)").documented(
                response: profile)
            try context.addRoute(.post, path, options: options) { request in
                let principal = try request.requirePrincipal()
                try await context.require("users.deactivate", in: .system, for: principal)
                return try .json(try await directory.setDeactivated(deactivated, userId: try request.parameter("id"), actor: principal))
            }
        }

        try context.provideService("contacts") { call in
            guard call.caller == "notifications" else { throw PluginError(.forbidden, "only the notifications plugin reads addresses") }
            return try JSONEncoder.quik.encode(try await directory.contacts(try JSONDecoder.quik.decode(ContactsQuery.self, from: call.payload)))
        }
        try context.provideService("lookup") { call in
            try JSONEncoder.quik.encode(try await directory.lookup(try JSONDecoder.quik.decode(UserLookup.self, from: call.payload)))
        }
        try context.provideService("list") { call in
            guard call.caller == "admin" else { throw PluginError(.forbidden, "only the admin plugin lists users this way") }
            let request = try JSONDecoder.quik.decode(UserListRequest.self, from: call.payload)
            return try JSONEncoder.quik.encode(try await directory.list(request, showEmail: true))
        }
        try context.provideService("set_deactivated") { call in
            guard call.caller == "admin" else { throw PluginError(.forbidden, "only the admin plugin deactivates users this way") }
            let request = try JSONDecoder.quik.decode(DeactivationRequest.self, from: call.payload)
            let actor = Principal(userId: request.actor ?? "host", roles: ["admin"])
            return try JSONEncoder.quik.encode(try await directory.setDeactivated(request.deactivated, userId: request.userId, actor: actor))
        }
    }
}
