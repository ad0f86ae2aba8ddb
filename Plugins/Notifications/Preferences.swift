import Foundation
import QuikPluginKit
import QuikSDK

/// A user's defaults: how they hear of what concerns them.
struct Preferences: Codable, Sendable, Equatable {
    var desktop = "mentions"
    var push = "mentions"
    var email = "mentions"
    var emailInterval = "15m"

    static let levels = ["all", "mentions", "none"]
    static let intervals = ["immediate", "15m", "1h"]

    init() {}

    init(row: SQLRow?) {
        guard let row else { return }
        desktop = row["desktop"].string ?? desktop
        push = row["push"].string ?? push
        email = row["email"].string ?? email
        emailInterval = row["email_interval"].string ?? emailInterval
    }

    /// Seconds from a notification to its email: `immediate` waits `emailDelay` (so a message read at once is not mailed).
    func emailDelay(immediate: TimeInterval) -> TimeInterval {
        switch emailInterval {
        case "1h": 3600
        case "15m": 900
        default: immediate
        }
    }

    static let schema = APISchema.object(
        [
            "desktop": .string(values: levels), "push": .string(values: levels), "email": .string(values: levels),
            "email_interval": .string(values: intervals),
        ], required: ["desktop", "push", "email", "email_interval"])
}

/// `PATCH /notifications/preferences`.
struct PreferencesPatch: Decodable {
    var desktop: String?
    var push: String?
    var email: String?
    var emailInterval: String?

    func applied(to current: Preferences) throws -> Preferences {
        var validator = Validator()
        for (field, value) in [("desktop", desktop), ("push", push), ("email", email)] {
            if let value { validator.check(Preferences.levels.contains(value), field, "must be all, mentions or none") }
        }
        if let emailInterval { validator.check(Preferences.intervals.contains(emailInterval), "email_interval", "must be immediate, 15m or 1h") }
        try validator.finish()
        var next = current
        next.desktop = desktop ?? next.desktop
        next.push = push ?? next.push
        next.email = email ?? next.email
        next.emailInterval = emailInterval ?? next.emailInterval
        return next
    }

    static let schema = APISchema.object([
        "desktop": .string(values: Preferences.levels), "push": .string(values: Preferences.levels), "email": .string(values: Preferences.levels),
        "email_interval": .string(values: Preferences.intervals),
    ])
}

/// A user's choices for one channel; `default` defers to their defaults.
struct ChannelPreferences: Codable, Sendable, Equatable {
    var desktop = "default"
    var push = "default"
    var email = "default"
    var muted = false

    static let levels = ["default", "all", "mentions", "none"]

    init() {}

    init(row: SQLRow?) {
        guard let row else { return }
        desktop = row["desktop"].string ?? desktop
        push = row["push"].string ?? push
        email = row["email"].string ?? email
        muted = row["muted"].int == 1
    }

    /// The level in effect for `means`, with the user's defaults behind it.
    func level(_ own: String, default fallback: String) -> String { own == "default" ? fallback : own }

    static let schema = APISchema.object(
        [
            "desktop": .string(values: levels), "push": .string(values: levels), "email": .string(values: levels), "muted": .boolean,
        ], required: ["desktop", "push", "email", "muted"])
}

/// `PUT /notifications/preferences/channels/{channel_id}`.
struct ChannelPreferencesBody: Decodable {
    var desktop: String?
    var push: String?
    var email: String?
    var muted: Bool?

    func checked() throws -> ChannelPreferences {
        var validator = Validator()
        for (field, value) in [("desktop", desktop), ("push", push), ("email", email)] {
            if let value { validator.check(ChannelPreferences.levels.contains(value), field, "must be default, all, mentions or none") }
        }
        try validator.finish()
        var preferences = ChannelPreferences()
        preferences.desktop = desktop ?? "default"
        preferences.push = push ?? "default"
        preferences.email = email ?? "default"
        preferences.muted = muted ?? false
        return preferences
    }

    static let schema = APISchema.object([
        "desktop": .string(values: ChannelPreferences.levels), "push": .string(values: ChannelPreferences.levels),
        "email": .string(values: ChannelPreferences.levels), "muted": .boolean,
    ])
}
