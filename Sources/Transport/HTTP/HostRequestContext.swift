import Hummingbird
import NIOCore
import QuikMariaDB
import QuikRuntime
import QuikSupport

/// Hummingbird's request context plus the peer address, which plugins see as
/// ``QuikSDK/PluginRequest/remoteAddress`` (throttling, session records).
package struct HostRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: String?

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress.flatMap { $0.ipAddress ?? $0.pathname }
    }
}
