import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// The `auth` plugin: registration, sign-in, sessions, two-factor codes and password resets.
/// The host signs its access tokens; it keeps everything else in its own schema.
public final class AuthPlugin: QuikPlugin {
    public init() {}

    public var manifest: PluginManifest {
        PluginManifest(
            name: "auth", version: "1.0.0", mount: "auth",
            capabilities: PluginCapabilities(database: true, publishes: ["auth"]),
            settings: [
                SettingSpec(key: "argon2_memory_kib", kind: .integer, defaultValue: .int(19456), help: "Argon2id memory in KiB (OWASP: 19456)"),
                SettingSpec(key: "argon2_iterations", kind: .integer, defaultValue: .int(2), help: "Argon2id passes (OWASP: 2)"),
                SettingSpec(key: "argon2_parallelism", kind: .integer, defaultValue: .int(1), help: "Argon2id lanes"),
                SettingSpec(key: "public_url", kind: .string, defaultValue: .string("http://localhost:8080"), help: "Base of links in mail"),
                SettingSpec(
                    key: "max_failures_per_account", kind: .integer, defaultValue: .int(5),
                    help: "Failed sign-ins on one email from one address per window"),
                SettingSpec(key: "max_failures_per_ip", kind: .integer, defaultValue: .int(20), help: "Failed sign-ins per address per window"),
                SettingSpec(
                    key: "backoff_after_failures", kind: .integer, defaultValue: .int(10),
                    help: "Failed sign-ins on one email, from anywhere, before each try waits 1, 2, 4 … 60 s"),
                SettingSpec(key: "max_registrations_per_ip", kind: .integer, defaultValue: .int(20), help: "Accounts registered per address per hour"),
                SettingSpec(key: "max_resets_per_email", kind: .integer, defaultValue: .int(5), help: "Reset mails per email per 15 minutes"),
                SettingSpec(key: "max_resets_per_ip", kind: .integer, defaultValue: .int(20), help: "Reset mails per address per 15 minutes"),
                SettingSpec(key: "failure_window_s", kind: .integer, defaultValue: .int(900), help: "Throttling window in seconds"),
                SettingSpec(key: "refresh_ttl_days", kind: .integer, defaultValue: .int(30), help: "Refresh token lifetime"),
            ],
            summary: "Accounts, sign-in, sessions, two-factor authentication and password resets")
    }

    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "accounts_sessions_tokens", statements: [
                """
                CREATE TABLE accounts (
                  user_id VARCHAR(32) NOT NULL PRIMARY KEY,
                  email VARCHAR(254) NOT NULL,
                  password_hash VARCHAR(255) NOT NULL,
                  display_name VARCHAR(100) NOT NULL,
                  email_verified_at DATETIME(3) NULL,
                  totp_secret VARCHAR(64) NULL,
                  totp_pending VARCHAR(64) NULL,
                  totp_last_step BIGINT NULL,
                  created_at DATETIME(3) NOT NULL,
                  password_changed_at DATETIME(3) NOT NULL,
                  UNIQUE KEY by_email (email)
                )
                """,
                """
                CREATE TABLE sessions (
                  id VARCHAR(32) NOT NULL PRIMARY KEY,
                  user_id VARCHAR(32) NOT NULL,
                  device VARCHAR(200) NOT NULL,
                  ip VARCHAR(64) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  last_used_at DATETIME(3) NOT NULL,
                  revoked_at DATETIME(3) NULL,
                  revoked_reason VARCHAR(40) NULL,
                  KEY by_user (user_id, revoked_at)
                )
                """,
                """
                CREATE TABLE refresh_tokens (
                  token_hash CHAR(64) NOT NULL PRIMARY KEY,
                  session_id VARCHAR(32) NOT NULL,
                  issued_at DATETIME(3) NOT NULL,
                  expires_at DATETIME(3) NOT NULL,
                  used_at DATETIME(3) NULL,
                  KEY by_session (session_id)
                )
                """,
                """
                CREATE TABLE recovery_codes (
                  user_id VARCHAR(32) NOT NULL,
                  code_hash CHAR(64) NOT NULL,
                  used_at DATETIME(3) NULL,
                  PRIMARY KEY (user_id, code_hash)
                )
                """,
                """
                CREATE TABLE one_time_tokens (
                  token_hash CHAR(64) NOT NULL PRIMARY KEY,
                  user_id VARCHAR(32) NOT NULL,
                  purpose VARCHAR(16) NOT NULL,
                  created_at DATETIME(3) NOT NULL,
                  expires_at DATETIME(3) NOT NULL,
                  used_at DATETIME(3) NULL,
                  KEY by_user (user_id, purpose)
                )
                """,
            ])
        ]
    }

    public func setup(_ context: any PluginContext) async throws {
        let settings = context.settings
        func setting(_ key: String) -> Int { settings[key]?.intValue ?? 0 }
        let hasher = PasswordHasher(
            parameters: .init(
                memoryKiB: UInt32(clamping: max(8, setting("argon2_memory_kib"))), iterations: UInt32(clamping: max(1, setting("argon2_iterations"))),
                parallelism: UInt32(clamping: max(1, setting("argon2_parallelism")))))
        let throttle = LoginThrottle(
            limits: .init(
                perPair: max(1, setting("max_failures_per_account")), perAddress: max(1, setting("max_failures_per_ip")),
                backoffAfter: max(1, setting("backoff_after_failures")), window: TimeInterval(max(1, setting("failure_window_s")))))
        let limits = RequestLimits(
            registrationsPerAddress: max(1, setting("max_registrations_per_ip")), resetsPerEmail: max(1, setting("max_resets_per_email")),
            resetsPerAddress: max(1, setting("max_resets_per_ip")))
        let service = AuthService(
            context: context, database: try context.requireDatabase(), hasher: hasher, throttle: throttle, limits: limits,
            publicURL: settings["public_url"]?.stringValue ?? "http://localhost:8080",
            refreshLifetime: TimeInterval(max(1, setting("refresh_ttl_days")) * 86400),
            decoyHash: try await hasher.hash(Secrets.token()))
        try registerRoutes(context, service)

        try context.provideService("create_user") { call in
            guard call.caller == "host" || call.caller == "admin" else {
                throw PluginError(.forbidden, "only the host and the admin plugin create accounts this way")
            }
            let request = try JSONDecoder.quik.decode(CreateUserRequest.self, from: call.payload)
            let (user, _) = try await service.createAccount(
                email: request.email, password: request.password, displayName: request.displayName, session: nil)
            return try JSONEncoder.quik.encode(AccountReply(id: user.id, email: user.email, displayName: user.displayName, createdAt: nil))
        }
        try context.provideService("account") { call in
            let request = try JSONDecoder.quik.decode(AccountRequest.self, from: call.payload)
            return try JSONEncoder.quik.encode(try await service.account(request.userId))
        }
        try context.subscribe(HostTopic.userDeactivated) { event in
            guard let change = try? event.decode(AccessChangeEvent.self), let userId = change.userId else { return }
            do {
                try await service.database.transaction { transaction in
                    try await service.revokeAll(userId: userId, reason: "deactivated", in: transaction)
                }
            } catch {
                context.logger.error("could not revoke a deactivated user's sessions", metadata: ["user_id": userId, "error": "\(error)"])
            }
        }
    }

    private func registerRoutes(_ context: any PluginContext, _ service: AuthService) throws {
        let open = { (summary: String) in RouteOptions(requiresAuthentication: false, summary: summary) }
        let signedIn = { (summary: String) in RouteOptions(summary: summary) }
        let tokens = APISchema.decoding(TokenPair.self)

        let register = open("Create an account and sign in").documented(body: AuthSchema.register, response: tokens, status: 201)
        try context.addRoute(.post, "/register", options: register) { request in
            try .json(try await service.register(try request.decode(RegisterBody.self), client: Client(request)), status: 201)
        }
        let login = open("Sign in with email, password and, when on, a two-factor code").documented(
            body: AuthSchema.login, response: tokens)
        try context.addRoute(.post, "/login", options: login) { request in
            try .json(try await service.login(try request.decode(LoginBody.self), client: Client(request)))
        }
        let refresh = open("Trade a refresh token for a new pair").documented(body: AuthSchema.refresh, response: tokens)
        try context.addRoute(.post, "/refresh", options: refresh) { request in
            try .json(try await service.refresh(try request.decode(RefreshBody.self), client: Client(request)))
        }
        let logout = signedIn("End the session a refresh token belongs to").documented(body: AuthSchema.refresh, status: 204)
        try context.addRoute(.post, "/logout", options: logout) { request in
            try await service.logout(try request.decode(RefreshBody.self), principal: try request.requirePrincipal())
            return .noContent
        }
        let listSessions = signedIn("The caller's sessions").documented(response: .list(of: .decoding(SessionView.self)))
        try context.addRoute(.get, "/sessions", options: listSessions) { request in
            let sessions = try await service.sessions(of: try request.requirePrincipal())
            return try .json(ListResponse(items: sessions, nextCursor: nil))
        }
        let revoke = signedIn("Revoke one of the caller's sessions").documented(status: 204)
        try context.addRoute(.delete, "/sessions/{id}", options: revoke) { request in
            try await service.revokeSession(try request.parameter("id"), principal: try request.requirePrincipal())
            return .noContent
        }
        let setup = signedIn("Start TOTP enrolment").documented(response: .decoding(TOTPSetup.self))
        try context.addRoute(.post, "/2fa/setup", options: setup) { request in
            try .json(try await service.setupTOTP(try request.requirePrincipal()))
        }
        let enable = signedIn("Confirm TOTP with a code; returns recovery codes").documented(
            body: AuthSchema.enable, response: .decoding(RecoveryCodes.self))
        try context.addRoute(.post, "/2fa/enable", options: enable) { request in
            try .json(try await service.enableTOTP(try request.decode(CodeBody.self), principal: try request.requirePrincipal()))
        }
        let disable = signedIn("Turn TOTP off with a current code").documented(body: AuthSchema.disable, status: 204)
        try context.addRoute(.post, "/2fa/disable", options: disable) { request in
            try await service.disableTOTP(try request.decode(CodeBody.self), principal: try request.requirePrincipal())
            return .noContent
        }
        let forgot = open("Mail a reset link (always 202)").documented(body: AuthSchema.forgot, status: 202)
        try context.addRoute(.post, "/password/forgot", options: forgot) { request in
            try await service.forgotPassword(try request.decode(EmailBody.self), client: Client(request))
            return PluginResponse(status: 202)
        }
        let reset = open("Set a new password with a reset token").documented(body: AuthSchema.reset, status: 204)
        try context.addRoute(.post, "/password/reset", options: reset) { request in
            try await service.resetPassword(try request.decode(ResetBody.self))
            return .noContent
        }
        let change = signedIn("Change the password; other sessions end").documented(body: AuthSchema.change, status: 204)
        try context.addRoute(.post, "/password/change", options: change) { request in
            try await service.changePassword(try request.decode(ChangePasswordBody.self), principal: try request.requirePrincipal())
            return .noContent
        }
        let verify = open("Confirm an email address with the mailed token").documented(body: AuthSchema.token, status: 204)
        try context.addRoute(.post, "/email/verify", options: verify) { request in
            try await service.verifyEmail(try request.decode(TokenBody.self))
            return .noContent
        }
    }
}
