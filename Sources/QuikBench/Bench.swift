import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import QuikHost
import QuikBenchKit
import QuikRuntime
import QuikMariaDB
import QuikSupport
import QuikSDK

#if canImport(Glibc)
import Glibc
#endif

/// `quikapp-bench`: the host's figures, each as a ratio to a baseline measured in the same run.
///
///     swift build -c release && .build/release/quikapp-bench [--plugins 50] [--seconds 5] [--events 100000] [--slowloris 5000] [--file-megabytes 1024] [--search-messages 1000000] [--post-rate 500] [--jobs 100000] [--only files]
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quikapp-bench", abstract: "The host's figures, each as a ratio to a baseline measured in the same run.")

    @Option(help: "Plugins to load and set up for the load-time figure.")
    var plugins = 50

    @Option(help: "Seconds for each throughput measurement.")
    var seconds = 5.0

    @Option(help: "Concurrent HTTP clients.")
    var concurrency = 16

    @Option(help: "Events published for the event-bus figures.")
    var events = 100_000

    @Option(help: "Size of the file the files figures upload and download, in MiB.")
    var fileMegabytes = 1024

    @Option(help: "Slowloris connections held for the slow-client figures.")
    var slowloris = 5000

    @Option(help: "Messages stored for the search figures.")
    var searchMessages = 1_000_000

    @Option(help: "Posts a second while the search index lag is measured.")
    var postRate = 500

    @Option(help: "Channel members for the notifications figures (a tenth of them get a Web Push device).")
    var members = 5000

    @Option(help: "Durable jobs due at once for the jobs figures.")
    var jobs = 100_000

    @Option(help: "Run only these sections (repeatable): load, routes, bus, auth, argon2, resets, database, files, slowloris, search, jobs, notifications.")
    var only: [String] = []

    func runs(_ section: String) -> Bool { only.isEmpty || only.contains(section) }

    func run() async throws {
        let options = self
        let build = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("quikapp-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }

        print("quikapp-bench on \(ProcessInfo.processInfo.activeProcessorCount) cores; figures are ratios to a baseline taken in the same run")
        let databaseDirectory = "/tmp/quikapp-bench-db-\(getpid())"
        let server = try await DatabaseBenchmark.startServer(directory: databaseDirectory)
        Self.socket = server.socket
        defer { try? FileManager.default.removeItem(atPath: databaseDirectory) }
        do {
            try await sections(build: build, workspace: workspace)
        } catch {
            // A failed section must not leave its database server running.
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private func sections(build: String, workspace: String) async throws {
        let options = self
        if runs("load") { try await Self.loadTime(build: build, workspace: workspace, count: options.plugins) }
        if runs("routes") {
            try await Self.routeThroughput(build: build, workspace: workspace, seconds: options.seconds, concurrency: options.concurrency)
        }
        if runs("bus") {
            for subscribers in [1, 10] {
                try await Self.busThroughput(build: build, workspace: workspace, subscribers: subscribers, events: options.events)
            }
        }
        if runs("auth") {
            try await Self.authThroughput(build: build, workspace: workspace, seconds: options.seconds, concurrency: options.concurrency)
        }
        if runs("argon2") { Self.argon2Time() }
        if runs("resets") { try await Self.resetTiming(build: build, workspace: workspace) }
        if runs("database") {
            let database = try await DatabaseBenchmark.run(socket: Self.socket, seconds: options.seconds, poolSize: 4)
            print(String(
                format: "primary-key SELECT: raw connection %.0f/s; pool, 1 caller %.0f/s (ratio %.2f); pool of %d, 16 callers %.0f/s (ratio %.2f)",
                database.rawPerSecond, database.pooledOneCaller, database.pooledOneCaller / database.rawPerSecond, database.poolSize,
                database.pooledSixteenCallers, database.pooledSixteenCallers / database.rawPerSecond))
            print(String(format: "lease wait with 16 callers on %d connections: p50 %.3f ms, p99 %.3f ms", database.poolSize, database.leaseP50Ms, database.leaseP99Ms))
        }
        if runs("files") { try await Self.files(build: build, workspace: workspace, megabytes: options.fileMegabytes) }
        if runs("slowloris") { try await Self.slowloris(workspace: workspace, seconds: options.seconds, connections: options.slowloris) }
        if runs("search") {
            try await Self.search(build: build, workspace: workspace, count: options.searchMessages, rate: options.postRate, seconds: options.seconds)
        }
        if runs("jobs") { try await Self.jobs(build: build, workspace: workspace, count: options.jobs) }
        if runs("notifications") { try await Self.notifications(build: build, workspace: workspace, members: options.members) }
    }

    /// The benchmark's database server; every host here uses it with its own schema prefix.
    nonisolated(unsafe) static var socket = ""

    static func baseConfiguration(workspace: String) -> HostConfiguration {
        var configuration = HostConfiguration()
        configuration.port = 0
        configuration.stateDirectory = workspace + "/state"
        configuration.database.url = socket
        configuration.database.schemaPrefix = "b" + String(UInt32.random(in: 0...UInt32.max), radix: 36) + "_"
        // The load comes from one address and one user, far past any person's rate.
        configuration.rateLimits.enabled = false
        return configuration
    }

    static func logger() -> Logger {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        return logger
    }

    static func replicas(build: String, workspace: String, prefix: String, count: Int) throws -> [(name: String, path: String)] {
        try (1...count).map { index in
            let name = "\(prefix)-\(index)"
            let path = "\(workspace)/lib\(name).so"
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: "\(build)/libFixtureReplica.so", toPath: path)
            return (name, path)
        }
    }

    /// Runs `host` until it is shut down; returns its port once it listens, and the running task.
    static func serve(_ host: QuikHost) async throws -> (Int, Task<Void, any Error>) {
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = Task { try await host.run { readyContinuation.yield($0) } }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BenchError("the host did not start") }
        return (port, server)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    // MARK: Load time

    /// Time for the host to load and set up N plugins, against a bare `dlopen` of N copies of the same library.
    static func loadTime(build: String, workspace: String, count: Int) async throws {
        let bare = try replicas(build: build, workspace: workspace, prefix: "bare", count: count)
        let clock = ContinuousClock()
        let bareTime = clock.measure {
            for replica in bare { _ = dlopen(replica.path, RTLD_NOW | RTLD_LOCAL) }
        }
        let loaded = try replicas(build: build, workspace: workspace, prefix: "replica", count: count)
        var configuration = baseConfiguration(workspace: workspace)
        configuration.plugins = loaded.map { PluginEntry(name: $0.name, path: $0.path, location: SourceLocation(file: "bench", line: 0, column: 0)) }
        let host = try QuikHost(configuration: configuration, logger: logger())
        let startTime = try await clock.measure { try await host.start() }
        let running = host.pluginStatuses.filter { $0.state == .running }.count
        let loading = host.pluginStatuses.compactMap(\.loadMs).reduce(0, +)
        print(String(
            format: "load %d plugins: %.1f ms (%.3f ms each, %d running; host start-up with its database %.1f ms); bare dlopen of the same: %.1f ms; ratio %.2f",
            count, loading, loading / Double(count), running, milliseconds(startTime), milliseconds(bareTime),
            loading / max(milliseconds(bareTime), 0.001)))
        await host.stop()
    }

    // MARK: Route throughput

    /// Requests per second on a plugin route and on the same handler served by the host itself.
    static func routeThroughput(build: String, workspace: String, seconds: Double, concurrency: Int) async throws {
        var configuration = baseConfiguration(workspace: workspace)
        configuration.plugins = [PluginEntry(name: "echo", path: "\(build)/libFixtureEchoV1.so", location: SourceLocation(file: "bench", line: 0, column: 0))]
        // The same body as echo's /hello, answered by the host without a plugin in between.
        let builtin = BuiltinRoute(method: .get, path: "/api/v1/host-bench/hello", options: RouteOptions(requiresAuthentication: false)) { _ in
            try .json(["version": "1.0.0", "greeting": "hello"])
        }
        let host = try QuikHost(configuration: configuration, builtinRoutes: [builtin], logger: logger())
        let (port, server) = try await serve(host)

        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let hostURL = "http://127.0.0.1:\(port)/api/v1/host-bench/hello"
        let pluginURL = "http://127.0.0.1:\(port)/api/v1/echo/hello"
        _ = try await load(client, url: hostURL, seconds: 1, concurrency: concurrency)
        _ = try await load(client, url: pluginURL, seconds: 1, concurrency: concurrency)
        // Alternate so that machine noise falls on both sides.
        var hostRates: [Double] = []
        var pluginRates: [Double] = []
        for _ in 0..<3 {
            hostRates.append(try await load(client, url: hostURL, seconds: seconds / 3, concurrency: concurrency))
            pluginRates.append(try await load(client, url: pluginURL, seconds: seconds / 3, concurrency: concurrency))
        }
        try await client.shutdown()
        await host.shutdown()
        try await server.value
        let hostRate = hostRates.reduce(0, +) / Double(hostRates.count)
        let pluginRate = pluginRates.reduce(0, +) / Double(pluginRates.count)
        print(String(
            format: "route throughput, %d concurrent clients: plugin %.0f req/s, host %.0f req/s; ratio plugin/host %.3f (goal >= 0.9)",
            concurrency, pluginRate, hostRate, pluginRate / hostRate))
    }

    static func load(
        _ client: HTTPClient, url: String, seconds: Double, concurrency: Int, headers: [String: String] = [:]
    ) async throws -> Double {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let started = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        var request = HTTPClientRequest(url: url)
                        for (name, value) in headers { request.headers.add(name: name, value: value) }
                        let response = try await client.execute(request, timeout: .seconds(10))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        guard response.status == .ok else { throw BenchError("\(url) answered \(response.status)") }
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / (milliseconds(ContinuousClock.now - started) / 1000)
    }

    // MARK: Event bus

    /// Events per second from one publisher to N subscribers (each in its own plugin), publish to last delivery.
    static func busThroughput(build: String, workspace: String, subscribers: Int, events: Int) async throws {
        var configuration = baseConfiguration(workspace: workspace)
        configuration.eventQueueCapacity = events
        let location = SourceLocation(file: "bench", line: 0, column: 0)
        let copies = try replicas(build: build, workspace: workspace, prefix: "sub\(subscribers)", count: subscribers)
        configuration.plugins = [PluginEntry(name: "echo", path: "\(build)/libFixtureEchoV1.so", location: location)]
            + copies.map { PluginEntry(name: $0.name, path: $0.path, location: location) }
        let host = try QuikHost(configuration: configuration, logger: logger())
        let (port, server) = try await serve(host)

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let started = ContinuousClock.now
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/echo/publish?topic=echo.tick&n=\(events)")
        request.method = .POST
        let published = try await client.execute(request, timeout: .seconds(600))
        let body = try await published.body.collect(upTo: 1 << 16)
        let publishMs = (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Double])?["elapsed_ms"] ?? 0
        for copy in copies {
            while true {
                let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/\(copy.name)/count"), timeout: .seconds(10))
                let data = try await response.body.collect(upTo: 1 << 16)
                let count = (try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Int])?["count"] ?? 0
                if count >= events { break }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        let elapsed = milliseconds(ContinuousClock.now - started) / 1000
        try await client.shutdown()
        await host.shutdown()
        try await server.value
        print(String(
            format: "event bus, %d subscriber(s): %.0f events/s published and delivered to all (%.0f deliveries/s); publishing alone %.0f events/s",
            subscribers, Double(events) / elapsed, Double(events * subscribers) / elapsed, Double(events) / (publishMs / 1000)))
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
