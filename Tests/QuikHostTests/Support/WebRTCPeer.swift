import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One real WebRTC participant of a call: `Tests/Clients/webrtc_peer.py` (aiortc, relay-only
/// ICE through the TURN server `GET /api/v1/calls/turn` names) in the venv, under
/// `with_parent.py`. Commands go to its stdin as JSON lines; its stdout events (JSON lines,
/// documented at the top of the script) are kept in order for `waitFor`.
///
///     let alice = try WebRTCPeer.start(port: host.port, token: aliceToken, name: "alice")
///     let call = try await alice.request(["cmd": "start", "channel_id": channel])
///     _ = try await bob.waitFor("ringing", timeout: .seconds(10)) { $0["topic"] as? String == "call.ringing" }
final class WebRTCPeer: Sendable {
    let name: String
    /// The `connection_id` of its realtime socket (its `session_id` in a call).
    let connectionId: String
    /// The `user_id` of its hello.
    let userId: String
    /// The Python peer's own pid (not its watchdog's).
    let pid: Int32
    /// Its stderr: Python's warnings and tracebacks (aiortc's debug logs with `verbose`).
    let log: String
    private let watchdog: Int32
    /// Its stdin's write end; -1 once closed.
    private let input: Mutex<Int32>
    private let output: Output

    /// The stdout lines, filled by a reader thread of its own.
    private final class Output: Sendable {
        let lines = Mutex<[String]>([])
        let ended = Mutex(false)
    }

    private init(name: String, connectionId: String, userId: String, pid: Int32, log: String, watchdog: Int32, input: Int32, output: Output) {
        self.name = name
        self.connectionId = connectionId
        self.userId = userId
        self.pid = pid
        self.log = log
        self.watchdog = watchdog
        self.input = Mutex(input)
        self.output = output
    }

    /// A write to the stdin of a peer that has died must not kill the test process.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Starts a peer against the server on 127.0.0.1:`port` and waits (up to 30 s) for its
    /// hello. `base` overrides the server's URL; `realtime` the socket's.
    static func start(port: Int, token: String, name: String, verbose: Bool = false) throws -> WebRTCPeer {
        try start(base: "http://127.0.0.1:\(port)", token: token, name: name, verbose: verbose)
    }

    static func start(base: String, realtime: String? = nil, token: String, name: String, verbose: Bool = false) throws -> WebRTCPeer {
        _ = ignoreSIGPIPE
        let root = Fixtures.packageRoot
        let python = root + "/.build-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("\(python) is missing: scripts/test makes the venv")
        }
        let log = try Fixtures.temporaryDirectory() + "/webrtc-peer-\(name).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root + "/Tests/Clients/with_parent.py", python, root + "/Tests/Clients/webrtc_peer.py",
            "--base", base, "--token", token, "--name", name]
            + (realtime.map { ["--realtime", $0] } ?? []) + (verbose ? ["--verbose"] : [])
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        let input = dup(stdin.fileHandleForWriting.fileDescriptor)
        try? stdin.fileHandleForWriting.close()
        let output = Output()
        let reader = stdout.fileHandleForReading
        let thread = Thread {
            // read(2) itself: FileHandle.read(upToCount:) waits for the whole count on Linux.
            var pending = Data()
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = read(reader.fileDescriptor, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                pending.append(contentsOf: buffer[0..<count])
                var complete: [String] = []
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    complete.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending = Data(pending[(newline + 1)...])
                }
                if !complete.isEmpty { output.lines.withLock { $0.append(contentsOf: complete) } }
            }
            output.ended.withLock { $0 = true }
            try? reader.close()
            _ = process  // keeps the watchdog's Process (and its reaping) alive as long as the output
        }
        thread.start()
        let deadline = ContinuousClock.now + .seconds(30)
        var events: [[String: Any]] = []
        while ContinuousClock.now < deadline {
            events = output.lines.withLock { $0 }.compactMap(Self.parse)
            if let hello = events.first(where: { $0["event"] as? String == "hello" }),
                let started = events.first(where: { $0["event"] as? String == "started" }),
                let connection = hello["connection_id"] as? String, let pid = started["pid"] as? Int
            {
                return WebRTCPeer(name: name, connectionId: connection, userId: hello["user_id"] as? String ?? "", pid: Int32(pid),
                    log: log, watchdog: process.processIdentifier, input: input, output: output)
            }
            if output.ended.withLock({ $0 }) || events.contains(where: { $0["event"] as? String == "error" }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if let started = events.first(where: { $0["event"] as? String == "started" }), let pid = started["pid"] as? Int {
            Glibc.kill(Int32(pid), SIGKILL)
        }
        close(input)
        let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw TestFailure("webrtc peer \(name) did not say hello: \(events) \(stderr.suffix(2000))")
    }

    /// Every event so far, in order.
    var events: [[String: Any]] { output.lines.withLock { $0 }.compactMap(Self.parse) }

    /// Whether its output has ended (the process exited).
    var ended: Bool { output.ended.withLock { $0 } }

    /// Sends one command (a JSON line) to its stdin.
    func send(_ command: [String: Any]) {
        guard var data = try? JSONSerialization.data(withJSONObject: command) else { return }
        data.append(UInt8(ascii: "\n"))
        input.withLock { input in
            guard input >= 0 else { return }
            data.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(input, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }

    /// Sends `command` with a fresh `tag` and waits for its `done` (returned) or `error` (thrown).
    @discardableResult
    func request(_ command: [String: Any], timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        let tag = UUID().uuidString
        var tagged = command
        tagged["tag"] = tag
        let since = output.lines.withLock { $0.count }
        send(tagged)
        let answer = try await waitFor("the answer to \(command)", timeout: timeout, since: since) {
            ($0["event"] as? String == "done" || $0["event"] as? String == "error") && $0["tag"] as? String == tag
        }
        if answer["event"] as? String == "error" { throw TestFailure("\(name): \(command) failed: \(answer)") }
        return answer
    }

    /// The first event (from index `since` of `events` on) that `predicate` accepts, waiting
    /// up to `timeout` for it; throws, with the latest events, when none comes or the peer exits.
    @discardableResult
    func waitFor(_ description: String, timeout: Duration, since: Int = 0, where predicate: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var next = since
        while true {
            let ended = output.ended.withLock { $0 }
            let lines = output.lines.withLock { Array($0.dropFirst(next)) }
            for line in lines {
                next += 1
                if let event = Self.parse(line), predicate(event) { return event }
            }
            if ended || ContinuousClock.now >= deadline {
                let recent = output.lines.withLock { $0.suffix(15) }.map { $0.count > 400 ? $0.prefix(400) + "…" : Substring($0) }
                let stderr = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(1500)
                throw TestFailure(
                    "\(name): \(ended ? "exited" : "timed out after \(timeout)") waiting for \(description); last events:\n"
                        + recent.joined(separator: "\n") + (stderr.isEmpty ? "" : "\nstderr: \(stderr)"))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The data channel messages received so far from `session` (the latest `data` event's count).
    func received(from session: String) -> Int {
        events.last { $0["event"] as? String == "data" && $0["from_session"] as? String == session }?["count"] as? Int ?? 0
    }

    /// Waits until `count` data channel messages have come from `session`.
    @discardableResult
    func waitForData(from session: String, count: Int = 10, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        try await waitFor("\(count) messages from \(session)", timeout: timeout) {
            $0["event"] as? String == "data" && $0["from_session"] as? String == session && ($0["count"] as? Int ?? 0) >= count
        }
    }

    /// Waits for the `connected` event of the link to `session` (its data channel open); it
    /// names the nominated ICE pair's `local_type` and `remote_type` (both `relay`).
    @discardableResult
    func waitForConnected(to session: String, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        try await waitFor("a connection to \(session)", timeout: timeout) {
            $0["event"] as? String == "connected" && $0["session"] as? String == session
        }
    }

    /// Waits for a server event frame with `topic` (and, when given, matching `data`).
    @discardableResult
    func waitForFrame(_ topic: String, timeout: Duration = .seconds(30), since: Int = 0, where predicate: ([String: Any]) -> Bool = { _ in true }) async throws -> [String: Any] {
        let frame = try await waitFor("a \(topic) frame", timeout: timeout, since: since) {
            $0["event"] as? String == "frame" && $0["topic"] as? String == topic && predicate($0["data"] as? [String: Any] ?? [:])
        }
        return frame["data"] as? [String: Any] ?? [:]
    }

    /// Kills the Python peer at once (SIGKILL): its socket and connections drop without a
    /// goodbye, and its TURN allocations are left to expire. The watchdog then exits too.
    func kill() {
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// Ends the peer as a closed stdin does: it closes its connections (releasing its TURN
    /// allocations) and its socket, then exits; killed if still running after 10 s.
    func stop() {
        input.withLock { input in
            if input >= 0 { close(input) }
            input = -1
        }
        let output = output
        let pid = pid
        Thread.detachNewThread {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, !output.ended.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.1) }
            if !output.ended.withLock({ $0 }) { _ = Glibc.kill(pid, SIGKILL) }
        }
    }

    /// Waits until the peer has exited (its output ended); false after `timeout`.
    func waitForExit(timeout: Duration = .seconds(15)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if ended { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return ended
    }

    private static func parse(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}
