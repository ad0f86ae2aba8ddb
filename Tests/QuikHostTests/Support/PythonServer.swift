import Foundation

/// A test server written in Python (`Tests/Clients/<script>`), run with the venv's python
/// under `with_parent.py` so it ends with the test run; it prints its port (and maybe more,
/// space-separated) as its first line of output.
enum PythonServer {
    /// Starts `script` with `arguments`; returns the process and the fields of its first line.
    static func start(_ script: String, _ arguments: [String] = [], what: String) throws -> (process: Process, fields: [String]) {
        let root = Fixtures.packageRoot
        let python = root + "/.build-venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("\(python) is missing: scripts/test makes the venv")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root + "/Tests/Clients/with_parent.py", python, root + "/Tests/Clients/" + script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
        let fields = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
        guard let first = fields.first, Int(first) != nil else {
            process.terminate()
            throw TestFailure("\(what) did not start")
        }
        return (process, fields)
    }
}
