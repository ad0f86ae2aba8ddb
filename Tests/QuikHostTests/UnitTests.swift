import Foundation
import QuikSDK
import Synchronization
import Testing
@testable import QuikMariaDB
@testable import QuikRuntime
@testable import QuikSupport
@testable import QuikTransport

@testable import QuikHost

@Suite("Building blocks", .timeLimit(.minutes(2)))
struct UnitTests {
    @Test("topic patterns match one segment with * and any tail with **")
    func topicPatterns() throws {
        let star = try TopicPattern("message.*")
        #expect(star.matches("message.created"))
        #expect(!star.matches("message.created.extra"))
        #expect(!star.matches("messages.created"))
        let tail = try TopicPattern("channel.**")
        #expect(tail.matches("channel.member.joined"))
        #expect(tail.matches("channel"))
        #expect(try TopicPattern("**").matches("anything.at.all"))
        #expect(throws: TopicPattern.PatternError.self) { try TopicPattern("a.**.b") }
        #expect(throws: TopicPattern.PatternError.self) { try TopicPattern("a..b") }
    }

    @Test("route patterns bind parameters and refuse paths that leave the mount")
    func routePatterns() throws {
        let pattern = try RoutePattern("/{id}/pins")
        #expect(pattern.match(["42", "pins"]) == ["id": "42"])
        #expect(pattern.match(["42"]) == nil)
        #expect(try RoutePattern("/").match([]) == [:])
        #expect(throws: PluginError.self) { try RoutePattern("/../other") }
        #expect(throws: PluginError.self) { try RoutePattern("/api/v1/other") }
        #expect(throws: PluginError.self) { try RoutePattern("relative") }
        var registrations = Registrations()
        let handler: RouteHandler = { _ in .noContent }
        registrations.routes.append(PluginRoute(method: .get, pattern: try RoutePattern("/{id}"), options: RouteOptions(), mount: "items", handler: handler))
        registrations.routes.append(PluginRoute(method: .get, pattern: try RoutePattern("/pins"), options: RouteOptions(), mount: "items", handler: handler))
        #expect(registrations.route(.get, ["pins"])?.0.pattern.description == "/pins", "a literal segment wins over a parameter")
        #expect(registrations.route(.get, ["7"])?.1 == ["id": "7"])
        #expect(registrations.route(.post, ["7"]) == nil)
    }

    @Test("dependencies come before their dependents; cycles come last")
    func dependencyOrder() {
        let order = DependencyOrder.sort(
            ["message": ["channel", "user"], "channel": ["workspace"], "workspace": [], "user": [], "a": ["b"], "b": ["a"]],
            fallback: ["a", "message", "b", "channel", "workspace", "user"])
        #expect(order.firstIndex(of: "workspace")! < order.firstIndex(of: "channel")!)
        #expect(order.firstIndex(of: "channel")! < order.firstIndex(of: "message")!)
        #expect(order.firstIndex(of: "user")! < order.firstIndex(of: "message")!)
        #expect(Array(order.suffix(2)) == ["a", "b"])
    }

    @Test("a deadline answers on time even when the work ignores cancellation")
    func deadline() async throws {
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100)) {
                try? await Task.sleep(for: .seconds(10))
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(5), "answered at the deadline, not when the work gave up")
        let value = try await withDeadline(.seconds(5)) { 42 }
        #expect(value == 42)
        await #expect(throws: PluginError.self) {
            try await withDeadline(.seconds(5)) { () async throws -> Int in throw PluginError(.conflict, "no") }
        }
    }

    @Test("work answered at its deadline is still counted until it really ends")
    func deadlineEndsWithTheWork() async throws {
        let ended = Flag()
        let parked = Mutex<CheckedContinuation<Void, Never>?>(nil)
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50), onEnd: { ended.set() }) {
                // Ignores cancellation: ends only when the test lets it.
                await withCheckedContinuation { continuation in parked.withLock { $0 = continuation } }
                return 1
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!ended.isSet, "still running after the caller was answered")
        parked.withLock { $0 }?.resume()
        try await waitUntil { ended.isSet }
    }

    @Test("the SDK version handshake accepts older minors of the same major only")
    func versionHandshake() {
        let host = SDKVersion(major: 1, minor: 3, patch: 0)
        #expect(SDKVersion(major: 1, minor: 0, patch: 9).isCompatible(withHost: host))
        #expect(SDKVersion(major: 1, minor: 3, patch: 0).isCompatible(withHost: host))
        #expect(!SDKVersion(major: 1, minor: 4, patch: 0).isCompatible(withHost: host))
        #expect(!SDKVersion(major: 2, minor: 0, patch: 0).isCompatible(withHost: host))
        #expect(SDKVersion(packed: 10203) == SDKVersion(major: 1, minor: 2, patch: 3))
    }
}

@Suite("Bearer tokens in headers")
struct BearerTokenTests {
    @Test("the scheme is case-insensitive, surrounding blanks go, anything else is no token")
    func parsing() {
        #expect(BearerToken.from("Bearer abc.def") == "abc.def")
        #expect(BearerToken.from("BEARER  abc  ") == "abc")
        #expect(BearerToken.from("bearer\u{9}abc") == nil)
        #expect(BearerToken.from("Basic abc") == nil)
        #expect(BearerToken.from("Bearer    ") == nil)
        #expect(BearerToken.from(nil) == nil)
    }
}

/// A flag set once from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
