import Logging
import Synchronization

/// Wraps the host's log handler so that a warning or error repeated word for
/// word (a database that is down, retried by every plugin each second) is
/// written once per `window`, the next one carrying how many were held back.
package struct RepeatLimitingLogHandler: LogHandler {
    /// What has been seen, shared by every copy of the handler.
    package final class Seen: Sendable {
        package struct Entry {
            package var lastWritten: ContinuousClock.Instant
            package var held = 0
        }

        package let window: Duration
        package let entries = Mutex<[String: Entry]>([:])

        package init(window: Duration) { self.window = window }

        /// `nil` when the line is held back, else how many were held back before it.
        package func admit(_ key: String, now: ContinuousClock.Instant) -> Int? {
            entries.withLock { entries in
                if var entry = entries[key], now - entry.lastWritten < window {
                    entry.held += 1
                    entries[key] = entry
                    return nil
                }
                let held = entries[key]?.held ?? 0
                if entries.count > 1000 { entries.removeAll() }  // bounded: keys are message texts
                entries[key] = Entry(lastWritten: now)
                return held
            }
        }
    }

    private var wrapped: any LogHandler
    private let seen: Seen

    /// Wraps `handler`; identical warnings and errors pass at most once per `window` (default 10 s).
    package init(wrapping handler: any LogHandler, window: Duration = .seconds(10)) {
        wrapped = handler
        seen = Seen(window: window)
    }

    package func log(event: LogEvent) {
        guard event.level >= .warning else { return wrapped.log(event: event) }
        guard let held = seen.admit("\(event.level)|\(event.source)|\(event.message)", now: .now) else { return }
        var event = event
        if held > 0 { event.metadata = (event.metadata ?? [:]).merging(["repeated": "\(held)"]) { $1 } }
        wrapped.log(event: event)
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    package var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    package var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    package var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }
}

extension Logger {
    /// This logger, with identical warnings and errors written at most once per `window`.
    package func limitingRepeats(window: Duration = .seconds(10)) -> Logger {
        let handler = RepeatLimitingLogHandler(wrapping: self.handler, window: window)
        return Logger(label: label) { _ in handler }
    }
}
