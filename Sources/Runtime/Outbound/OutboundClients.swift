import AsyncHTTPClient
import Foundation
import ServiceLifecycle
import Synchronization

/// The HTTP clients outbound requests go through, one per host name and the address it was
/// judged by, so that requests to a push service or webhook reuse their connections instead of
/// opening (and resolving) anew each time. A service of the group: it shuts the clients down
/// after the plugins have stopped.
package final class OutboundClients: Service, Sendable {
    /// Most clients kept; past it the oldest is shut down.
    static let limit = 64

    private struct Entry {
        let client: HTTPClient
        var used: ContinuousClock.Instant
    }

    private let clients = Mutex<[String: Entry]>([:])
    private let closed = Atomic(false)

    package init() {}

    /// The client for `host` pinned to `address`; `nil` once shutting down (the caller then makes its own).
    package func client(host: String, address: String) -> HTTPClient? {
        guard !closed.load(ordering: .acquiring) else { return nil }
        let key = host + "|" + address
        let (client, evicted) = clients.withLock { clients -> (HTTPClient, HTTPClient?) in
            if var entry = clients[key] {
                entry.used = .now
                clients[key] = entry
                return (entry.client, nil)
            }
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            configuration.timeout.connect = .seconds(5)
            configuration.connectionPool.idleTimeout = .seconds(30)
            if address != host { configuration.dnsOverride = [host: address] }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            var evicted: HTTPClient?
            if clients.count >= Self.limit, let oldest = clients.min(by: { $0.value.used < $1.value.used }) {
                evicted = oldest.value.client
                clients[oldest.key] = nil
            }
            clients[key] = Entry(client: client, used: .now)
            return (client, evicted)
        }
        if let evicted { Task { try? await evicted.shutdown() } }
        return client
    }

    package func run() async throws {
        try? await gracefulShutdown()
        closed.store(true, ordering: .releasing)
        let all = clients.withLock { clients in
            defer { clients.removeAll() }
            return clients.values.map(\.client)
        }
        for client in all { try? await client.shutdown() }
    }
}
