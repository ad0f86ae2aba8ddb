import Hummingbird
import HummingbirdCore
import Logging
import QuikRuntime
import QuikSupport
import QuikTransport
import ServiceLifecycle

extension QuikHost {
    /// The connection guard's shared state. Raises the open-file soft limit to the hard one
    /// first, so the cap can be as high as the process allows, and logs both once.
    static func connectionGate(configuration: HostConfiguration, metrics: HostMetrics, logger: Logger) -> ConnectionGate {
        let limits = configuration.connections
        let softLimit = FileDescriptorLimit.raiseSoftLimit()
        let cap = limits.connectionCap(softLimit: softLimit)
        logger.info(
            "connection cap",
            metadata: [
                "open_file_limit": "\(softLimit)", "max_connections": "\(cap)", "fd_reserve": "\(limits.fileDescriptorReserve)",
            ])
        if cap < limits.maxConnections {
            logger.warning(
                "max_connections lowered to fit the open-file limit; raise the limit (ulimit -n) to allow more",
                metadata: ["configured": "\(limits.maxConnections)", "in_force": "\(cap)"])
        }
        return ConnectionGate(
            settings: ConnectionGate.Settings(limits), cap: cap, fileDescriptorReserve: limits.fileDescriptorReserve, metrics: metrics)
    }

    /// Hummingbird's HTTP/1 settings: its decoder's limits are kept above the guard's, so that
    /// an oversized head is answered 431 by the guard instead of failing inside the decoder.
    static func http1Configuration(_ limits: ConnectionLimits) -> HTTP1Channel.Configuration {
        let head = limits.maxHeaderBytes
        // The shortest header line, `a:` and its line end, is 4 bytes.
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: max(80 << 10, head), maxHeaderListSize: max(80 << 10, head), maxHeaderFieldCount: max(1000, head / 4 + 1))
        // Idle connections are the guard's to close, the first request's included.
        return HTTP1Channel.Configuration(idleTimeout: nil, httpDecoderConfiguration: decoder)
    }

    /// The metrics address: a listener serving only `GET /metrics`, behind the same guard
    /// and counted against the same connection cap.
    func metricsListener(address: ListenAddress, gate: ConnectionGate) -> some Service {
        let core = self.core
        let http1 = Self.http1Configuration(core.configuration.connections)
        return Application(
            responder: MetricsResponder(metrics: core.metrics),
            server: HTTPServerBuilder { responder in
                GuardedChildChannel(inner: HTTP1Channel(responder: responder, configuration: http1), gate: gate)
            },
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                self.metricsListening.withLock { $0 = port }
                core.logger.info("metrics address listening", metadata: ["host": "\(address.host)", "port": "\(port)"])
            },
            logger: core.logger
        )
    }
}
