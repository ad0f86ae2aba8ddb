import Foundation
import QuikSDK
import Synchronization

/// The fixture most host tests drive: routes of every kind, a frame type, a
/// service, a hook, events. Built twice (FixtureEchoV1, FixtureEchoV2) so that
/// a reload visibly changes the answers.
public final class EchoPlugin: QuikPlugin {
    let version: String

    public init(version: String) {
        self.version = version
    }

    public var manifest: PluginManifest {
        PluginManifest(
            name: "echo",
            version: version,
            mount: "echo",
            capabilities: PluginCapabilities(publishes: ["echo"], declaresHooks: ["echo.will_say"], frames: ["echo.*"]),
            settings: [
                SettingSpec(key: "greeting", kind: .string, defaultValue: .string("hello"), help: "What /hello says"),
                SettingSpec(key: "journal", kind: .string, defaultValue: .string(""), help: "A file where the background task and shutdown note when they end"),
            ],
            summary: "Test fixture")
    }

    struct Text: Codable { var text: String }
    struct Broadcast: Codable {
        var userIds: [String]?
        var group: String?
        var topic: String
        var size: Int
        var count: Int
    }
    struct Membership: Codable {
        var group: String
        var userIds: [String]
    }

    /// Notes a line in the journal file, when the deployment gave one.
    static func note(_ line: String, in journal: String) {
        guard !journal.isEmpty, let handle = FileHandle(forWritingAtPath: journal) ?? {
            FileManager.default.createFile(atPath: journal, contents: nil)
            return FileHandle(forWritingAtPath: journal)
        }() else { return }
        handle.seekToEndOfFile()
        handle.write(Data((line + "\n").utf8))
        try? handle.close()
    }

    private let journal = Mutex("")

    public func shutdown() async {
        Self.note("\(version) shutdown", in: journal.withLock { $0 })
    }

    public func setup(_ context: any PluginContext) async throws {
        let greeting = context.settings["greeting"]?.stringValue ?? "hello"
        let version = self.version
        let open = RouteOptions(requiresAuthentication: false)
        let journal = context.settings["journal"]?.stringValue ?? ""
        self.journal.withLock { $0 = journal }

        // A background task owned by this version: it ticks until the host cancels it.
        let ticks = Ticks()
        try context.run("ticker") {
            while !Task.isCancelled {
                ticks.count.add(1, ordering: .relaxed)
                try? await Task.sleep(for: .milliseconds(10))
            }
            Self.note("\(version) task ended", in: journal)
        }
        try context.addRoute(.get, "/ticks", options: open) { _ in
            try .json(["version": version, "ticks": String(ticks.count.load(ordering: .relaxed))])
        }
        try context.addRoute(.get, "/limited", options: open.limited(RateLimit(requests: 1, perSeconds: 60, burst: 2))) { _ in
            try .json(["version": version])
        }

        try context.addRoute(.get, "/hello", options: RouteOptions(requiresAuthentication: false, summary: "Says hello")) { _ in
            try .json(["version": version, "greeting": greeting])
        }
        try context.addRoute(.get, "/whoami") { request in
            try .json(["user_id": request.principal?.userId ?? ""])
        }
        try context.addRoute(.get, "/items/{id}", options: open) { request in
            try .json(["id": try request.parameter("id"), "q": request.query("q") ?? ""])
        }
        try context.addRoute(.get, "/items/special", options: open) { _ in
            try .json(["id": "special"])
        }
        try context.addRoute(.post, "/echo", options: open) { request in
            PluginResponse(status: 200, headers: ["content-type": "application/octet-stream"], body: request.body)
        }
        try context.addRoute(.get, "/throw", options: open) { _ in
            throw CocoaError(.fileReadCorruptFile)
        }
        try context.addRoute(.get, "/refuse", options: open) { _ in
            throw PluginError(.conflict, "refused on purpose", details: ["why": "fixture"])
        }
        try context.addRoute(.get, "/slow", options: RouteOptions(requiresAuthentication: false, timeoutSeconds: 0.3)) { _ in
            // Swallows cancellation on purpose: the host must answer at the deadline anyway.
            try? await Task.sleep(for: .seconds(5))
            return .text("too late")
        }
        try context.addRoute(.get, "/wait", options: open) { request in
            let milliseconds = Int(request.query("ms") ?? "100") ?? 100
            try await Task.sleep(for: .milliseconds(milliseconds))
            return try .json(["waited_ms": milliseconds])
        }
        try context.addRoute(.post, "/publish", options: open) { request in
            let topic = request.query("topic") ?? "echo.said"
            let count = Int(request.query("n") ?? "1") ?? 1
            let started = ContinuousClock.now
            for index in 0..<count {
                try await context.publish(topic, ["index": index])
            }
            let elapsed = ContinuousClock.now - started
            return try .json(["published": Double(count), "elapsed_ms": Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000])
        }
        try context.addRoute(.post, "/say", options: open) { request in
            let said = try request.decode(Text.self)
            let outcome = try await context.runHook("echo.will_say", payload: JSONEncoder().encode(said))
            guard outcome.isAccepted, let payload = outcome.payload else {
                throw PluginError(.validationFailed, outcome.rejection ?? "rejected", details: ["rejected_by": outcome.rejectedBy ?? ""])
            }
            let final = try JSONDecoder().decode(Text.self, from: payload)
            return try .json(["text": final.text, "skipped": outcome.skipped.joined(separator: ",")])
        }
        try context.addRoute(.post, "/broadcast", options: open) { request in
            let broadcast = try request.decode(Broadcast.self)
            let audience: Audience = broadcast.group.map { .group($0) } ?? .users(broadcast.userIds ?? [])
            let filler = String(repeating: "x", count: max(0, broadcast.size))
            for index in 0..<broadcast.count {
                await context.send(try RealtimeEvent(topic: broadcast.topic, value: ["index": "\(index)", "filler": filler]), to: audience)
            }
            return .noContent
        }
        try context.addRoute(.post, "/groups/join", options: open) { request in
            let membership = try request.decode(Membership.self)
            await context.joinGroup(membership.group, userIds: membership.userIds)
            return .noContent
        }
        try context.addRoute(.post, "/groups/leave", options: open) { request in
            let membership = try request.decode(Membership.self)
            await context.leaveGroup(membership.group, userIds: membership.userIds)
            return .noContent
        }
        try context.onFrame("echo.ping") { frame in
            struct Ping: Decodable { var fail: Bool? }
            if try frame.decode(Ping.self).fail == true {
                throw PluginError(.validationFailed, "asked to fail")
            }
            await context.send(try RealtimeEvent(topic: "echo.pong", value: ["version": version]), to: .user(frame.principal.userId))
        }
        try context.provideService("upper") { call in
            let text = try call.decode(Text.self)
            return try JSONEncoder().encode(Text(text: text.text.uppercased()))
        }
    }
}

/// Ticks of the background task.
final class Ticks: Sendable {
    let count = Atomic<Int>(0)
}
