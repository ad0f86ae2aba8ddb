import Foundation
import Testing

/// The SDK must be one shared image: the host and every plugin load the same
/// `libQuikSDK.so`, and no plugin's code is linked into the host.
@Suite("Linkage", .timeLimit(.minutes(2)))
struct LinkageTests {
    static let plugins = [
        "FixtureEchoV1", "FixtureEchoV2", "FixtureBadABI", "FixtureNoEntry", "FixtureSetupThrows",
        "FixtureOutsideMount", "FixtureMountClash", "FixtureRogue", "FixtureDependent", "FixtureSlowpoke", "FixtureReplica", "FixtureNotes", "FixtureNotesV2",
    ]

    static func run(_ tool: String, _ arguments: [String]) async throws -> String {
        let (status, output) = try await runProgram("/usr/bin/env", [tool] + arguments)
        guard status == 0 else { throw TestFailure("\(tool) \(arguments) exited \(status)") }
        return output
    }

    static func needed(_ path: String) async throws -> [String] {
        try await run("readelf", ["-d", path]).split(separator: "\n").compactMap { line in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    @Test("every plugin library and the host need libQuikSDK.so")
    func sdkIsShared() async throws {
        for plugin in Self.plugins {
            #expect(try await Self.needed(Fixtures.library(plugin)).contains("libQuikSDK.so"), "\(plugin)")
        }
        let host = Fixtures.buildDirectory + "/quikapp"
        #expect(try await Self.needed(host).contains("libQuikSDK.so"))
    }

    @Test("the host executable contains no plugin code and needs no plugin library")
    func noPluginCodeInHost() async throws {
        let host = Fixtures.buildDirectory + "/quikapp"
        let needed = try await Self.needed(host)
        #expect(!needed.contains { $0.contains("Fixture") })
        let symbols = try await Self.run("nm", ["--defined-only", host])
        #expect(symbols.contains("QuikHost"), "the host's own symbols are there")
        for module in Self.plugins + ["FixtureEchoCore"] {
            #expect(!symbols.contains(module), "\(module) is linked into the host")
        }
        let sdkSymbols = try await Self.run("nm", ["--defined-only", "-D", host])
        #expect(!sdkSymbols.contains("7QuikSDK"), "the SDK is not linked into the host statically")
    }
}
