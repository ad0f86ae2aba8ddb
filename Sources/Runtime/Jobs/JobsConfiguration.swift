/// How the host runs plugins' durable jobs.
public struct JobsConfiguration: Sendable {
    /// How often each host looks for jobs others scheduled; its own it runs on time. Default 500 ms.
    public var pollInterval: Duration = .milliseconds(500)
    /// Jobs run at once by this host, over all plugins. Default 32 (most wait on the database;
    /// 16 ran 5,300 jobs/s in the jobs benchmark, 32 ran 7,000, 64 ran 9,800 but kept the plugin's pool busier).
    public var concurrency: Int = 32
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
