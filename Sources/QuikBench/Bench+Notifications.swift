import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import QuikHost
import QuikMariaDB
import QuikRuntime
import QuikSDK
import QuikSupport
import QuikWebPush

extension Bench {
    /// `<!channel>` in a channel of `members`, a tenth of them offline with a Web Push device:
    /// time from the post until the last push reaches a push service (the tests' receiver, which
    /// checks VAPID and decrypts each), and pushes a second; beside the same number of pushes
    /// encrypted and sent straight to the same receiver by 16 callers.
    static func notifications(build: String, workspace: String, members: Int) async throws {
        let root = FileManager.default.currentDirectoryPath
        let python = root + "/.build-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw BenchError("\(python) is missing: run scripts/test once (it makes the venv with http-ece and py-vapid), from the repository root")
        }
        let log = workspace + "/webpush.log"
        let receiverProcess = Process()
        receiverProcess.executableURL = URL(fileURLWithPath: python)
        receiverProcess.arguments = [root + "/Tests/Clients/with_parent.py", python, root + "/Tests/Clients/webpush_receiver.py", log]
        let output = Pipe()
        receiverProcess.standardOutput = output
        receiverProcess.standardError = FileHandle.nullDevice
        try receiverProcess.run()
        defer { receiverProcess.terminate() }
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
        guard let receiverPort = String(decoding: line, as: UTF8.self).split(separator: " ").first.flatMap({ Int($0) }) else {
            throw BenchError("the Web Push receiver did not start")
        }
        let receiver = BenchAPI(port: receiverPort, base: "http://127.0.0.1:\(receiverPort)")
        func delivered() -> Int {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: "201 delivered").count - 1
        }

        var configuration = baseConfiguration(workspace: workspace)
        let location = SourceLocation(file: "bench", line: 0, column: 0)
        configuration.plugins = ["auth", "user", "workspace", "channel", "message", "thread", "presence", "notifications"].map {
            PluginEntry(name: $0, path: "\(build)/lib\($0).so", location: location)
        }
        configuration.outbound.allowedInternalHosts = ["127.0.0.1"]
        let prefix = configuration.database.schemaPrefix
        let host = try QuikHost(configuration: configuration, logger: logger())
        let (port, server) = try await serve(host)
        let api = BenchAPI(port: port)
        let registered = try await api.call(.POST, "/auth/register", #"{"email":"boss@example.com","password":"bench password 1","display_name":"Boss"}"#)
        guard let token = registered["access_token"] as? String else { throw BenchError("register failed") }
        guard let workspaceId = try await api.call(.POST, "/workspaces", #"{"name":"Bench","slug":"bench-notify"}"#, token: token)["id"] as? String,
            let channelId = try await api.call(.POST, "/channels", #"{"workspace_id":"\#(workspaceId)","name":"all-hands"}"#, token: token)["id"] as? String,
            let key = try await api.call(.GET, "/notifications/web_push_key", token: token)["public_key"] as? String
        else { throw BenchError("setup failed") }

        // Members written straight into the channel's table; a tenth get a device, none a socket.
        let admin = try await MySQLConnection.connect(
            to: ConnectionTarget(socket: socket, user: OSUser.name, database: nil), connectTimeout: .seconds(5), statementTimeout: .seconds(600))
        let now = String(QuikTime.format(Date()).dropLast())
        let users = (0..<members).map { "U" + String(format: "%016d", $0) }
        for chunk in stride(from: 0, to: users.count, by: 1000) {
            let rows = users[chunk..<min(users.count, chunk + 1000)].map { "('\(channelId)','\($0)','member','\(now)',NULL)" }
            _ = try await admin.perform(
                "INSERT INTO `\(prefix)channel`.channel_members (channel_id, user_id, role, joined_at, last_read_id) VALUES \(rows.joined(separator: ","))", [])
        }
        let pushed = Array(users.prefix(members / 10))
        for (index, user) in pushed.enumerated() {
            let subscription = try await receiver.call(.POST, "/subscriptions", #"{"applicationServerKey":"\#(key)"}"#)
            guard let endpoint = subscription["endpoint"] as? String, let keys = subscription["keys"] as? [String: String] else {
                throw BenchError("subscribe failed")
            }
            let hash = SHA256.hash(data: Data(endpoint.utf8)).map { String(format: "%02x", $0) }.joined()
            _ = try await admin.perform(
                """
                INSERT INTO `\(prefix)notifications`.devices (id, user_id, type, platform, identity_hash, endpoint, p256dh, auth, created_at)
                VALUES (?, ?, 'web_push', 'web', ?, ?, ?, ?, ?)
                """,
                [.text("V\(index)"), .text(user), .text(hash), .text(endpoint), .text(keys["p256dh"] ?? ""), .text(keys["auth"] ?? ""), .date(Date())])
        }

        let started = ContinuousClock.now
        _ = try await api.call(.POST, "/messages", #"{"channel_id":"\#(channelId)","text":"<!channel> all hands in five minutes"}"#, token: token)
        let posted = ContinuousClock.now - started
        var routed: Duration?
        while delivered() < pushed.count {
            if routed == nil,
                (try await admin.perform("SELECT COUNT(*) AS n FROM `\(prefix)notifications`.notifications", []).0.first?["n"].int ?? 0) >= Int64(members)
            {
                routed = ContinuousClock.now - started
            }
            guard ContinuousClock.now - started < .seconds(300) else { throw BenchError("only \(delivered()) of \(pushed.count) pushes arrived") }
            try await Task.sleep(for: .milliseconds(10))
        }
        let total = ContinuousClock.now - started
        let feed = try await admin.perform("SELECT COUNT(*) AS n FROM `\(prefix)notifications`.notifications", []).0.first?["n"].int ?? 0

        // The baseline: the same pushes, encrypted and sent by 16 callers, no server between.
        var direct: [(String, PushSubscriptionKeys)] = []
        for _ in 0..<pushed.count {
            let subscription = try await receiver.call(.POST, "/subscriptions", #"{"applicationServerKey":"\#(key)"}"#)
            guard let endpoint = subscription["endpoint"] as? String, let keys = subscription["keys"] as? [String: String] else {
                throw BenchError("subscribe failed")
            }
            direct.append((endpoint, try PushSubscriptionKeys(p256dh: keys["p256dh"] ?? "", auth: keys["auth"] ?? "")))
        }
        let vapidRow = try await admin.perform("SELECT value FROM `\(prefix)notifications`.server_keys WHERE name = 'vapid_private_key'", []).0
        let vapid = try VAPIDKey(privateKey: Data(base64Encoded: vapidRow.first?["value"].string ?? "") ?? Data())
        let before = delivered()
        let targets = direct
        let client = receiver.client
        let baselineStarted = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<16 {
                group.addTask {
                    for index in stride(from: caller, to: targets.count, by: 16) {
                        let (endpoint, keys) = targets[index]
                        var request = HTTPClientRequest(url: endpoint)
                        request.method = .POST
                        request.headers.add(name: "TTL", value: "86400")
                        request.headers.add(name: "Content-Encoding", value: "aes128gcm")
                        request.headers.add(name: "Authorization", value: try WebPush.authorization(endpoint: endpoint, subject: "mailto:bench@quikapp.invalid", key: vapid))
                        request.body = .bytes(ByteBuffer(data: try WebPush.encrypt(Data(#"{"type":"mention","text":"all hands"}"#.utf8), to: keys)))
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 16)
                    }
                }
            }
            try await group.waitForAll()
        }
        let baseline = ContinuousClock.now - baselineStarted
        let baselineDelivered = delivered() - before
        print(String(
            format: "notifications: <!channel> to %d members (%lld notifications made, all stored %.2f s after the post), %d offline with Web Push: post answered in %.0f ms, last push at the receiver %.2f s after the post, %.0f pushes/s; the same %d pushes sent straight by 16 callers %.2f s, %.0f/s (ratio %.2f)",
            members, feed, routed.map { milliseconds($0) / 1000 } ?? .nan, pushed.count, milliseconds(posted), milliseconds(total) / 1000, Double(pushed.count) / (milliseconds(total) / 1000),
            baselineDelivered, milliseconds(baseline) / 1000, Double(baselineDelivered) / (milliseconds(baseline) / 1000),
            milliseconds(baseline) / milliseconds(total)))
        try await api.client.shutdown()
        try await receiver.client.shutdown()
        await host.shutdown()
        try await server.value
    }
}
