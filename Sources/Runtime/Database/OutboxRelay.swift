import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import ServiceLifecycle
import Synchronization

/// Delivers durable events from each plugin's outbox to the event bus after
/// their transaction commits: at least once, in commit order per plugin,
/// resuming after a crash or restart. An event keeps its outbox id, so a
/// subscriber can ignore a redelivery.
package final class OutboxRelay: Service, Sendable {
    package static let table = "`_quik_outbox`"

    private struct Source: Sendable {
        let pool: ConnectionPool
        let publish: @Sendable (Event, DeliveryReceipt) -> Void
    }

    private let pollInterval: Duration
    /// How long a batch waits for its subscribers before it is marked delivered anyway.
    private let handlingTimeout: Duration
    private let logger: Logger
    private let sources = Mutex<[String: Source]>([:])
    /// Plugins whose outbox is being delivered now, and those asked for again meanwhile:
    /// one delivery per plugin at a time keeps events in commit order and unrepeated.
    private let delivering = Mutex<(now: Set<String>, again: Set<String>)>(([], []))
    /// Whether delivery has begun: held until every plugin of the start-up has subscribed.
    private let opened = Atomic(false)
    private let wakeups: AsyncStream<String>
    private let wakeup: AsyncStream<String>.Continuation

    package init(pollInterval: Duration, handlingTimeout: Duration = .seconds(10), logger: Logger) {
        self.pollInterval = pollInterval
        self.handlingTimeout = handlingTimeout
        self.logger = logger
        (wakeups, wakeup) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Starts relaying a plugin's outbox to `publish`.
    package func register(plugin: String, pool: ConnectionPool, publish: @escaping @Sendable (Event, DeliveryReceipt) -> Void) {
        sources.withLock { $0[plugin] = Source(pool: pool, publish: publish) }
        wakeup.yield(plugin)
    }

    /// Begins delivering, once the plugins loaded at start-up have all subscribed: delivered
    /// earlier, an event pending from before a restart would reach only those loaded first.
    package func open() {
        guard !opened.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for plugin in sources.withLock({ Array($0.keys) }) { wakeup.yield(plugin) }
    }

    /// Looks at a plugin's outbox now (after a commit that wrote to it).
    package func wake(_ plugin: String) {
        wakeup.yield(plugin)
    }

    /// Delivers what is pending in one plugin's outbox; returns how many events.
    /// A call while a delivery for the plugin runs makes that delivery look again and returns 0.
    @discardableResult
    package func deliver(_ plugin: String) async throws -> Int {
        guard opened.load(ordering: .acquiring) else { return 0 }
        let first = delivering.withLock { state in
            guard state.now.insert(plugin).inserted else {
                state.again.insert(plugin)
                return false
            }
            return true
        }
        guard first else { return 0 }
        var delivered = 0
        do {
            while true {
                delivered += try await deliverPending(plugin)
                let again = delivering.withLock { state in
                    if state.again.remove(plugin) != nil { return true }
                    state.now.remove(plugin)
                    return false
                }
                if !again { return delivered }
            }
        } catch {
            delivering.withLock { state in
                state.now.remove(plugin)
                state.again.remove(plugin)
            }
            throw error
        }
    }

    private func deliverPending(_ plugin: String) async throws -> Int {
        guard let source = sources.withLock({ $0[plugin] }) else { return 0 }
        var delivered = 0
        while true {
            let rows = try await source.pool.withConnection { connection in
                try await connection.perform(
                    "SELECT seq, id, topic, payload, created_at FROM \(Self.table) WHERE delivered_at IS NULL ORDER BY seq LIMIT 200", []
                ).0
            }
            guard !rows.isEmpty else { return delivered }
            let receipt = DeliveryReceipt()
            for row in rows {
                source.publish(
                    Event(
                        id: row["id"].string ?? "", topic: row["topic"].string ?? "", payload: row["payload"].data ?? Data(),
                        source: plugin, publishedAt: row["created_at"].date ?? Date()),
                    receipt)
            }
            // Marked delivered once every subscriber has handled them: a crash before that delivers them again.
            // A subscriber slower than `handlingTimeout` is not waited for any longer.
            if await !receipt.wait(atMost: handlingTimeout) {
                logger.warning("subscribers still busy with durable events; marking them delivered", metadata: ["plugin": "\(plugin)"])
            }
            // Exactly the rows published: a transaction that took a lower seq may commit later.
            let seqs = rows.map { $0["seq"] }
            let placeholders = Identifier.placeholders(seqs.count)
            try await source.pool.withConnection { connection in
                _ = try await connection.perform(
                    "UPDATE \(Self.table) SET delivered_at = ? WHERE seq IN (\(placeholders))", [.date(Date())] + seqs)
                _ = try await connection.perform(
                    "DELETE FROM \(Self.table) WHERE delivered_at < ? LIMIT 1000", [.date(Date().addingTimeInterval(-86_400))])
            }
            delivered += rows.count
        }
    }

    private func deliverAll() async {
        for plugin in sources.withLock({ Array($0.keys) }) {
            do {
                try await deliver(plugin)
            } catch {
                logger.warning("outbox delivery failed; will retry", metadata: ["plugin": "\(plugin)", "error": "\(error)"])
            }
        }
    }

    /// Delivers on every wake-up and every poll interval until shutdown.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await gracefulShutdown()
                self.wakeup.finish()
            }
            group.addTask {
                // A cancelled sleep returns at once: without the second check this would spin.
                while !Task.isShuttingDownGracefully, !Task.isCancelled {
                    await self.deliverAll()
                    try? await Task.sleep(for: self.pollInterval)
                }
            }
            // Each plugin's outbox on its own: one waiting for slow subscribers holds up no other.
            for await plugin in wakeups {
                group.addTask {
                    do {
                        try await self.deliver(plugin)
                    } catch {
                        self.logger.warning("outbox delivery failed; will retry", metadata: ["plugin": "\(plugin)", "error": "\(error)"])
                    }
                }
            }
        }
    }
}
