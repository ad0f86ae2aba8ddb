import Foundation
import QuikPluginKit
import QuikSDK

/// Do-not-disturb: until a time, and every day between two times in a time zone.
struct DoNotDisturb: Sendable, Equatable {
    struct Schedule: Codable, Sendable, Equatable {
        /// `HH:MM`.
        var start: String
        var end: String
        /// IANA name.
        var timezone: String
    }

    var until: Date?
    var schedule: Schedule?

    init(until: Date? = nil, schedule: Schedule? = nil) {
        self.until = until
        self.schedule = schedule
    }

    init(row: SQLRow?) {
        until = row?["until_at"].date
        if let row, let start = row["schedule_start"].string, let end = row["schedule_end"].string, let zone = row["schedule_timezone"].string {
            schedule = Schedule(start: start, end: end, timezone: zone)
        }
    }

    /// Minutes after midnight of `HH:MM`, or `nil` when it is not a time of day.
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0..<24).contains(hours), (0..<60).contains(minutes)
        else { return nil }
        return hours * 60 + minutes
    }

    /// Whether the daily schedule holds at `date` (a window may cross midnight).
    func scheduleHolds(at date: Date) -> Bool {
        guard let schedule, let start = Self.minutes(schedule.start), let end = Self.minutes(schedule.end),
            let zone = TimeZone(identifier: schedule.timezone)
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        let now = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        return start < end ? (start <= now && now < end) : (now >= start || now < end)
    }

    /// Whether DND holds at `date`.
    func isActive(at date: Date = Date()) -> Bool {
        if let until, until > date { return true }
        return scheduleHolds(at: date)
    }

    /// When DND, holding at `date`, next lets go (for mail held until then); `date` when it does not hold.
    func end(after date: Date = Date()) -> Date {
        var moment = date
        // A minute at a time past the schedule's window, at most two days (an endless `until` is refused at input).
        for _ in 0..<(2 * 24 * 60 + 2) {
            if let until, until > moment {
                moment = until
                continue
            }
            guard scheduleHolds(at: moment) else { return moment }
            moment = moment.addingTimeInterval(60 - moment.timeIntervalSince1970.truncatingRemainder(dividingBy: 60))
        }
        return moment
    }

    /// `GET /notifications/dnd`.
    struct View: Encodable {
        var active: Bool
        var until: Date?
        var schedule: Schedule?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(active, forKey: .active)
            try container.encode(until, forKey: .until)
            try container.encode(schedule, forKey: .schedule)
        }

        private enum CodingKeys: String, CodingKey { case active, until, schedule }
    }

    var view: View { View(active: isActive(), until: until.flatMap { $0 > Date() ? $0 : nil }, schedule: schedule) }

    static let scheduleSchema = APISchema.object(
        ["start": .string(pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$"), "end": .string(pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$"), "timezone": .string],
        required: ["start", "end", "timezone"])
    static let viewSchema = APISchema.object(
        ["active": .boolean, "until": APISchema.dateTime.orNull, "schedule": scheduleSchema.orNull], required: ["active", "until", "schedule"])
}

/// `POST /notifications/dnd`.
struct DNDUntil: Decodable {
    var until: String?

    static let schema = APISchema.object(["until": When.schema], required: ["until"])
}

/// `PUT /notifications/dnd/schedule`.
struct DNDScheduleBody: Decodable {
    var start: String?
    var end: String?
    var timezone: String?

    static let schema = APISchema.object(
        ["start": .string(pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$"), "end": .string(pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$"), "timezone": .string],
        required: ["start", "end"])
}
