/// How the host treats TCP connections before and between requests (`server.connections`
/// in plugins.yml): slow or idle clients are cut off, oversized heads refused, and the
/// number of open connections capped below the process's file-descriptor limit.
///
/// These are enforced by a byte-level guard in front of the HTTP decoder, so they hold
/// for the first request of a connection as much as for later ones.
public struct ConnectionLimits: Sendable {
    /// Time allowed for a request head (request line and headers), counted from its
    /// first byte, or from accept on a new connection. Past it the client gets
    /// `408 request_timeout` (or, if it sent nothing at all, a plain close). Default 10 s.
    public var headTimeout: Duration = .seconds(10)
    /// A request body that gets no byte for this long is dropped (the connection is closed). Default 30 s.
    public var bodyStallTimeout: Duration = .seconds(30)
    /// A keep-alive connection between requests with no byte in either direction for
    /// this long is closed; outbound bytes count, so a long download is not cut. Default 60 s.
    public var idleTimeout: Duration = .seconds(60)
    /// Largest request head (request line and headers, with their line ends); a larger
    /// one gets `431 request_header_fields_too_large`. Default 16 KiB (16384).
    public var maxHeaderBytes: Int = 16 << 10
    /// Most connections open at once, over every listener of the host; one more gets
    /// `503 unavailable` with `Retry-After: 1` and is closed. Default 10,000, lowered at
    /// start to the open-file soft limit minus ``fileDescriptorReserve``.
    public var maxConnections: Int = 10_000
    /// Connections the kernel queues for accept. Past it a new connection's SYN is dropped
    /// and the client waits a second or more to retry, as a burst of reconnecting clients
    /// would after a restart. Default 4096 (the kernel caps it at `net.core.somaxconn`, 4096 by default).
    public var backlog: Int = 4096
    /// Descriptors kept back from connections for database connections, plugin
    /// libraries, stored files and logs. Default 512.
    public var fileDescriptorReserve: Int = 512
    /// How long a connection answered with a refusal (503, 408, 431) is still read and
    /// the bytes discarded before it is closed, so that unread input does not turn the
    /// close into a reset that loses the answer. Default 1 s.
    public var closeLinger: Duration = .seconds(1)

    /// The defaults.
    public init() {}

    /// The cap in force for a process whose open-file soft limit is `softLimit`:
    /// ``maxConnections``, lowered to leave ``fileDescriptorReserve`` free, and at least 1.
    public func connectionCap(softLimit: Int) -> Int {
        max(1, min(maxConnections, softLimit - fileDescriptorReserve))
    }
}
