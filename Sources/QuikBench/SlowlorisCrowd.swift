import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Many loopback connections that each send a partial request head and then one byte
/// every `interval`, as a slowloris attack does, driven from one thread of their own
/// with non-blocking sockets and poll(2), so that they cost the measured server little
/// CPU beyond what the attack itself makes it spend.
final class SlowlorisCrowd: Sendable {
    /// What the crowd has seen so far.
    struct Tally: Sendable {
        var opened = 0
        var failedToOpen = 0
        /// Seconds from each connect to the server's close, for those it closed.
        var cutAfter: [Double] = []
        /// Those closed with a `408` answer first.
        var answered408 = 0
    }

    private let port: Int
    private let count: Int
    private let interval: Duration
    private let tally = Mutex(Tally())
    private let stopping = Atomic<Bool>(false)
    private let finished = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let done = Atomic<Bool>(false)

    init(port: Int, count: Int, interval: Duration) {
        self.port = port
        self.count = count
        self.interval = interval
    }

    var snapshot: Tally { tally.withLock { $0 } }

    /// Opens the connections, returns once they are all open (or failed), and keeps trickling until ``stop()``.
    func start() async {
        let (opened, openedContinuation) = AsyncStream.makeStream(of: Void.self)
        let thread = Thread { [self] in
            self.run { openedContinuation.yield() }
            openedContinuation.finish()
            self.done.store(true, ordering: .releasing)
            self.finished.withLock { $0 }?.resume()
        }
        thread.stackSize = 1 << 20
        thread.start()
        for await _ in opened { break }
    }

    /// Closes every connection still open.
    func stop() async {
        stopping.store(true, ordering: .releasing)
        await withCheckedContinuation { continuation in
            let already = finished.withLock { stored -> Bool in
                if done.load(ordering: .acquiring) { return true }
                stored = continuation
                return false
            }
            if already { continuation.resume() }
        }
    }

    private struct Connection {
        var descriptor: Int32
        var opened: ContinuousClock.Instant
        var nextByte: ContinuousClock.Instant
        var received: [UInt8] = []
        var open = true
    }

    private func run(onOpened: () -> Void) {
        let clock = ContinuousClock()
        let head = Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nX-Slow: ".utf8)
        var connections: [Connection] = []
        connections.reserveCapacity(count)
        for index in 0..<count {
            guard let descriptor = Self.connect(port: port) else {
                tally.withLock { $0.failedToOpen += 1 }
                continue
            }
            _ = head.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let now = clock.now
            // Spread the bytes over the interval, so they do not all arrive at once.
            let offset = interval * (Double(index % 100) / 100)
            connections.append(Connection(descriptor: descriptor, opened: now, nextByte: now + offset))
            tally.withLock { $0.opened += 1 }
        }
        onOpened()

        var pollSet = connections.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopping.load(ordering: .acquiring), connections.contains(where: \.open) {
            _ = poll(&pollSet, nfds_t(pollSet.count), 0)
            let now = clock.now
            for index in connections.indices where connections[index].open {
                if pollSet[index].revents != 0 {
                    let read = buffer.withUnsafeMutableBytes { recv(connections[index].descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if read > 0 {
                        if connections[index].received.count < 64 { connections[index].received += buffer[0..<min(read, 64)] }
                    } else if read == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                        close(&connections[index], at: now, pollSet: &pollSet[index])
                        continue
                    }
                }
                if connections[index].nextByte <= now {
                    var byte: UInt8 = 0x61
                    if send(connections[index].descriptor, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) < 0, errno != EAGAIN {
                        close(&connections[index], at: now, pollSet: &pollSet[index])
                        continue
                    }
                    connections[index].nextByte = now + interval
                }
            }
            // Bytes go out within 50 ms of their time; polling 5000 descriptors more often would load the shared cores.
            usleep(50_000)
        }
        for connection in connections where connection.open { Glibc.close(connection.descriptor) }
    }

    private func close(_ connection: inout Connection, at now: ContinuousClock.Instant, pollSet: inout pollfd) {
        connection.open = false
        Glibc.close(connection.descriptor)
        pollSet.fd = -1
        let after = now - connection.opened
        let seconds = Double(after.components.seconds) + Double(after.components.attoseconds) / 1e18
        let answered = connection.received.starts(with: Array("HTTP/1.1 408".utf8))
        tally.withLock {
            $0.cutAfter.append(seconds)
            if answered { $0.answered408 += 1 }
        }
    }

    private static func connect(port: Int) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(descriptor)
            return nil
        }
        return descriptor
    }
}
