import ServiceLifecycle
import Synchronization

/// Start-up as a service of the host's group: it starts the embedded database,
/// prepares the host's schema and loads the plugins, then lets the services
/// that must wait for that (the HTTP server) begin. A failure stops the group
/// and is what `run` throws.
final class HostStartup: Service, Sendable {
    private enum Outcome {
        case pending([CheckedContinuation<Bool, Never>])
        case done(Bool)
    }

    private let work: @Sendable () async throws -> Void
    private let outcome = Mutex(Outcome.pending([]))

    init(_ work: @escaping @Sendable () async throws -> Void) {
        self.work = work
    }

    func run() async throws {
        do {
            try await work()
        } catch {
            finish(false)
            throw error
        }
        finish(true)
        try? await gracefulShutdown()
    }

    /// Whether start-up succeeded, once it has ended.
    func succeeded() async -> Bool {
        await withCheckedContinuation { continuation in
            let known = outcome.withLock { outcome -> Bool? in
                switch outcome {
                case .done(let succeeded): return succeeded
                case .pending(var waiting):
                    waiting.append(continuation)
                    outcome = .pending(waiting)
                    return nil
                }
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    private func finish(_ succeeded: Bool) {
        let waiting = outcome.withLock { outcome -> [CheckedContinuation<Bool, Never>] in
            defer { outcome = .done(succeeded) }
            if case .pending(let waiting) = outcome { return waiting }
            return []
        }
        for continuation in waiting { continuation.resume(returning: succeeded) }
    }
}

/// A service that begins only once start-up has succeeded (the HTTP server: no
/// request is answered before the plugins are loaded), and not at all otherwise.
struct AfterStartup: Service {
    let startup: HostStartup
    let service: any Service

    func run() async throws {
        guard await startup.succeeded() else {
            // Nothing to run: finish in turn when the group shuts down.
            try? await gracefulShutdown()
            return
        }
        try await service.run()
    }
}
