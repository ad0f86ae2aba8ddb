import Foundation

/// A plugin's durable jobs: kept in its database, surviving restarts and crashes,
/// and claimed by one host at a time when several share the database. Since SDK 1.5.
public protocol JobQueue: Sendable {
    /// Schedules a job and returns its id; a key already known returns that job's id, unchanged.
    @discardableResult
    func schedule(_ job: JobRequest) async throws -> String

    /// Moves the job with `key` to `runAt`, with its attempts reset; a finished or
    /// failed one is queued again. Returns whether such a job exists.
    @discardableResult
    func reschedule(key: String, to runAt: Date) async throws -> Bool

    /// Cancels the job with `key` unless it is running now; returns whether one was waiting.
    @discardableResult
    func cancel(key: String) async throws -> Bool
}

extension JobQueue {
    /// Schedules a job whose payload is `value`, encoded with the contract's encoder.
    @discardableResult
    public func schedule<T: Encodable>(_ kind: String, _ value: T, at runAt: Date = Date(), key: String? = nil) async throws -> String {
        try await schedule(JobRequest(kind: kind, payload: JSONEncoder.quik.encode(value), runAt: runAt, key: key))
    }
}
