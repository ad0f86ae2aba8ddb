import Foundation

/// Work to run later, as a plugin asks for it. Since SDK 1.5.
public struct JobRequest: Sendable {
    /// What the job does; the plugin's handler for this kind runs it (``PluginContext/onJob(_:handler:)``).
    public var kind: String
    /// The handler's input, JSON by convention.
    public var payload: Data
    /// When it should run; now or earlier runs it at once.
    public var runAt: Date
    /// At most one job per key exists in the plugin: scheduling a known key again
    /// changes nothing and returns that job's id, so a retried request schedules once.
    public var key: String?
    /// Runs before the job counts as failed; each failure waits longer (1 s, 2 s, 4 s … 1 h).
    public var maxAttempts: Int

    /// Creates a request; by default it runs now, without a key, up to 10 times.
    public init(kind: String, payload: Data = Data(), runAt: Date = Date(), key: String? = nil, maxAttempts: Int = 10) {
        self.kind = kind
        self.payload = payload
        self.runAt = runAt
        self.key = key
        self.maxAttempts = maxAttempts
    }
}

/// A job as its handler receives it. Since SDK 1.5.
public struct Job: Sendable {
    /// Its id.
    public var id: String
    /// Its kind.
    public var kind: String
    /// Its key, when it was scheduled with one.
    public var key: String?
    /// Its payload.
    public var payload: Data
    /// When it was due.
    public var runAt: Date
    /// 1 on the first run, 2 on the first retry, and so on.
    public var attempt: Int

    /// Creates a job (the host does this when one falls due).
    public init(id: String, kind: String, key: String?, payload: Data, runAt: Date, attempt: Int) {
        self.id = id
        self.kind = kind
        self.key = key
        self.payload = payload
        self.runAt = runAt
        self.attempt = attempt
    }

    /// Decodes the payload with the contract's decoder.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder.quik.decode(type, from: payload)
    }
}

/// Runs one job. Returning ends it; throwing retries it later, until its attempts
/// run out. A job runs at least once: a host that dies mid-run leaves it to run
/// again, so a handler must tolerate a repeat.
public typealias JobHandler = @Sendable (Job) async throws -> Void
