import HummingbirdCore
import Logging
import NIOCore

/// A server child channel with the ``ConnectionGuard`` first in every accepted
/// connection's pipeline, ahead of whatever `inner` sets up, and the connection cap
/// applied at accept: a connection over it gets only the guard, which answers 503.
package struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    package enum Value: ServerChildChannelValue {
        case admitted(Inner.Value)
        case refused(any Channel)

        package var channel: any Channel {
            switch self {
            case .admitted(let value): value.channel
            case .refused(let channel): channel
            }
        }
    }

    package let inner: Inner
    package let gate: ConnectionGate

    package init(inner: Inner, gate: ConnectionGate) {
        self.inner = inner
        self.gate = gate
    }

    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let gate = self.gate
        let admitted = gate.admit()
        if admitted {
            channel.closeFuture.whenComplete { _ in gate.release() }
        }
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(gate: gate, refusing: !admitted), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        guard admitted else { return channel.eventLoop.makeSucceededFuture(.refused(channel)) }
        return inner.setup(channel: channel, logger: logger).map { .admitted($0) }
    }

    package func handle(value: Value, logger: Logger) async {
        // A refused connection is the guard's alone; it closes on its own.
        guard case .admitted(let value) = value else { return }
        await inner.handle(value: value, logger: logger)
    }
}
