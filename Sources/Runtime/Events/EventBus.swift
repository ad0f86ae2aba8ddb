import Foundation
import Logging
import QuikMariaDB
import QuikSDK
import QuikSupport
import ServiceLifecycle
import Synchronization

/// The in-process event bus.
///
/// Each subscription has its own bounded queue and its own consumer task, so a
/// slow subscriber delays only itself: publishing never waits, other
/// subscribers are untouched, and when a subscription's queue is full the new
/// event is dropped for that subscription alone and counted. One consumer per
/// subscription keeps delivery in publish order.
package final class EventBus: Service, Sendable {
    /// One subscription's registration.
    package struct Subscription: Sendable {
        package let pattern: TopicPattern
        package let plugin: String
        package let handler: EventHandler
    }

    private final class Subscriber: Sendable {
        let id: Int
        let owner: Int
        let pattern: TopicPattern
        let plugin: String
        let handler: EventHandler
        let stream: AsyncStream<Delivery>
        let continuation: AsyncStream<Delivery>.Continuation

        init(id: Int, owner: Int, subscription: Subscription, capacity: Int) {
            self.id = id
            self.owner = owner
            self.pattern = subscription.pattern
            self.plugin = subscription.plugin
            self.handler = subscription.handler
            (stream, continuation) = AsyncStream.makeStream(of: Delivery.self, bufferingPolicy: .bufferingOldest(capacity))
        }
    }

    /// An event on its way to one subscriber, with the receipt to acknowledge once handled.
    private struct Delivery: Sendable {
        let event: Event
        let receipt: DeliveryReceipt?
    }

    private struct State {
        var subscribers: [Subscriber] = []
        var nextID = 0
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let drainTimeout: Duration
    private let metrics: HostMetrics
    private let logger: Logger
    private let started: AsyncStream<Subscriber>
    private let starter: AsyncStream<Subscriber>.Continuation

    package init(capacity: Int, drainTimeout: Duration, metrics: HostMetrics, logger: Logger) {
        self.capacity = capacity
        self.drainTimeout = drainTimeout
        self.metrics = metrics
        self.logger = logger
        (started, starter) = AsyncStream.makeStream(of: Subscriber.self)
    }

    /// Delivers `event` to every matching subscription without waiting for any of them;
    /// each acknowledges `receipt` once its handler has returned.
    package func publish(_ event: Event, receipt: DeliveryReceipt? = nil) {
        let targets = state.withLock { $0.subscribers.filter { $0.pattern.matches(event.topic) } }
        metrics.eventPublished(topic: event.topic)
        receipt?.expect(targets.count)
        for subscriber in targets {
            if case .dropped = subscriber.continuation.yield(Delivery(event: event, receipt: receipt)) {
                receipt?.acknowledge()
                metrics.eventDropped(plugin: subscriber.plugin)
                logger.warning(
                    "event dropped: subscriber queue full",
                    metadata: ["plugin": "\(subscriber.plugin)", "pattern": "\(subscriber.pattern)", "topic": "\(event.topic)"])
            }
        }
    }

    /// Replaces the subscriptions owned by `owner` (a plugin instance) with those of
    /// `newOwner` in one step; either side may be `nil`. The old queues finish what they hold.
    package func replace(owner: Int?, with newOwner: Int?, subscriptions: [Subscription]) {
        let (removed, added) = state.withLock { state -> ([Subscriber], [Subscriber]) in
            var removed: [Subscriber] = []
            if let owner {
                removed = state.subscribers.filter { $0.owner == owner }
                state.subscribers.removeAll { $0.owner == owner }
            }
            var added: [Subscriber] = []
            if let newOwner {
                for subscription in subscriptions {
                    state.nextID += 1
                    added.append(Subscriber(id: state.nextID, owner: newOwner, subscription: subscription, capacity: capacity))
                }
                state.subscribers += added
            }
            return (removed, added)
        }
        for subscriber in removed { subscriber.continuation.finish() }
        for subscriber in added { starter.yield(subscriber) }
    }

    /// Runs one consumer per subscription until shutdown, then lets each finish
    /// its queue for up to `drainTimeout` before cancelling what is left.
    package func run() async throws {
        let consumers = ConsumerCount()
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    try? await gracefulShutdown()
                    self.starter.finish()
                    let all = self.state.withLock { state in
                        defer { state.subscribers.removeAll() }
                        return state.subscribers
                    }
                    for subscriber in all { subscriber.continuation.finish() }
                    let deadline = ContinuousClock.now + self.drainTimeout
                    while consumers.value.load(ordering: .acquiring) > 0 {
                        guard ContinuousClock.now < deadline else { throw DrainExpired() }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
                for await subscriber in started {
                    consumers.value.add(1, ordering: .acquiringAndReleasing)
                    group.addTask {
                        defer { consumers.value.subtract(1, ordering: .acquiringAndReleasing) }
                        for await delivery in subscriber.stream {
                            await subscriber.handler(delivery.event)
                            delivery.receipt?.acknowledge()
                        }
                    }
                }
            }
        } catch is DrainExpired {
            logger.warning("event subscribers still busy at shutdown were cancelled")
        }
    }

    private struct DrainExpired: Error {}

    private final class ConsumerCount: Sendable {
        let value = Atomic(0)
    }
}
