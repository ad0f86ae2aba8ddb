import Foundation
import QuikTesting
import Testing

/// Durable jobs, through a fixture plugin that schedules them over HTTP and records every run.
@Suite("Durable jobs", .serialized, .timeLimit(.minutes(3)))
struct JobsTests {
    static func yaml(tag: String = "a") -> String {
        """
        plugins:
          jobs:
            path: \(Fixtures.library("FixtureJobs"))
            settings: {tag: \(tag)}
        """
    }

    static func schedule(_ client: TestClient, _ kind: String, key: String? = nil, delayMs: Int, payload: String = "", maxAttempts: Int = 10) async throws
        -> String
    {
        var body: [String: Any] = ["kind": kind, "delay_ms": delayMs, "payload": payload, "max_attempts": maxAttempts]
        if let key { body["key"] = key }
        let reply = try await client.post("/api/v1/jobs/schedule", json: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        guard reply.status == 201 else { throw TestFailure("schedule: \(reply.status) \(reply.text)") }
        return try reply.json()["id"] as? String ?? ""
    }

    static func runs(_ client: TestClient) async throws -> [[String: String]] {
        try await client.get("/api/v1/jobs/runs").jsonArray() as? [[String: String]] ?? []
    }

    /// Waits until `runs` satisfy `done`, then returns them.
    static func runs(
        _ client: TestClient, within timeout: Duration = .seconds(10), until done: ([[String: String]]) -> Bool
    ) async throws -> [[String: String]] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let runs = try await runs(client)
            if done(runs) { return runs }
            guard ContinuousClock.now < deadline else { throw TestFailure("runs never matched: \(runs.count) so far") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("a job runs at its time, once, and scheduling its key again changes nothing")
    func runsOnceOnTime() async throws {
        try await TestHost.with(yaml: Self.yaml()) { host in
            let first = try await Self.schedule(host.client, "record", key: "k1", delayMs: 400, payload: "one")
            let again = try await Self.schedule(host.client, "record", key: "k1", delayMs: 0, payload: "two")
            #expect(first == again)
            let ran = try await Self.runs(host.client) { $0.count >= 1 }
            #expect(ran.first?["payload"] == "one")
            let late = Int(ran.first?["late_ms"] ?? "") ?? -1
            #expect(late >= 0 && late < 5000, "not early, not left for a later poll (timeliness is the jobs bench's figure)")
            try await Task.sleep(for: .milliseconds(800))
            #expect(try await Self.runs(host.client).count == 1)
            // Done, its key still keeps a repeat away.
            #expect(try await Self.schedule(host.client, "record", key: "k1", delayMs: 0) == first)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await Self.runs(host.client).count == 1)
        }
    }

    @Test("a failing job is retried after 1 s, then 2 s, and ends when it succeeds")
    func retriesWithBackoff() async throws {
        try await TestHost.with(yaml: Self.yaml()) { host in
            _ = try await Self.schedule(host.client, "flaky", key: "flaky", delayMs: 0, payload: "3")
            let ran = try await Self.runs(host.client) { $0.count >= 3 }
            #expect(ran.map { $0["attempt"] } == ["1", "2", "3"])
            let times = ran.compactMap { Double($0["ran_at"] ?? "") }
            #expect(times[1] - times[0] >= 0.85)
            #expect(times[2] - times[1] >= 1.75)
            try await Task.sleep(for: .seconds(2))
            #expect(try await Self.runs(host.client).count == 3)
        }
    }

    @Test("a job whose attempts run out counts as failed in /metrics")
    func exhaustedJobsShowAsFailed() async throws {
        try await TestHost.with(yaml: Self.yaml()) { host in
            _ = try await Self.schedule(host.client, "flaky", delayMs: 0, payload: "99", maxAttempts: 2)
            _ = try await Self.runs(host.client) { $0.count >= 2 }
            let deadline = ContinuousClock.now + .seconds(8)
            var metrics = ""
            while ContinuousClock.now < deadline {
                metrics = try await host.metrics().text
                if metrics.contains(#"quik_jobs{plugin="jobs",state="failed"} 1"#) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(metrics.contains(#"quik_jobs{plugin="jobs",state="failed"} 1"#))
            #expect(metrics.contains(#"quik_job_runs_total{plugin="jobs",kind="flaky",outcome="failed"} 1"#))
            #expect(metrics.contains("quik_job_start_delay_seconds"))
            #expect(try await Self.runs(host.client).count == 2)
        }
    }

    @Test("a cancelled job never runs; a moved one runs at its new time; an unknown key is neither")
    func cancelAndReschedule() async throws {
        try await TestHost.with(yaml: Self.yaml()) { host in
            // Due in 3 s: cancelled long before, however loaded the machine; checked after its time.
            let goneAt = ContinuousClock.now + .seconds(3)
            _ = try await Self.schedule(host.client, "record", key: "gone", delayMs: 3000, payload: "gone")
            #expect(try await host.client.post("/api/v1/jobs/cancel", json: #"{"key":"gone"}"#).json()["cancelled"] as? Bool == true)
            #expect(try await host.client.post("/api/v1/jobs/cancel", json: #"{"key":"gone"}"#).json()["cancelled"] as? Bool == false)
            _ = try await Self.schedule(host.client, "record", key: "moved", delayMs: 60_000, payload: "moved")
            #expect(try await host.client.post("/api/v1/jobs/reschedule", json: #"{"key":"moved","delay_ms":200}"#).json()["found"] as? Bool == true)
            #expect(try await host.client.post("/api/v1/jobs/reschedule", json: #"{"key":"nobody","delay_ms":0}"#).json()["found"] as? Bool == false)
            let ran = try await Self.runs(host.client, within: .seconds(5)) { $0.count >= 1 }
            #expect(ran.map { $0["payload"] } == ["moved"])
            try await Task.sleep(until: goneAt + .seconds(1))
            #expect(try await Self.runs(host.client).map { $0["payload"] } == ["moved"])
        }
    }

    @Test("a job scheduled in a transaction exists only if the transaction commits")
    func scheduledWithTheTransaction() async throws {
        try await TestHost.with(yaml: Self.yaml()) { host in
            let rolledBack = try await host.client.post(
                "/api/v1/jobs/in-transaction", json: #"{"kind":"record","key":"no","delay_ms":0,"payload":"no","rollback":true}"#)
            #expect(try rolledBack.json()["committed"] as? Bool == false)
            let committed = try await host.client.post(
                "/api/v1/jobs/in-transaction", json: #"{"kind":"record","key":"yes","delay_ms":0,"payload":"yes"}"#)
            #expect(try committed.json()["committed"] as? Bool == true)
            _ = try await Self.runs(host.client) { $0.count >= 1 }
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await Self.runs(host.client).map { $0["payload"] } == ["yes"])
        }
    }

    @Test("a job that fell due while no host ran goes out once when one starts")
    func survivesRestart() async throws {
        let prefix = TestDatabase.uniquePrefix()
        let (first, task) = try await TestHost.start(yaml: Self.yaml()) { $0.database.schemaPrefix = prefix }
        _ = try await Self.schedule(first.client, "record", key: "later", delayMs: 1500, payload: "later")
        await first.host.shutdown()
        try await task.value
        try await Task.sleep(for: .seconds(2))
        try await TestHost.with(yaml: Self.yaml(tag: "b"), tweak: { $0.database.schemaPrefix = prefix }) { second in
            let ran = try await Self.runs(second.client) { $0.count >= 1 }
            #expect(ran.first?["host"] == "b")
            try await Task.sleep(for: .seconds(1))
            #expect(try await Self.runs(second.client).count == 1)
        }
    }

    @Test("two hosts on one database share the due jobs and never run one twice")
    func twoHostsShareTheWork() async throws {
        let prefix = TestDatabase.uniquePrefix()
        try await TestHost.with(yaml: Self.yaml(tag: "a"), tweak: { $0.database.schemaPrefix = prefix }) { a in
            try await TestHost.with(yaml: Self.yaml(tag: "b"), tweak: { $0.database.schemaPrefix = prefix }) { b in
                let count = 400
                for index in 0..<count {
                    _ = try await Self.schedule(index.isMultiple(of: 2) ? a.client : b.client, "slow", delayMs: 2500, payload: "\(index)")
                }
                let ran = try await Self.runs(a.client, within: .seconds(30)) { $0.count >= count }
                try await Task.sleep(for: .milliseconds(500))
                let all = try await Self.runs(b.client)
                #expect(all.count == count)
                #expect(Set(all.compactMap { $0["job_id"] }).count == count)
                #expect(Set(ran.compactMap { $0["payload"] }).count == count)
                let byHost = Dictionary(grouping: all) { $0["host"] ?? "" }.mapValues(\.count)
                #expect((byHost["a"] ?? 0) > 0 && (byHost["b"] ?? 0) > 0, "\(byHost)")
            }
        }
    }

    @Test("a durable event counts as delivered only once its subscribers have handled it")
    func outboxWaitsForSubscribers() async throws {
        try await TestHost.with(yaml: Self.yaml()) { host in
            #expect(try await host.client.post("/api/v1/jobs/slow-event").status == 201)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await host.client.get("/api/v1/jobs/outbox").json()["undelivered"] as? Int == 1)
            let deadline = ContinuousClock.now + .seconds(10)
            var undelivered = -1
            while ContinuousClock.now < deadline {
                undelivered = try await host.client.get("/api/v1/jobs/outbox").json()["undelivered"] as? Int ?? -1
                if undelivered == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(undelivered == 0)
        }
    }
}
