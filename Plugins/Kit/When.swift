import Foundation

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
