import Foundation
import QuikSupport

/// Runs a program to completion without blocking a Swift concurrency thread.
package enum ChildProcess {
    /// Runs `executable` with `arguments`, writing its output to `log`; returns its exit status.
    package static func run(_ executable: String, _ arguments: [String], log: String) async throws -> Int32 {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        defer { try? handle?.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }
}
