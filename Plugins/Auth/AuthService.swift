import Crypto
import Foundation
import QuikPluginKit
import QuikContracts
import QuikSDK

/// Who is signing in, as far as the server can tell.
struct Client: Sendable {
    var ip: String
    var device: String

    init(_ request: PluginRequest) {
        ip = request.remoteAddress ?? "unknown"
        device = String((request.headers["user-agent"] ?? "unknown").prefix(200))
    }

    init(ip: String, device: String) {
        self.ip = ip
        self.device = device
    }
}

/// Caps on requests that cost the server or a third party (mail) and are open to anyone.
struct RequestLimits: Sendable {
    /// Accounts registered from one address per hour. Default 20.
    var registrationsPerAddress = 20
    /// Reset mails asked for one email per 15 minutes. Default 5.
    var resetsPerEmail = 5
    /// Reset mails asked from one address per 15 minutes. Default 20.
    var resetsPerAddress = 20
}

/// Accounts, passwords, sessions with rotating refresh tokens, two-factor codes and resets.
final class AuthService: Sendable {
    static let minimumPassword = 10
    static let maximumPassword = 1024
    static let resetLifetime: TimeInterval = 3600
    static let verifyLifetime: TimeInterval = 7 * 86400
    static let recoveryCodeCount = 10

    let context: any PluginContext
    let database: any PluginDatabase
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    let limits: RequestLimits
    /// Registrations per address, in the last hour.
    let registrations = AttemptCounter(window: 3600)
    /// Reset requests per email and per address, in the last 15 minutes.
    let resetRequests = AttemptCounter(window: 900)
    let publicURL: String
    let refreshLifetime: TimeInterval
    /// A hash of a random password that unknown emails are checked against, so
    /// that they take as long to refuse as a wrong password.
    let decoyHash: String

    init(
        context: any PluginContext, database: any PluginDatabase, hasher: PasswordHasher, throttle: LoginThrottle, limits: RequestLimits, publicURL: String,
        refreshLifetime: TimeInterval, decoyHash: String
    ) {
        self.context = context
        self.database = database
        self.hasher = hasher
        self.throttle = throttle
        self.limits = limits
        self.publicURL = publicURL
        self.refreshLifetime = refreshLifetime
        self.decoyHash = decoyHash
    }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func checkNewPassword(_ password: String?, field: String, into validator: inout Validator) {
        let count = password?.unicodeScalars.count ?? 0
        validator.check(password != nil, field, "is required")
        validator.check(count >= Self.minimumPassword, field, "must be at least \(Self.minimumPassword) characters")
        validator.check(count <= Self.maximumPassword, field, "must be at most \(Self.maximumPassword) characters")
    }

    // MARK: Accounts

    /// Creates an account; `session` also signs it in.
    func createAccount(
        email rawEmail: String?, password: String?, displayName rawName: String?, session client: Client?
    ) async throws -> (UserSummary, (sessionId: String, refresh: String)?) {
        let email = EmailAddress.normalized(rawEmail) ?? ""
        let displayName = Checks.trimmed(rawName) ?? ""
        var validator = Validator()
        validator.check(!email.isEmpty, "email", "is not a valid email address")
        checkNewPassword(password, field: "password", into: &validator)
        validator.check(!displayName.isEmpty, "display_name", "is required")
        validator.check(displayName, "display_name", atMost: 80)
        try validator.finish()

        let hash = try await hasher.hash(password!)
        let user = UserSummary(id: IDs.make("U"), email: email, displayName: displayName)
        let verifyToken = Secrets.token()
        let now = Date()
        do {
            let session = try await database.transaction { transaction -> (sessionId: String, refresh: String)? in
                try await transaction.execute(
                    """
                    INSERT INTO accounts (user_id, email, password_hash, display_name, created_at, password_changed_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, [.text(user.id), .text(email), .text(hash), .text(displayName), .date(now), .date(now)])
                try await transaction.execute(
                    "INSERT INTO one_time_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES (?, ?, 'verify', ?, ?)",
                    [.text(Self.digest(verifyToken)), .text(user.id), .date(now), .date(now.addingTimeInterval(Self.verifyLifetime))])
                try await transaction.publish(
                    "auth.user_registered", AuthEvent(userId: user.id, actor: user.id, email: email, displayName: displayName, ip: client?.ip))
                guard let client else { return nil }
                return try await startSession(transaction, userId: user.id, client: client)
            }
            await mail(
                to: email, subject: "Confirm your QuikApp email address",
                text: "Welcome to QuikApp, \(displayName).\n\nConfirm your address by opening:\n\(publicURL)/verify-email?token=\(verifyToken)\n")
            return (user, session)
        } catch let error as DatabaseError where error.kind == .duplicateKey {
            throw PluginError(.conflict, "an account with this email already exists", details: ["email": "taken"])
        }
    }

    func register(_ body: RegisterBody, client: Client) async throws -> TokenPair {
        if let wait = await registrations.wait(client.ip, limit: limits.registrationsPerAddress) {
            throw PluginError(.rateLimited, "too many accounts registered from this address; try again later", retryAfterSeconds: wait)
        }
        let (user, session) = try await createAccount(
            email: body.email, password: body.password, displayName: body.displayName, session: client)
        await registrations.record(client.ip)
        return try await pair(user, session!)
    }

    func account(_ userId: String) async throws -> AccountReply {
        guard let row = try await database.query(
            "SELECT user_id, email, display_name, created_at FROM accounts WHERE user_id = ?", [.text(userId)]
        ).first else { throw PluginError(.notFound, "no such user") }
        return AccountReply(
            id: row["user_id"].string ?? userId, email: row["email"].string ?? "", displayName: row["display_name"].string ?? "",
            createdAt: row["created_at"].date)
    }
}
