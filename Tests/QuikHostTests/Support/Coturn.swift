import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A private coturn TURN server for a test (Debian's `turnserver`, installed by
/// `scripts/install-deps`), on 127.0.0.1 only: TURN REST credentials from `secret`
/// (`use-auth-secret`), UDP and TCP on `port`, relays on 127.0.0.1 in `relayPorts`,
/// loopback peers allowed (the tests' peers are all on 127.0.0.1), no TLS, DTLS or CLI.
/// Run through `with_parent.py`, so it ends with the test run; `log` is verbose enough to
/// show each allocation, permission, channel binding and, once an allocation is released,
/// its `peer usage` (bytes relayed to and from peers).
final class Coturn: Sendable {
    /// The listening port, UDP and TCP, on 127.0.0.1.
    let port: Int
    /// Where relay addresses are allocated (127.0.0.1).
    let relayPorts: ClosedRange<Int>
    /// The `static-auth-secret`: the calls plugin's `turn_secret`.
    let secret: String
    /// The log file's path.
    let log: String
    /// The realm it answers with.
    static let realm = "quikapp.test"
    private let pid: Int32
    private let watchdog: Int32
    private let stopped = Mutex(false)

    private init(port: Int, relayPorts: ClosedRange<Int>, secret: String, log: String, pid: Int32, watchdog: Int32) {
        self.port = port
        self.relayPorts = relayPorts
        self.secret = secret
        self.log = log
        self.pid = pid
        self.watchdog = watchdog
    }

    /// The TURN URLs for the calls plugin's `turn_urls`. (It listens on TCP too, at
    /// `turn:127.0.0.1:<port>?transport=tcp`; aiortc uses the first TURN URL it is given.)
    var urls: [String] { ["turn:127.0.0.1:\(port)?transport=udp"] }

    /// The log's text so far.
    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Credentials as coturn's TURN REST scheme checks them: `"<expiry unix s>:<user>"` and
    /// base64(HMAC-SHA1(secret, username)).
    func credentials(user: String, ttl: Int = 3600, now: Date = Date()) -> (username: String, credential: String) {
        Self.credentials(secret: secret, user: user, expiry: Int(now.timeIntervalSince1970) + ttl)
    }

    static func credentials(secret: String, user: String, expiry: Int) -> (username: String, credential: String) {
        let username = "\(expiry):\(user)"
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return (username, Data(mac).base64EncodedString())
    }

    /// Starts a server on free ports and waits until it answers a STUN Binding request.
    static func start(secret: String) throws -> Coturn {
        let turnserver = ["/usr/bin/turnserver", "/usr/sbin/turnserver", "/usr/local/bin/turnserver"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let turnserver else { throw TestFailure("turnserver is missing: scripts/install-deps installs coturn") }
        let python = Fixtures.packageRoot + "/.build-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("\(python) is missing: scripts/test makes the venv")
        }
        let folder = try Fixtures.temporaryDirectory()
        var failures: [String] = []
        for attempt in 0..<5 {
            // Outside Linux's ephemeral range (32768-60999), where the peers' own sockets land.
            let port = Int.random(in: 10_000...19_999)
            let relayStart = 20_000 + 100 * Int.random(in: 0..<120)
            let relayPorts = relayStart...(relayStart + 99)
            guard portIsFree(port, SOCK_STREAM), portIsFree(port, SOCK_DGRAM), portIsFree(relayStart, SOCK_DGRAM),
                portIsFree(relayStart + 99, SOCK_DGRAM)
            else { continue }
            let log = folder + "/turnserver-\(attempt).log"
            let pidFile = folder + "/turnserver-\(attempt).pid"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [Fixtures.packageRoot + "/Tests/Clients/with_parent.py", turnserver] + arguments(
                port: port, relayPorts: relayPorts, secret: secret, log: log, pidFile: pidFile, database: folder + "/turndb-\(attempt)")
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, process.isRunning {
                if stunBinding(port: port) {
                    let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                    return Coturn(port: port, relayPorts: relayPorts, secret: secret, log: log, pid: pid ?? 0, watchdog: process.processIdentifier)
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            let tail = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").suffix(5).joined(separator: " | ")
            failures.append("port \(port): \(process.isRunning ? "no STUN answer" : "exited \(process.terminationStatus)"): \(tail)")
            if let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGKILL)
            }
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        }
        throw TestFailure("turnserver did not start: \(failures.joined(separator: "; "))")
    }

    /// turnserver's command line (coturn 4.6).
    static func arguments(port: Int, relayPorts: ClosedRange<Int>, secret: String, log: String, pidFile: String, database: String) -> [String] {
        [
            "-n",  // no configuration file
            "--verbose",  // allocations, permissions, channel bindings and usage in the log
            "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-port=\(port)",
            "--min-port=\(relayPorts.lowerBound)", "--max-port=\(relayPorts.upperBound)",
            "--use-auth-secret", "--static-auth-secret=\(secret)", "--realm=\(realm)",
            "--allow-loopback-peers",  // the peers' relayed addresses are on 127.0.0.1 too
            "--no-tls", "--no-dtls", "--no-cli",
            "--no-rfc5780",  // else it wants port + 1 as well, for NAT behaviour discovery
            "--log-file=\(log)", "--simple-log", "--no-stdout-log",
            "--pidfile=\(pidFile)", "--userdb=\(database)",  // not the system's /var/run and /var/lib/turn
        ]
    }

    /// Stops the server (and so its watchdog).
    func stop() {
        guard !stopped.withLock({ was in defer { was = true }; return was }) else { return }
        if pid > 0 { kill(pid, SIGTERM) }
        kill(watchdog, SIGTERM)
    }

    /// The bytes relayed to and from peers (`rb` + `sb` of the log's `peer usage` lines, which
    /// coturn writes as each allocation is released), of usernames ending in `:<user>`, or all.
    func relayedPeerBytes(user: String? = nil) -> Int {
        var total = 0
        for line in logText.split(separator: "\n") where line.contains("peer usage:") {
            if let user, !line.contains(":\(user)>") { continue }
            for part in line.split(whereSeparator: { $0 == "," || $0 == " " }) {
                let pieces = part.split(separator: "=", maxSplits: 1)
                if pieces.count == 2, pieces[0] == "rb" || pieces[0] == "sb", let bytes = Int(pieces[1]) { total += bytes }
            }
        }
        return total
    }

    /// The number of allocations the server granted (`ALLOCATE processed, success`).
    var allocations: Int {
        logText.split(separator: "\n").filter { $0.contains("ALLOCATE processed, success") }.count
    }

    private static func portIsFree(_ port: Int, _ type: __socket_type) -> Bool {
        let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Whether a STUN Binding request (RFC 5389) to 127.0.0.1:`port` over UDP gets a success answer within 0.3 s.
    static func stunBinding(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let transaction = (0..<12).map { _ in UInt8.random(in: 0...255) }
        let request: [UInt8] = [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42] + transaction
        var address = loopback(port)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(descriptor, request, request.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == request.count else { return false }
        var answer = [UInt8](repeating: 0, count: 1500)
        let count = recv(descriptor, &answer, answer.count, 0)
        return count >= 20 && answer[0] == 0x01 && answer[1] == 0x01 && Array(answer[8..<20]) == transaction
    }
}
