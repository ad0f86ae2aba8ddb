import Hummingbird
import NIOCore

/// Hummingbird's request context plus the peer address, which plugins see as
/// ``QuikSDK/PluginRequest/remoteAddress`` (throttling, session records).
struct HostRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress.flatMap { $0.ipAddress ?? $0.pathname }
    }
}
