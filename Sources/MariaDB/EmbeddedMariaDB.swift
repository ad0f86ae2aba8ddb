import Foundation
import Logging
import QuikSupport
import ServiceLifecycle
import Synchronization

/// The embedded default server: a private `mariadbd` from Debian's `mariadb-server`,
/// with its data in a folder of ours, listening on a Unix socket only.
///
/// The first start initialises the data folder; later starts reuse it. A server
/// already running on the same folder is used rather than fought over: if the
/// process that started it is gone (the host was killed), this one takes it
/// over and stops it on exit; if that process is alive (`quikapp keys rotate`
/// beside a running `serve`), the server is left to it. A serving host always
/// takes the server over, so a command that started it leaves it running; and
/// one folder serves one host at a time (`serve.lock`), so no host is left
/// without its database when another stops. As a service it stops the server
/// it owns on shutdown.
package final class EmbeddedMariaDB: Service, Sendable {
    package let directory: String
    private let logger: Logger
    private let process = Mutex<Process?>(nil)
    /// Whether this process started the server or took it over, and so stops it.
    private let owned = Mutex(false)
    /// The open `serve.lock` while this process serves from the folder.
    private let serveLock = Mutex<Int32?>(nil)

    package init(directory: String, logger: Logger) {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.logger = logger
    }

    package var dataDirectory: String { directory + "/data" }
    package var socketPath: String { directory + "/mysqld.sock" }
    private var temporaryDirectory: String { directory + "/tmp" }
    private var pidFile: String { directory + "/mysqld.pid" }
    private var ownerFile: String { directory + "/owner.pid" }

    /// Tells this owner from another in the same process (tests run several hosts in one).
    private let ownerToken = UInt64.random(in: 1...UInt64.max)

    private func claimOwnership() {
        try? "\(getpid()) \(ownerToken)".write(toFile: ownerFile, atomically: true, encoding: .utf8)
        owned.withLock { $0 = true }
    }

    /// Starts the server (initialising the data folder the first time) and waits until it accepts connections.
    /// `serving`: this host serves from the folder, which no other host may do at the same time.
    package func start(serving: Bool = false) async throws {
        let files = FileManager.default
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard socketPath.utf8.count < 100 else {
            throw EmbeddedDatabaseError("the socket path \(socketPath) is too long for a Unix socket; use a shorter state directory")
        }
        if serving { try lockForServing() }
        if let pid = runningPid() {
            if let owner = recordedOwner(), owner.token != ownerToken, kill(owner.pid, 0) == 0, !serving {
                logger.info("using the embedded MariaDB of the running host", metadata: ["pid": "\(pid)", "owner": "\(owner.pid)"])
            } else {
                logger.info("taking over the embedded MariaDB left running on this data folder", metadata: ["pid": "\(pid)"])
                claimOwnership()
            }
            try await waitUntilReady(timeout: .seconds(30))
            return
        }
        // A temporary folder of its own: servers initialised side by side in one /tmp collide on temporary table names.
        try files.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
        if !files.fileExists(atPath: dataDirectory + "/mysql") {
            logger.info("initialising the embedded MariaDB", metadata: ["data": "\(dataDirectory)"])
            try await run(
                try Self.tool("mariadb-install-db"),
                [
                    "--no-defaults", "--datadir=\(dataDirectory)", "--user=\(OSUser.name)",
                    "--auth-root-authentication-method=socket", "--skip-test-db", "--tmpdir=\(temporaryDirectory)",
                ])
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: try Self.tool("mariadbd"))
        server.arguments = [
            "--no-defaults", "--datadir=\(dataDirectory)", "--socket=\(socketPath)", "--pid-file=\(pidFile)",
            "--skip-networking", "--log-error=\(directory)/mysqld.log", "--user=\(OSUser.name)", "--tmpdir=\(temporaryDirectory)",
            "--max-allowed-packet=256M", "--max-connections=1000", "--innodb-buffer-pool-size=128M",
            "--innodb-flush-log-at-trx-commit=2", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            "--skip-log-bin", "--lower-case-table-names=0",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        process.withLock { $0 = server }
        claimOwnership()
        logger.info("embedded MariaDB started", metadata: ["pid": "\(server.processIdentifier)", "socket": "\(socketPath)"])
        try await waitUntilReady(timeout: .seconds(60))
    }

    /// Takes `serve.lock`, or refuses with the pid of the host that holds it.
    private func lockForServing() throws {
        guard serveLock.withLock({ $0 }) == nil else { return }
        let path = directory + "/serve.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw EmbeddedDatabaseError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            throw EmbeddedDatabaseError(
                "another quikapp host\(holder.isEmpty ? "" : " (pid \(holder))") is already serving from \(directory); stop it first, or give this one its own state directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        serveLock.withLock { $0 = descriptor }
    }

    /// The owner recorded in `owner.pid`: its process and its token.
    private func recordedOwner() -> (pid: Int32, token: UInt64)? {
        let fields = ((try? String(contentsOfFile: ownerFile, encoding: .utf8)) ?? "").split(separator: " ")
        guard let pid = fields.first.flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else { return nil }
        return (pid, fields.dropFirst().first.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0)
    }

    /// Stops the server if this process owns it (and no serving host took it over since), and waits for it to exit.
    package func stop() async {
        defer {
            if let descriptor = serveLock.withLock({ stored in defer { stored = nil }; return stored }) { close(descriptor) }
        }
        guard owned.withLock({ $0 }) else { return }
        guard recordedOwner()?.token == ownerToken else {
            owned.withLock { $0 = false }
            logger.info("leaving the embedded MariaDB to the host that took it over")
            return
        }
        let pid = process.withLock { $0?.processIdentifier } ?? runningPid()
        guard let pid else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(60)
        while kill(pid, 0) == 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            _ = process.withLock { $0?.isRunning }
        }
        process.withLock { $0 = nil }
        owned.withLock { $0 = false }
        try? FileManager.default.removeItem(atPath: ownerFile)
        logger.info("embedded MariaDB stopped")
    }

    /// Stops the server on shutdown, after everything that uses it.
    package func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }

    private func runningPid() -> Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0
        else { return nil }
        return pid
    }

    private func waitUntilReady(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        let target = ConnectionTarget(socket: socketPath, user: OSUser.name)
        while ContinuousClock.now < deadline {
            if process.withLock({ $0.map { !$0.isRunning } ?? false }) {
                throw EmbeddedDatabaseError("mariadbd exited at start-up; see \(directory)/mysqld.log")
            }
            if (try? await MySQLConnection.connect(to: target, connectTimeout: .seconds(1), statementTimeout: .seconds(5))) != nil {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EmbeddedDatabaseError("mariadbd did not accept connections within \(timeout); see \(directory)/mysqld.log")
    }

    private func run(_ tool: String, _ arguments: [String]) async throws {
        let log = directory + "/install.log"
        let status = try await ChildProcess.run(tool, arguments, log: log)
        guard status == 0 else {
            throw EmbeddedDatabaseError("\(tool) failed with status \(status); see \(log)")
        }
    }

    package static func tool(_ name: String) throws -> String {
        for folder in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
            return "\(folder)/\(name)"
        }
        throw EmbeddedDatabaseError("\(name) is not installed; install Debian's mariadb-server (scripts/install-deps does)")
    }
}

/// Why the embedded server could not start.
package struct EmbeddedDatabaseError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
