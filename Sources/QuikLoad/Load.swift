import ArgumentParser
import AsyncHTTPClient
import Foundation
import QuikHost
import QuikBenchKit
import QuikRuntime
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `quikapp-load`: a load generator for the messaging plugins. It starts
/// `quikapp serve` as a child process on a private MariaDB, builds a workspace
/// with one channel of N members, and prints, each beside a baseline from the
/// same run:
///
/// - messages per second accepted by `POST /messages` from concurrent posters
///   (baseline: `GET /health` at the same concurrency);
/// - post-to-receive latency p50/p99 with every member connected
///   (baseline: ping/pong round trips on the same sockets);
/// - server memory per idle connected socket (baseline: the idle server's RSS).
///
///     swift build && .build/debug/quikapp-load [--users 1000] [--posters 50] [--seconds 5] [--messages 100] [--sockets 5000]
@main
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quikapp-load", abstract: "A load generator for the messaging plugins, each figure beside a same-run baseline.")

    @Option(help: "Workspace members (registered users).")
    var users = 1000

    @Option(help: "Concurrent posters.")
    var posters = 50

    @Option(help: "Seconds of posting for the throughput figure.")
    var seconds = 5.0

    @Option(help: "Messages timed from post to receipt.")
    var messages = 100

    @Option(help: "Two-party calls for the signaling figure (0 skips it; needs twice as many users).")
    var calls = 0

    @Option(help: "Idle sockets for the memory figure.")
    var sockets = 5000

    func run() async throws {
        let options = self
        let build = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("quikapp-load-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let databaseDirectory = "/tmp/quikapp-load-db-\(getpid())"
        print("quikapp-load on \(ProcessInfo.processInfo.activeProcessorCount) cores: \(options.users) members, \(options.posters) posters, \(options.sockets) sockets")
        let database = try await DatabaseBenchmark.startServer(directory: databaseDirectory)
        let socket = database.socket
        let port = Int.random(in: 20000...40000)
        let server = try Self.startServer(build: build, scratch: scratch, socket: socket, port: port)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: {
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(options.posters, 16)
            return configuration
        }())
        let http = LoadHTTP(base: "http://127.0.0.1:\(port)", client: client)
        do {
            try await Self.waitForHealth(http)
            try await Self.measure(options, http: http, port: port, serverPID: server.processIdentifier)
        } catch {
            print("load failed: \(error)")
        }
        try? await client.shutdown()
        server.terminate()
        server.waitUntilExit()
        await database.stop()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    static func startServer(build: String, scratch: String, socket: String, port: Int) throws -> Process {
        let prefix = "l" + String(UInt32.random(in: 0...UInt32.max), radix: 36) + "_"
        // Argon2 is turned down here: setting up a thousand accounts is not what is measured (quikapp-bench times Argon2).
        let yaml = """
            server:
              port: \(port)
              state_dir: \(scratch)/state
              socket_queue_capacity: 4096
              rate_limits:
                enabled: false
            database:
              url: \(socket)
              schema_prefix: \(prefix)
              pool_size: 16
            plugins:
              auth:
                path: \(build)/libauth.so
                settings: {argon2_memory_kib: 1024, argon2_iterations: 1, max_failures_per_ip: 100000, max_registrations_per_ip: 1000000}
              user: {path: \(build)/libuser.so}
              workspace: {path: \(build)/libworkspace.so}
              channel: {path: \(build)/libchannel.so}
              message: {path: \(build)/libmessage.so}
              calls: {path: \(build)/libcalls.so}
            """
        try yaml.write(toFile: scratch + "/plugins.yml", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: build + "/quikapp")
        process.arguments = ["serve", "--config", scratch + "/plugins.yml", "--log-level", "error"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return process
    }

    static func waitForHealth(_ http: LoadHTTP) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let reply = try? await http.send(.GET, "/health"), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw LoadError("the server did not become healthy")
    }

    struct Member: Sendable {
        let id: String
        let token: String
    }

    /// Runs `body` over `items` with at most `width` at a time.
    static func concurrently<T: Sendable, R: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
        try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var results = [R?](repeating: nil, count: items.count)
            var next = 0
            for _ in 0..<min(width, items.count) {
                let index = next
                group.addTask { (index, try await body(items[index])) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < items.count {
                    let index = next
                    group.addTask { (index, try await body(items[index])) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    static func measure(_ options: Load, http: LoadHTTP, port: Int, serverPID: Int32) async throws {
        let clock = ContinuousClock()
        let setupStarted = clock.now
        let members = try await concurrently(Array(0..<options.users), width: 16) { index in
            let body = try await http.expect(
                201, .POST, "/api/v1/auth/register",
                json: ["email": "load\(index)@example.com", "password": "load password \(index)", "display_name": "Load \(index)"])
            return Member(id: (body["user"] as? [String: Any])?["id"] as? String ?? "", token: body["access_token"] as? String ?? "")
        }
        let owner = members[0]
        let workspace = try await http.expect(201, .POST, "/api/v1/workspaces", json: ["name": "Load", "slug": "load"], token: owner.token)
        let workspaceId = workspace["id"] as? String ?? ""
        let code = try await http.expect(201, .POST, "/api/v1/workspaces/\(workspaceId)/invites", token: owner.token)["code"] as? String ?? ""
        _ = try await concurrently(Array(members.dropFirst()), width: 16) { member in
            _ = try await http.expect(200, .POST, "/api/v1/workspaces/join", json: ["code": code], token: member.token)
        }
        let channel = try await http.expect(
            201, .POST, "/api/v1/channels", json: ["workspace_id": workspaceId, "name": "load", "kind": "public"], token: owner.token)
        let channelId = channel["id"] as? String ?? ""
        _ = try await concurrently(Array(members.dropFirst()), width: 16) { member in
            _ = try await http.expect(200, .POST, "/api/v1/channels/\(channelId)/join", token: member.token)
        }
        print(String(format: "set-up: %d members in one workspace and channel in %.1f s", members.count, (clock.now - setupStarted).milliseconds / 1000))

        if options.calls > 0 {
            try await calls(options, http: http, port: port, members: members, workspaceId: workspaceId)
            return
        }
        try await throughput(options, http: http, members: members, channelId: channelId)
        let idleRSS = residentKiB(serverPID)
        let sockets = try await latency(options, http: http, port: port, members: members, channelId: channelId)
        try await memory(options, port: port, members: members, open: sockets, idleRSS: idleRSS, serverPID: serverPID)
    }

    // MARK: Throughput

    static func throughput(_ options: Load, http: LoadHTTP, members: [Member], channelId: String) async throws {
        let posters = Array(members.prefix(options.posters))
        func hammer(_ seconds: Double, _ request: @escaping @Sendable (Member, Int) async throws -> Bool) async throws -> Double {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            let started = ContinuousClock.now
            let counts = try await concurrently(posters, width: posters.count) { member in
                var done = 0
                var sequence = 0
                while ContinuousClock.now < deadline {
                    sequence += 1
                    if try await request(member, sequence) { done += 1 }
                }
                return done
            }
            return Double(counts.reduce(0, +)) / ((ContinuousClock.now - started).milliseconds / 1000)
        }
        let health: @Sendable (Member, Int) async throws -> Bool = { _, _ in try await http.send(.GET, "/health").status == 200 }
        let post: @Sendable (Member, Int) async throws -> Bool = { member, sequence in
            let reply = try await http.send(
                .POST, "/api/v1/messages", json: ["channel_id": channelId, "text": "throughput \(sequence) from \(member.id)"], token: member.token)
            guard reply.status == 201 else { throw LoadError("post answered \(reply.status)") }
            return true
        }
        _ = try await hammer(1, health)
        _ = try await hammer(1, post)
        var healthRates: [Double] = []
        var postRates: [Double] = []
        for _ in 0..<2 {
            healthRates.append(try await hammer(options.seconds / 2, health))
            postRates.append(try await hammer(options.seconds / 2, post))
        }
        let healthRate = healthRates.reduce(0, +) / 2
        let postRate = postRates.reduce(0, +) / 2
        print(String(
            format: "POST /messages, %d concurrent posters, no sockets: %.0f messages/s accepted; GET /health at the same concurrency %.0f req/s; ratio %.3f (goal >= 2000 messages/s)",
            posters.count, postRate, healthRate, postRate / healthRate))
    }

    // MARK: Latency

    static func latency(_ options: Load, http: LoadHTTP, port: Int, members: [Member], channelId: String) async throws -> [LoadSocket] {
        let url = "ws://127.0.0.1:\(port)/api/v1/realtime"
        let arrivals = Mutex<[Int: [ContinuousClock.Instant]]>([:])
        let pongs = Mutex<[String: ContinuousClock.Instant]>([:])
        var sockets: [LoadSocket] = []
        for batch in stride(from: 0, to: members.count, by: 100) {
            let opened = members[batch..<min(batch + 100, members.count)].map { member in
                LoadSocket(url: url, token: member.token) { text in
                    let now = ContinuousClock.now
                    if let marker = text.range(of: "\"text\":\"load-") {
                        let digits = text[marker.upperBound...].prefix { $0.isNumber }
                        if let sequence = Int(digits) { arrivals.withLock { $0[sequence, default: []].append(now) } }
                    } else if text.contains("\"pong\""), let id = text.range(of: "\"id\":\"") {
                        let key = String(text[id.upperBound...].prefix { $0 != "\"" })
                        pongs.withLock { $0[key] = now }
                    }
                }
            }
            for socket in opened { try await socket.ready.value }
            sockets += opened
        }
        print("\(sockets.count) members connected")

        let pingSamples = try await pingBaseline(sockets, prefix: "p") { pongs.withLock { $0 } }

        let poster = members[0]
        var sent: [Int: ContinuousClock.Instant] = [:]
        for sequence in 1...options.messages {
            sent[sequence] = ContinuousClock.now
            let reply = try await http.send(.POST, "/api/v1/messages", json: ["channel_id": channelId, "text": "load-\(sequence)"], token: poster.token)
            guard reply.status == 201 else { throw LoadError("post answered \(reply.status)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let expected = options.messages * sockets.count
        let deadline = ContinuousClock.now + .seconds(30)
        while arrivals.withLock({ $0.values.reduce(0) { $0 + $1.count } }) < expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let received = arrivals.withLock { $0 }
        let samples = received.flatMap { sequence, times in times.compactMap { time in sent[sequence].map { (time - $0).milliseconds } } }
        let p50 = Percentile.of(samples, 0.5)
        let p99 = Percentile.of(samples, 0.99)
        let ping50 = Percentile.of(pingSamples, 0.5)
        let ping99 = Percentile.of(pingSamples, 0.99)
        print(String(
            format: "post-to-receive, channel of %d members all connected: %d of %d deliveries; p50 %.1f ms, p99 %.1f ms; socket ping/pong p50 %.2f ms, p99 %.2f ms; ratio p99/ping p99 %.1f (goal p99 < 50 ms)",
            sockets.count, samples.count, expected, p50, p99, ping50, ping99, p99 / ping99))
        return sockets
    }

    // MARK: Memory

    static func residentKiB(_ pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return .nan }
        return Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
    }

    static func memory(_ options: Load, port: Int, members: [Member], open: [LoadSocket], idleRSS: Double, serverPID: Int32) async throws {
        let url = "ws://127.0.0.1:\(port)/api/v1/realtime"
        var sockets = open
        var index = 0
        while sockets.count < options.sockets {
            let batch = (0..<min(100, options.sockets - sockets.count)).map { offset in
                LoadSocket(url: url, token: members[(index + offset) % members.count].token) { _ in }
            }
            for socket in batch { try await socket.ready.value }
            sockets += batch
            index += batch.count
        }
        try await Task.sleep(for: .seconds(2))
        let fullRSS = residentKiB(serverPID)
        print(String(
            format: "memory: server RSS %.1f MiB before any socket, %.1f MiB with %d idle sockets: %.1f KiB per socket (goal < 30 KiB)",
            idleRSS / 1024, fullRSS / 1024, sockets.count, (fullRSS - idleRSS) / Double(sockets.count)))
        for batch in stride(from: 0, to: sockets.count, by: 500) {
            await withTaskGroup(of: Void.self) { group in
                for socket in sockets[batch..<min(batch + 500, sockets.count)] { group.addTask { await socket.close() } }
            }
        }
    }
}

// MARK: Calls

extension Load {
    /// The baseline: ping/pong round trips on 50 of `sockets`, four rounds; `pongs` gives when each pong arrived, by id.
    static func pingBaseline(
        _ sockets: [LoadSocket], prefix: String, pongs: () -> [String: ContinuousClock.Instant]
    ) async throws -> [Double] {
        var samples: [Double] = []
        for round in 0..<4 {
            var sent: [String: ContinuousClock.Instant] = [:]
            for (index, socket) in sockets.prefix(50).enumerated() {
                let key = "\(prefix)\(round)-\(index)"
                sent[key] = ContinuousClock.now
                socket.send("{\"type\":\"ping\",\"id\":\"\(key)\"}")
            }
            try await Task.sleep(for: .milliseconds(500))
            let received = pongs()
            samples += sent.compactMap { key, at in received[key].map { ($0 - at).milliseconds } }
        }
        return samples
    }

    /// `calls` two-party calls at once, each caller sending ICE candidates to the callee's session
    /// (`call.signal`, relayed to that one socket) for `seconds`: frames relayed a second and relay
    /// latency, beside ping/pong on the same sockets.
    static func calls(_ options: Load, http: LoadHTTP, port: Int, members: [Member], workspaceId: String) async throws {
        let pairs = min(options.calls, members.count / 2)
        let url = "ws://127.0.0.1:\(port)/api/v1/realtime"
        let arrivals = Mutex<[String: ContinuousClock.Instant]>([:])
        let pongs = Mutex<[String: ContinuousClock.Instant]>([:])
        var sockets: [LoadSocket] = []
        for member in members.prefix(pairs * 2) {
            let socket = LoadSocket(url: url, token: member.token) { text in
                let now = ContinuousClock.now
                if text.contains("\"call.signal\""), let marker = text.range(of: "typ relay m") {
                    let key = String(text[marker.upperBound...].prefix { $0 != "\"" && $0 != " " })
                    arrivals.withLock { $0[key] = now }
                } else if text.contains("\"pong\""), let id = text.range(of: "\"id\":\"") {
                    pongs.withLock { $0[String(text[id.upperBound...].prefix { $0 != "\"" })] = now }
                }
            }
            try await socket.ready.value
            sockets.append(socket)
        }
        var targets: [(caller: LoadSocket, callId: String, to: String)] = []
        for pair in 0..<pairs {
            let (a, b) = (members[2 * pair], members[2 * pair + 1])
            let direct = try await http.expect(200, .POST, "/api/v1/channels/direct", json: ["workspace_id": workspaceId, "user_ids": [b.id]], token: a.token)
            let call = try await http.expect(
                201, .POST, "/api/v1/calls", json: ["channel_id": direct["id"] as? String ?? "", "connection_id": sockets[2 * pair].connectionId], token: a.token)
            let callId = call["id"] as? String ?? ""
            _ = try await http.expect(200, .POST, "/api/v1/calls/\(callId)/join", json: ["connection_id": sockets[2 * pair + 1].connectionId], token: b.token)
            targets.append((sockets[2 * pair], callId, sockets[2 * pair + 1].connectionId))
        }
        print("\(pairs) calls up, each between two connected members")

        let pingSamples = try await pingBaseline(sockets, prefix: "c") { pongs.withLock { $0 } }

        // Every caller sends a candidate every 50 ms for the window.
        let sent = Departures()
        let window = Duration.milliseconds(Int64(options.seconds * 1000))
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for (index, target) in targets.enumerated() {
                let (caller, callId, to) = target
                group.addTask {
                    var sequence = 0
                    while ContinuousClock.now - started < window {
                        let key = "\(index)x\(sequence)"
                        sent.times.withLock { $0[key] = ContinuousClock.now }
                        caller.send(
                            #"{"type":"call.signal","call_id":"\#(callId)","to_session_id":"\#(to)","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ relay m\#(key)","sdp_mid":"0","sdp_mline_index":0}}"#)
                        sequence += 1
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        try await Task.sleep(for: .seconds(2))
        let departures = sent.times.withLock { $0 }
        let received = arrivals.withLock { $0 }
        let samples = received.compactMap { key, at in departures[key].map { (at - $0).milliseconds } }
        print(String(
            format: "signaling, %d two-party calls: %d of %d candidates relayed, %.0f frames/s; relay p50 %.2f ms, p99 %.2f ms; socket ping/pong p50 %.2f ms, p99 %.2f ms; ratio p99/ping p99 %.1f",
            pairs, samples.count, departures.count, Double(samples.count) / (elapsed.milliseconds / 1000), Percentile.of(samples, 0.5),
            Percentile.of(samples, 0.99), Percentile.of(pingSamples, 0.5), Percentile.of(pingSamples, 0.99),
            Percentile.of(samples, 0.99) / Percentile.of(pingSamples, 0.99)))
        for socket in sockets { await socket.close() }
    }
}

/// When each signal left, from any task.
final class Departures: Sendable {
    let times = Mutex<[String: ContinuousClock.Instant]>([:])
}
