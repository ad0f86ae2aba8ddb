import ArgumentParser
import Foundation
import Logging
import QuikHost
import QuikRuntime
import QuikSupport
import UnixSignals
import QuikSDK

@main
struct QuikAppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quikapp",
        abstract: "The QuikApp team-chat host: loads the plugins listed in plugins.yml and serves them.",
        subcommands: [Serve.self, PluginsCommand.self, KeysCommand.self, AdminCommand.self])
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the keys that sign access tokens.",
        subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new signing key; the old one verifies until its tokens expire (15 minutes).")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let host = try QuikHost(configuration: try options.load(), logger: options.logger())
            print("new signing key: \(try await host.rotateSigningKeys())")
        }
    }
}

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Administer the deployment.",
        subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a system admin account (the first one, typically). Needs the auth, user and admin plugins enabled.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "The admin's email address.")
        var email: String

        @Option(help: "The admin's password (at least 10 characters). Prefer --password-stdin on shared machines.")
        var password: String?

        @Flag(help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        @Option(help: "The admin's display name.")
        var displayName = "Administrator"

        func run() async throws {
            var secret = password
            if passwordStdin { secret = readLine(strippingNewline: true) }
            guard let secret, !secret.isEmpty else { throw ValidationError("give --password or --password-stdin") }
            let host = try QuikHost(configuration: try options.load(), logger: options.logger())
            do {
                let request = try JSONSerialization.data(withJSONObject: ["email": email, "password": secret, "display_name": displayName])
                let reply = try await host.withPlugins { host in
                    try await host.callService(plugin: "admin", service: "create_admin", payload: request)
                }
                let user = (try? JSONSerialization.jsonObject(with: reply)) as? [String: Any]
                print("created system admin \(user?["id"] as? String ?? "?") <\(user?["email"] as? String ?? email)>")
            } catch {
                throw ValidationError(Self.describe(error))
            }
        }

        static func describe(_ error: any Error) -> String {
            guard let error = error as? PluginError else { return "\(error)" }
            let details = error.details.keys.sorted().map { "\($0): \(error.details[$0]!)" }.joined(separator: "; ")
            return details.isEmpty || error.message.contains(details) ? error.message : "\(error.message) (\(details))"
        }
    }
}

/// Options every command that reads `plugins.yml` takes.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The deployment's plugin list and settings.")
    var config = "plugins.yml"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func load() throws -> HostConfiguration {
        do {
            return try PluginsFile.load(path: config)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func logger() -> Logger {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "quikapp")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve HTTP and the realtime socket until SIGINT or SIGTERM.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Address to listen on (overrides server.host).")
    var host: String?

    @Option(help: "Port to listen on (overrides server.port).")
    var port: Int?

    @Flag(help: "Development mode: reload plugins when their libraries change; enables the reload endpoint.")
    var dev = false

    func run() async throws {
        var configuration = try options.load()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        configuration.devMode = dev
        let logger = options.logger()
        do {
            let quikHost = try QuikHost(configuration: configuration, logger: logger)
            try await quikHost.run(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
    }
}

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Inspect the plugins of plugins.yml, or start a new one.",
        subcommands: [List.self, Check.self, New.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the plugins of plugins.yml with their manifests.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let host = try QuikHost(configuration: try options.load(), logger: options.logger())
            for listing in host.listPlugins() {
                let state = listing.enabled ? "enabled " : "disabled"
                if let manifest = listing.manifest {
                    let mount = manifest.mount.map { "/api/v1/\($0)" } ?? "-"
                    let sdk = listing.sdkVersion?.description ?? "?"
                    let dependencies = manifest.dependencies.isEmpty ? "" : "  needs \(manifest.dependencies.joined(separator: ","))"
                    print("\(listing.name)  \(state)  v\(manifest.version)  sdk \(sdk)  \(mount)  \(listing.path)\(dependencies)")
                } else {
                    print("\(listing.name)  \(state)  \(listing.problem ?? "unreadable")")
                }
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load and set up every enabled plugin without serving; exit 1 if any is not running.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let host = try QuikHost(configuration: try options.load(), logger: options.logger())
            do {
                try await host.start()
            } catch {
                await host.stop()
                throw ValidationError("\(error)")
            }
            await host.stop()
            var healthy = true
            for status in host.pluginStatuses {
                let detail = status.error.map { ": \($0)" } ?? ""
                print("\(status.name)  \(status.state.rawValue)  \(status.version ?? "-")\(detail)")
                healthy = healthy && status.state == .running
            }
            if !healthy { throw ExitCode(1) }
        }
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a ready out-of-tree plugin package: manifest, one route, a test, README and plugins.yml.")

        @Argument(help: "The plugin's name: lowercase letters, digits and '-'; also its mount.")
        var name: String

        @Option(help: "Where to write the package (default: ./<name>).")
        var output: String?

        @Option(help: "The QuikApp checkout to build against (default: the one this quikapp was built from).")
        var quikapp: String?

        func run() throws {
            guard PluginName.isValid(name) else {
                throw ValidationError("'\(name)' is not a plugin name: lowercase letters, digits and '-', starting with a letter")
            }
            let root = quikapp ?? Self.checkout()
            guard FileManager.default.fileExists(atPath: root + "/SDK/Package.swift") else {
                throw ValidationError("no QuikApp checkout at \(root) (no SDK/Package.swift); pass --quikapp")
            }
            let directory = URL(fileURLWithPath: output ?? name).standardizedFileURL.path
            guard !FileManager.default.fileExists(atPath: directory) else {
                throw ValidationError("\(directory) already exists")
            }
            let template = PluginTemplate(name: name, quikapp: URL(fileURLWithPath: root).standardizedFileURL.path)
            for (path, contents) in template.files {
                let file = URL(fileURLWithPath: directory).appendingPathComponent(path)
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try contents.write(to: file, atomically: true, encoding: .utf8)
            }
            print("wrote \(directory)")
            print("  cd \(directory) && swift build && \(template.quikapp)/.build/debug/quikapp serve --config plugins.yml --dev --port 8090")
        }

        /// The checkout this executable was built in: `<checkout>/.build/<triple>/<configuration>/quikapp`.
        static func checkout() -> String {
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            var url = URL(fileURLWithPath: executable).standardizedFileURL.deletingLastPathComponent()
            while url.path != "/", !FileManager.default.fileExists(atPath: url.path + "/SDK/Package.swift") {
                url.deleteLastPathComponent()
            }
            return url.path
        }
    }
}
