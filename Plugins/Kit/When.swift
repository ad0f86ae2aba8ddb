import Foundation
import QuikSDK

/// A time a person asks for: RFC 3339 (`2026-11-21T10:00:00Z`, fractions and offsets
/// allowed), or relative: `in 5 minutes`, `in 1 hour`, `in 2 days`, `in 1 week`.
public enum When {
    /// The instant `text` names, counted from `now` when relative; `nil` when it names none.
    public static func parse(_ text: String, now: Date = Date()) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let relative = relative(trimmed.lowercased(), now: now) { return relative }
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }

    /// The forms ``parse(_:now:)`` reads, for OpenAPI (whether the time is still ahead is for the handler to say).
    public static let schema = APISchema.string(
        pattern: #"^(in [0-9]{1,7} (minute|hour|day|week)s?|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))$"#
    ).described("RFC 3339, or \"in <n> minute(s)|hour(s)|day(s)|week(s)\"; in the future")

    private static let units: [String: TimeInterval] = ["minute": 60, "hour": 3600, "day": 86_400, "week": 604_800]

    private static func relative(_ text: String, now: Date) -> Date? {
        let words = text.split(separator: " ")
        guard words.count == 3, words[0] == "in", let count = Int(words[1]), count >= 0, count <= 1_000_000 else { return nil }
        var unit = String(words[2])
        if unit.hasSuffix("s") { unit.removeLast() }
        guard let seconds = units[unit] else { return nil }
        return now.addingTimeInterval(Double(count) * seconds)
    }
}
