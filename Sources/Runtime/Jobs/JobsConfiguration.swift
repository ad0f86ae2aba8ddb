/// How the host runs plugins' durable jobs.
public struct JobsConfiguration: Sendable {
    /// How often each host looks for jobs others scheduled; its own it runs on time. Default 500 ms.
    public var pollInterval: Duration = .milliseconds(500)
    /// Jobs run at once by this host, over all plugins. Default 16.
    public var concurrency: Int = 16
    /// Jobs claimed per query. Default 64.
    public var batchSize: Int = 64
    /// How long one run may take before it counts as failed. Its claim lasts twice this,
    /// after which another host may run it again. Default 30 s.
    public var timeout: Duration = .seconds(30)
    /// How long finished jobs are kept, so that their keys keep repeats away. Default 7 days.
    public var retention: Duration = .seconds(7 * 86_400)

    /// The defaults.
    public init() {}
}
