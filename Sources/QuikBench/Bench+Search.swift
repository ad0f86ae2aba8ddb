import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import QuikHost
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport

extension Bench {
    /// Message search over `count` stored messages: latency of each query form through
    /// the API beside the same query as a `LIKE '%…%'` scan on the message table; then
    /// the lag from a post's answer to it being found, under `rate` posts a second,
    /// beside the lag to it showing in the channel's history.
    static func search(build: String, workspace: String, count: Int, rate: Int, seconds: Double) async throws {
        var configuration = baseConfiguration(workspace: workspace)
        let location = SourceLocation(file: "bench", line: 0, column: 0)
        configuration.plugins = ["auth", "user", "workspace", "channel", "message", "search"].map {
            PluginEntry(name: $0, path: "\(build)/lib\($0).so", location: location)
        }
        configuration.plugins[0].settings = ["max_registrations_per_ip": .int(100_000)]
        let prefix = configuration.database.schemaPrefix
        let host = try QuikHost(configuration: configuration, logger: logger())
        let (port, server) = try await serve(host)
        let api = BenchAPI(port: port)

        let registered = try await api.call(.POST, "/auth/register", #"{"email":"search@example.com","password":"bench password 1","display_name":"Searcher"}"#)
        guard let token = registered["access_token"] as? String, let userId = (registered["user"] as? [String: Any])?["id"] as? String else {
            throw BenchError("register failed")
        }
        guard let workspaceId = try await api.call(.POST, "/workspaces", #"{"name":"Bench","slug":"bench-search"}"#, token: token)["id"] as? String else {
            throw BenchError("workspace failed")
        }
        var channels: [String] = []
        for index in 0..<20 {
            let body = #"{"workspace_id":"\#(workspaceId)","name":"c\#(index)"}"#
            guard let id = try await api.call(.POST, "/channels", body, token: token)["id"] as? String else { throw BenchError("channel failed") }
            channels.append(id)
        }

        // The corpus: made-up words with a Zipf-like spread, 8–20 a message, one in twenty with a link.
        let corpus = Corpus(size: 20_000)
        let admin = try await MySQLConnection.connect(
            to: ConnectionTarget(socket: socket, user: OSUser.name, database: nil), connectTimeout: .seconds(5), statementTimeout: .seconds(3600))
        let messages = "`\(prefix)message`.messages"
        let index = "`\(prefix)search`.messages"
        let loadStarted = ContinuousClock.now
        _ = try await admin.perform("ALTER TABLE \(index) DROP INDEX words", [])
        let span: TimeInterval = 365 * 86_400
        let start = Date().addingTimeInterval(-span - 86_400)
        var generator = SystemRandomNumberGenerator()
        let batch = 2000
        for first in stride(from: 0, to: count, by: batch) {
            var messageRows: [String] = []
            var indexRows: [String] = []
            for number in first..<min(count, first + batch) {
                let at = start.addingTimeInterval(span * Double(number) / Double(count))
                // As the message plugin makes them (kind, 9 base-36 digits of milliseconds, 8 more), so they sort among real ones.
                let millis = String(UInt64(at.timeIntervalSince1970 * 1000), radix: 36)
                let serial = String(number, radix: 36)
                let id = "M" + String(repeating: "0", count: max(0, 9 - millis.count)) + millis + String(repeating: "0", count: max(0, 8 - serial.count)) + serial
                let text = corpus.message(&generator)
                let channel = channels[number % channels.count]
                let created = String(QuikTime.format(at).dropLast())
                messageRows.append("('\(id)','\(channel)','\(userId)','\(text)','\(created)')")
                indexRows.append("('\(id)','\(channel)','\(userId)','\(text)',0,\(text.contains("https://") ? 1 : 0),'\(created)','\(created)')")
            }
            _ = try await admin.perform(
                "INSERT INTO \(messages) (id, channel_id, author_id, text, created_at) VALUES \(messageRows.joined(separator: ","))", [])
            _ = try await admin.perform(
                "INSERT INTO \(index) (message_id, channel_id, author_id, text, has_file, has_link, created_at, version) VALUES \(indexRows.joined(separator: ","))",
                [])
        }
        let loaded = ContinuousClock.now - loadStarted
        let indexStarted = ContinuousClock.now
        _ = try await admin.perform("ALTER TABLE \(index) ADD FULLTEXT KEY words (text)", [])
        let indexed = ContinuousClock.now - indexStarted
        print(String(
            format: "search: %d messages stored in %.1f s, FULLTEXT index built in %.1f s", count, milliseconds(loaded) / 1000,
            milliseconds(indexed) / 1000))

        // Query forms, each with its LIKE twin (conditions on the message table).
        let (common, medium, medium2, rare) = (corpus.word(rank: 30), corpus.word(rank: 800), corpus.word(rank: 1500), corpus.word(rank: 12_000))
        let phrase = try await admin.perform(
            "SELECT text FROM \(messages) WHERE text LIKE ? LIMIT 1", [.text("% \(medium) %")]
        ).0.first?["text"].string.map { text -> String in
            let words = text.split(separator: " ").map(String.init)
            let at = words.firstIndex(of: medium) ?? 0
            return at + 1 < words.count ? "\(words[at]) \(words[at + 1])" : medium
        } ?? medium
        let day = String(QuikTime.format(Date().addingTimeInterval(-180 * 86_400)).prefix(10))
        let forms: [(name: String, q: String, like: String, values: [SQLValue])] = [
            ("word", medium, "text LIKE ?", [.text("%\(medium)%")]),
            ("rare word", rare, "text LIKE ?", [.text("%\(rare)%")]),
            ("two words", "\(medium) \(medium2)", "text LIKE ? AND text LIKE ?", [.text("%\(medium)%"), .text("%\(medium2)%")]),
            ("prefix*", "\(medium.prefix(4))*", "text LIKE ?", [.text("%\(medium.prefix(4))%")]),
            ("\"phrase\"", "\"\(phrase)\"", "text LIKE ?", [.text("%\(phrase)%")]),
            ("-exclusion", "\(medium) -\(common)", "text LIKE ? AND text NOT LIKE ?", [.text("%\(medium)%"), .text("%\(common)%")]),
            ("from:", "from:@\(userId) \(medium)", "author_id = ? AND text LIKE ?", [.text(userId), .text("%\(medium)%")]),
            ("in:", "in:#c3 \(medium)", "channel_id = ? AND text LIKE ?", [.text(channels[3]), .text("%\(medium)%")]),
            ("after:", "after:\(day) \(medium)", "created_at >= ? AND text LIKE ?", [.text(day), .text("%\(medium)%")]),
            ("has:link", "has:link \(medium)", "text LIKE '%https://%' AND text LIKE ?", [.text("%\(medium)%")]),
            ("common word", common, "text LIKE ?", [.text("%\(common)%")]),
        ]
        let rounds = 30
        var allSearch: [Double] = []
        var allLike: [Double] = []
        let channelList = channels.map { "'\($0)'" }.joined(separator: ",")
        print("  query form: API p50 / p99 ms (hits) | LIKE scan p50 / p99 ms | LIKE ÷ API at p50")
        for form in forms {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let path = "/search/messages?workspace_id=\(workspaceId)&q=\(form.q.addingPercentEncoding(withAllowedCharacters: allowed) ?? form.q)"
            var hits = 0
            var searchTimes: [Double] = []
            var likeTimes: [Double] = []
            for round in 0...rounds {
                let started = ContinuousClock.now
                let answer = try await api.call(.GET, path, token: token)
                let elapsed = milliseconds(ContinuousClock.now - started)
                hits = (answer["items"] as? [Any])?.count ?? -1
                let likeStarted = ContinuousClock.now
                _ = try await admin.perform(
                    "SELECT id FROM \(messages) WHERE channel_id IN (\(channelList)) AND deleted_at IS NULL AND \(form.like) ORDER BY id DESC LIMIT 51",
                    form.values)
                let likeElapsed = milliseconds(ContinuousClock.now - likeStarted)
                // The first round warms caches for both.
                if round > 0 {
                    searchTimes.append(elapsed)
                    likeTimes.append(likeElapsed)
                }
            }
            allSearch += searchTimes
            allLike += likeTimes
            let (s50, s99, l50, l99) = (percentile(searchTimes, 0.5), percentile(searchTimes, 0.99), percentile(likeTimes, 0.5), percentile(likeTimes, 0.99))
            let name = form.name.padding(toLength: 12, withPad: " ", startingAt: 0)
            print("  \(name)" + String(format: " %7.2f / %7.2f (%2d) | %8.2f / %8.2f | %7.1f", s50, s99, hits, l50, l99, l50 / s50))
        }
        print(String(
            format: "  all forms: API p50 %.2f ms, p99 %.2f ms; LIKE p50 %.2f ms, p99 %.2f ms; LIKE ÷ API: p50 %.1f, p99 %.1f",
            percentile(allSearch, 0.5), percentile(allSearch, 0.99), percentile(allLike, 0.5), percentile(allLike, 0.99),
            percentile(allLike, 0.5) / percentile(allSearch, 0.5), percentile(allLike, 0.99) / percentile(allSearch, 0.99)))

        // Index lag under load: some posts are watched in search and in the channel's history.
        let lag = LagBook()
        let total = Int(Double(rate) * seconds)
        let interval = 1.0 / Double(rate)
        let posting = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<total {
                let due = posting + .milliseconds(Int64(Double(number) * interval * 1000))
                try await Task.sleep(until: due, clock: .continuous)
                let channel = channels[number % channels.count]
                group.addTask {
                    let marker = "lag\(number)x\(UInt32.random(in: 0...UInt32.max))"
                    var local = SystemRandomNumberGenerator()
                    let body = #"{"channel_id":"\#(channel)","text":"\#(corpus.message(&local)) \#(marker)"}"#
                    let posted = try await api.call(.POST, "/messages", body, token: token)
                    // One post in 25 is watched, each by a poll every 20 ms: the watching must not become the load.
                    guard number % 25 == 0, let id = posted["id"] as? String else { return }
                    async let searched: Duration = api.until("\(marker) in search") { (try await api.call(.GET, "/search/messages?workspace_id=\(workspaceId)&q=\(marker)", token: token)["items"] as? [Any])?.isEmpty == false }
                    async let listed: Duration = api.until("\(id) in the history") {
                        ((try await api.call(.GET, "/messages?channel_id=\(channel)&limit=50", token: token)["items"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == id }
                    }
                    let (search, history) = try await (searched, listed)
                    lag.add(search: milliseconds(search), history: milliseconds(history))
                }
            }
            try await group.waitForAll()
        }
        let achieved = Double(total) / (milliseconds(ContinuousClock.now - posting) / 1000)
        let (search, history) = lag.values
        print(String(
            format: "  index lag at %d posts/s (%.0f/s achieved, %d watched): searchable p50 %.1f ms, p99 %.1f ms; in history p50 %.1f ms, p99 %.1f ms; ratio p50 %.2f, p99 %.2f",
            rate, achieved, search.count, percentile(search, 0.5), percentile(search, 0.99), percentile(history, 0.5), percentile(history, 0.99),
            percentile(search, 0.5) / percentile(history, 0.5), percentile(search, 0.99) / percentile(history, 0.99)))
        try await api.client.shutdown()
        await host.shutdown()
        try await server.value
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// Made-up words, picked with a Zipf-like spread.
struct Corpus: Sendable {
    let words: [String]
    /// Cumulative weights 1/rank.
    let cumulative: [Double]

    init(size: Int) {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "fa", "go", "hu", "ji", "pe", "qua", "zo", "bri", "tal", "wen", "dor"]
        var generator = SplitMix(seed: 42)
        var seen = Set<String>()
        var words: [String] = []
        while words.count < size {
            let count = 2 + Int(generator.next() % 3)
            let word = (0..<count).map { _ in syllables[Int(generator.next() % UInt64(syllables.count))] }.joined()
            if seen.insert(word).inserted { words.append(word) }
        }
        self.words = words
        var total = 0.0
        cumulative = (1...size).map { rank in
            total += 1 / Double(rank)
            return total
        }
    }

    func word(rank: Int) -> String { words[rank - 1] }

    func message(_ generator: inout some RandomNumberGenerator) -> String {
        let length = Int.random(in: 8...20, using: &generator)
        var parts: [String] = []
        for _ in 0..<length {
            let target = Double.random(in: 0..<cumulative[cumulative.count - 1], using: &generator)
            var low = 0
            var high = cumulative.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] < target { low = middle + 1 } else { high = middle }
            }
            parts.append(words[low])
        }
        if Int.random(in: 0..<20, using: &generator) == 0 { parts.append("https://example.org/\(parts[0])") }
        return parts.joined(separator: " ")
    }
}

/// A small deterministic generator, so every run has the same vocabulary.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The watched posts' lags.
final class LagBook: @unchecked Sendable {
    private let lock = NSLock()
    private var search: [Double] = []
    private var history: [Double] = []

    func add(search: Double, history: Double) {
        lock.withLock {
            self.search.append(search)
            self.history.append(history)
        }
    }

    var values: ([Double], [Double]) { lock.withLock { (search, history) } }
}

/// JSON calls to a bench host.
struct BenchAPI: Sendable {
    let base: String
    let client: HTTPClient

    init(port: Int, base: String? = nil) {
        self.base = base ?? "http://127.0.0.1:\(port)/api/v1"
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw BenchError("\(method) \(path.prefix(80)): \(response.status.code) \(String(buffer: data).prefix(200))")
        }
        return (try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]) ?? [:]
    }

    /// How long until `condition` holds, polling every 20 ms (gives up after 10 s).
    func until(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws -> Duration {
        let started = ContinuousClock.now
        while try await !condition() {
            guard ContinuousClock.now - started < .seconds(10) else { throw BenchError("\(what): not found within 10 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return ContinuousClock.now - started
    }
}
