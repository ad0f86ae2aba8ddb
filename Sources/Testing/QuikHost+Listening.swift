import QuikHost

extension QuikHost {
    /// Runs the host in a task of its own and returns its port once it listens, with
    /// the task (whose value is `run`'s outcome). Throws if the host stops before listening.
    public func runUntilListening() async throws -> (port: Int, task: Task<Void, any Error>) {
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            defer { readyContinuation.finish() }
            try await run { port in readyContinuation.yield(port) }
        }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else {
            _ = try await task.value
            throw HarnessFailure("the host stopped before it listened")
        }
        return (port, task)
    }
}
