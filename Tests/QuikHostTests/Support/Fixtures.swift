import Foundation

/// Where the fixture plugin libraries are: beside the test bundle, in the build folder.
enum Fixtures {
    /// The package's folder (the venv, the test clients and the example live under it).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static let buildDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()

    /// `lib<product>.so` in the build folder.
    static func library(_ product: String) -> String {
        "\(buildDirectory)/lib\(product).so"
    }

    /// A fresh temporary folder.
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("quikapp-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `count` random bytes, read from the kernel (a byte-by-byte generator costs seconds in a debug build).
    static func randomBytes(_ count: Int) throws -> Data {
        guard let source = FileHandle(forReadingAtPath: "/dev/urandom") else { throw TestFailure("no /dev/urandom") }
        defer { try? source.close() }
        return try source.read(upToCount: count) ?? Data()
    }
}
