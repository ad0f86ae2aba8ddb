import Foundation
import QuikMariaDB
import QuikSDK
import QuikSupport
import QuikStorage
import Yams

/// Reads `plugins.yml`.
///
/// ```yaml
/// server:
///   host: 127.0.0.1
///   port: 8080
///   request_timeout_s: 30
///   connections: {head_timeout_s: 10, max_connections: 10000}
///   metrics_token: a-long-random-secret
/// plugins:
///   echo:
///     enabled: true
///     path: .build/debug/libecho.so   # optional
///     settings:
///       greeting: hello
/// ```
///
/// Every key is checked: an unknown or mistyped one is a ``ConfigurationError``
/// naming the file, the line and the key.
public enum PluginsFile {
    /// Loads and parses the file at `path` on top of `base`.
    public static func load(path: String, base: HostConfiguration = HostConfiguration()) throws -> HostConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the file", at: SourceLocation(file: path, line: 0, column: 0))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("the file is not UTF-8", at: SourceLocation(file: path, line: 0, column: 0))
        }
        return try parse(text, file: path, base: base)
    }

    /// Parses YAML text; `file` names it in errors.
    public static func parse(_ text: String, file: String, base: HostConfiguration = HostConfiguration()) throws -> HostConfiguration {
        let reader = NodeReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw reader.syntaxError(error)
        }
        var configuration = base
        configuration.sourceFile = file
        guard let root else { return configuration }
        let top = try reader.mapping(root, key: "(top level)")
        for (keyNode, value) in top {
            let key = try reader.key(keyNode)
            switch key {
            case "server": try readServer(value, into: &configuration, reader: reader)
            case "database": try readDatabase(value, into: &configuration.database, reader: reader)
            case "mail": try readMail(value, into: &configuration.mail, reader: reader)
            case "storage": try readStorage(value, into: &configuration.storage, reader: reader)
            case "outbound":
                for (keyNode, field) in try reader.mapping(value, key: "outbound") {
                    let name = try reader.key(keyNode)
                    guard name == "allowed_internal_hosts" else {
                        throw reader.unknownKey("outbound.\(name)", at: keyNode, expected: ["allowed_internal_hosts"])
                    }
                    configuration.outbound.allowedInternalHosts = Set(try reader.strings(field, key: "outbound.allowed_internal_hosts").map { $0.lowercased() })
                }
            case "jobs":
                // `jobs: {poll_ms, concurrency, batch_size, timeout_s}`.
                for (keyNode, field) in try reader.mapping(value, key: "jobs") {
                    let name = try reader.key(keyNode)
                    let path = "jobs.\(name)"
                    switch name {
                    case "poll_ms": configuration.jobs.pollInterval = .milliseconds(try reader.int(field, key: path, range: 10...60_000))
                    case "concurrency": configuration.jobs.concurrency = try reader.int(field, key: path, range: 1...1024)
                    case "batch_size": configuration.jobs.batchSize = try reader.int(field, key: path, range: 1...1000)
                    case "timeout_s": configuration.jobs.timeout = .seconds(try reader.int(field, key: path, range: 1...3600))
                    default: throw reader.unknownKey(path, at: keyNode, expected: ["poll_ms", "concurrency", "batch_size", "timeout_s"])
                    }
                }
            case "plugins": configuration.plugins = try readPlugins(value, reader: reader)
            default: throw reader.unknownKey(key, at: keyNode, expected: ["server", "database", "mail", "storage", "outbound", "jobs", "plugins"])
            }
        }
        return configuration
    }

    private static func readServer(_ node: Node, into configuration: inout HostConfiguration, reader: NodeReader) throws {
        let keys = [
            "host", "port", "request_timeout_s", "max_body_bytes", "hook_timeout_ms", "setup_timeout_s",
            "event_queue_capacity", "socket_queue_capacity", "max_sockets_per_user", "max_frame_bytes", "drain_timeout_s", "plugin_dir",
            "state_dir", "reload_poll_ms", "token_issuer", "access_managers", "rate_limits", "connections",
            "metrics_token", "metrics_address", "public_url",
        ]
        for (keyNode, value) in try reader.mapping(node, key: "server") {
            let key = try reader.key(keyNode)
            let path = "server.\(key)"
            switch key {
            case "host": configuration.host = try reader.string(value, key: path)
            case "port": configuration.port = try reader.int(value, key: path, range: 0...65535)
            case "request_timeout_s": configuration.requestTimeout = .seconds(try reader.double(value, key: path, above: 0))
            case "max_body_bytes": configuration.maxBodyBytes = try reader.int(value, key: path, range: 1...(1 << 30))
            case "hook_timeout_ms": configuration.hookTimeout = .milliseconds(try reader.int(value, key: path, range: 1...60_000))
            case "setup_timeout_s": configuration.setupTimeout = .seconds(try reader.double(value, key: path, above: 0))
            case "event_queue_capacity": configuration.eventQueueCapacity = try reader.int(value, key: path, range: 1...1_000_000)
            case "socket_queue_capacity": configuration.socketQueueCapacity = try reader.int(value, key: path, range: 1...1_000_000)
            case "max_sockets_per_user": configuration.maxSocketsPerUser = try reader.int(value, key: path, range: 1...10_000)
            case "max_frame_bytes": configuration.maxFrameBytes = try reader.int(value, key: path, range: 16...(16 << 20))
            case "drain_timeout_s": configuration.drainTimeout = .seconds(try reader.double(value, key: path, above: 0))
            case "plugin_dir": configuration.pluginDirectory = try reader.string(value, key: path)
            case "state_dir": configuration.stateDirectory = try reader.string(value, key: path)
            case "token_issuer": configuration.tokenIssuer = try reader.string(value, key: path)
            case "public_url":
                let url = try reader.string(value, key: path)
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                    throw ConfigurationError("expected an http or https URL", key: path, at: reader.location(value))
                }
                configuration.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            case "access_managers": configuration.accessManagers = try reader.strings(value, key: path)
            case "reload_poll_ms": configuration.reloadPollInterval = .milliseconds(try reader.int(value, key: path, range: 10...60_000))
            case "rate_limits": try readRateLimits(value, into: &configuration.rateLimits, reader: reader)
            case "connections": try readConnections(value, into: &configuration.connections, reader: reader)
            case "metrics_token":
                let token = try reader.string(value, key: path)
                guard token.utf8.count >= 16, token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                    // The message never repeats the value: it is a secret.
                    throw ConfigurationError("expected at least 16 printable characters without spaces", key: path, at: reader.location(value))
                }
                configuration.metricsToken = SecretText(token)
            case "metrics_address":
                guard let address = ListenAddress(parsing: try reader.string(value, key: path)) else {
                    throw ConfigurationError("expected host:port, such as 127.0.0.1:9090 or [::1]:9090", key: path, at: reader.location(value))
                }
                configuration.metricsAddress = address
            default: throw reader.unknownKey(path, at: keyNode, expected: keys)
            }
        }
    }

    /// `server.rate_limits: {enabled, read, write, anonymous, frames}`, each class `{requests, per_seconds, burst}`.
    private static func readRateLimits(_ node: Node, into limits: inout RateLimitConfiguration, reader: NodeReader) throws {
        let classes = ["enabled", "read", "write", "anonymous", "frames"]
        for (keyNode, value) in try reader.mapping(node, key: "server.rate_limits") {
            let key = try reader.key(keyNode)
            let path = "server.rate_limits.\(key)"
            guard key != "enabled" else {
                limits.enabled = try reader.bool(value, key: path)
                continue
            }
            var requests = 0
            var perSeconds = 1.0
            var burst: Int?
            for (fieldNode, field) in try reader.mapping(value, key: path) {
                let name = try reader.key(fieldNode)
                switch name {
                case "requests": requests = try reader.int(field, key: "\(path).requests", range: 1...1_000_000)
                case "per_seconds": perSeconds = try reader.double(field, key: "\(path).per_seconds", above: 0)
                case "burst": burst = try reader.int(field, key: "\(path).burst", range: 1...1_000_000)
                default: throw reader.unknownKey("\(path).\(name)", at: fieldNode, expected: ["requests", "per_seconds", "burst"])
                }
            }
            guard requests > 0 else { throw ConfigurationError("expected 'requests'", key: path, at: reader.location(value)) }
            let limit = RateLimit(requests: requests, perSeconds: perSeconds, burst: burst)
            switch key {
            case "read": limits.read = limit
            case "write": limits.write = limit
            case "anonymous": limits.anonymous = limit
            case "frames": limits.frames = limit
            default: throw reader.unknownKey(path, at: keyNode, expected: classes)
            }
        }
    }

    /// `server.connections: {head_timeout_s, body_stall_timeout_s, idle_timeout_s, max_header_bytes, max_connections, fd_reserve, backlog}`.
    private static func readConnections(_ node: Node, into limits: inout ConnectionLimits, reader: NodeReader) throws {
        let keys = ["head_timeout_s", "body_stall_timeout_s", "idle_timeout_s", "max_header_bytes", "max_connections", "fd_reserve", "backlog"]
        for (keyNode, value) in try reader.mapping(node, key: "server.connections") {
            let key = try reader.key(keyNode)
            let path = "server.connections.\(key)"
            switch key {
            case "head_timeout_s": limits.headTimeout = .seconds(try reader.double(value, key: path, above: 0))
            case "body_stall_timeout_s": limits.bodyStallTimeout = .seconds(try reader.double(value, key: path, above: 0))
            case "idle_timeout_s": limits.idleTimeout = .seconds(try reader.double(value, key: path, above: 0))
            // Below 1 KiB ordinary browsers' heads no longer fit; past 1 MiB a head is an attack.
            case "max_header_bytes": limits.maxHeaderBytes = try reader.int(value, key: path, range: 1024...(1 << 20))
            case "max_connections": limits.maxConnections = try reader.int(value, key: path, range: 1...10_000_000)
            case "fd_reserve": limits.fileDescriptorReserve = try reader.int(value, key: path, range: 0...1_000_000)
            case "backlog": limits.backlog = try reader.int(value, key: path, range: 1...65535)
            default: throw reader.unknownKey(path, at: keyNode, expected: keys)
            }
        }
    }

    private static func readDatabase(_ node: Node, into database: inout DatabaseConfiguration, reader: NodeReader) throws {
        let keys = [
            "url", "schema_prefix", "pool_size", "lease_timeout_ms", "idle_timeout_s", "statement_timeout_s", "connect_timeout_ms",
            "outbox_poll_ms", "outbox_deliver_on_commit",
        ]
        for (keyNode, value) in try reader.mapping(node, key: "database") {
            let key = try reader.key(keyNode)
            let path = "database.\(key)"
            switch key {
            case "url":
                let url = try reader.string(value, key: path)
                do {
                    _ = try ConnectionTarget.parse(url)
                } catch {
                    throw ConfigurationError(error.reason, key: path, at: reader.location(value))
                }
                database.url = url
            case "schema_prefix":
                let prefix = try reader.string(value, key: path)
                guard !prefix.isEmpty, prefix.count <= 16, prefix.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                    throw ConfigurationError("expected up to 16 lowercase letters, digits and '_'", key: path, at: reader.location(value))
                }
                database.schemaPrefix = prefix
            case "pool_size": database.pool.maxConnections = try reader.int(value, key: path, range: 1...1000)
            case "lease_timeout_ms": database.pool.leaseTimeout = .milliseconds(try reader.int(value, key: path, range: 1...600_000))
            case "idle_timeout_s": database.pool.idleTimeout = .seconds(try reader.double(value, key: path, above: 0))
            case "statement_timeout_s": database.pool.statementTimeout = .seconds(try reader.double(value, key: path, above: 0))
            case "connect_timeout_ms": database.pool.connectTimeout = .milliseconds(try reader.int(value, key: path, range: 1...600_000))
            case "outbox_poll_ms": database.outboxPollInterval = .milliseconds(try reader.int(value, key: path, range: 10...3_600_000))
            case "outbox_deliver_on_commit": database.outboxDeliversOnCommit = try reader.bool(value, key: path)
            default: throw reader.unknownKey(path, at: keyNode, expected: keys)
            }
        }
    }

    private static func readMail(_ node: Node, into mail: inout MailConfiguration, reader: NodeReader) throws {
        for (keyNode, value) in try reader.mapping(node, key: "mail") {
            let key = try reader.key(keyNode)
            let path = "mail.\(key)"
            switch key {
            case "from": mail.from = try reader.string(value, key: path)
            case "directory": mail.directory = try reader.string(value, key: path)
            case "smtp_url":
                let url = try reader.string(value, key: path)
                guard SMTPMailer.parse(url) != nil else {
                    throw ConfigurationError("expected smtp://host:port", key: path, at: reader.location(value))
                }
                mail.smtpURL = url
            default: throw reader.unknownKey(path, at: keyNode, expected: ["from", "directory", "smtp_url"])
            }
        }
    }

    /// `storage: {local: {directory}}` or `storage: {s3: {endpoint, bucket, region, access_key_id,
    /// secret_access_key, part_size_mb}}`; the secret may come from `QUIKAPP_S3_SECRET_ACCESS_KEY` instead.
    private static func readStorage(_ node: Node, into storage: inout StorageConfiguration, reader: NodeReader) throws {
        for (keyNode, value) in try reader.mapping(node, key: "storage") {
            let key = try reader.key(keyNode)
            switch key {
            case "local":
                var directory: String?
                for (fieldNode, field) in try reader.mapping(value, key: "storage.local") {
                    let name = try reader.key(fieldNode)
                    guard name == "directory" else { throw reader.unknownKey("storage.local.\(name)", at: fieldNode, expected: ["directory"]) }
                    directory = try reader.string(field, key: "storage.local.directory")
                }
                storage.backend = .local(directory: directory)
            case "s3":
                var fields: [String: String] = [:]
                var partSize: Int?
                let names = ["endpoint", "bucket", "region", "access_key_id", "secret_access_key", "part_size_mb"]
                for (fieldNode, field) in try reader.mapping(value, key: "storage.s3") {
                    let name = try reader.key(fieldNode)
                    guard names.contains(name) else { throw reader.unknownKey("storage.s3.\(name)", at: fieldNode, expected: names) }
                    if name == "part_size_mb" {
                        partSize = try reader.int(field, key: "storage.s3.part_size_mb", range: 5...5120) << 20
                    } else {
                        fields[name] = try reader.string(field, key: "storage.s3.\(name)")
                    }
                }
                fields["secret_access_key"] = fields["secret_access_key"] ?? ProcessInfo.processInfo.environment["QUIKAPP_S3_SECRET_ACCESS_KEY"]
                for required in ["endpoint", "bucket", "access_key_id", "secret_access_key"] where fields[required] == nil {
                    throw ConfigurationError("storage.s3 needs \(required)", key: "storage.s3.\(required)", at: reader.location(value))
                }
                var s3 = S3Configuration(
                    endpoint: fields["endpoint"]!, bucket: fields["bucket"]!, accessKeyId: fields["access_key_id"]!,
                    secretAccessKey: fields["secret_access_key"]!)
                if let region = fields["region"] { s3.region = region }
                if let partSize { s3.partSize = partSize }
                storage.backend = .s3(s3)
            default: throw reader.unknownKey("storage.\(key)", at: keyNode, expected: ["local", "s3"])
            }
        }
    }

    private static func readPlugins(_ node: Node, reader: NodeReader) throws -> [PluginEntry] {
        if case .scalar = node, node.null != nil { return [] }
        var entries: [PluginEntry] = []
        for (nameNode, value) in try reader.mapping(node, key: "plugins") {
            let name = try reader.key(nameNode)
            guard PluginName.isValid(name) else {
                throw ConfigurationError(
                    "a plugin name is lowercase letters, digits and '-', starting with a letter",
                    key: "plugins.\(name)", at: reader.location(nameNode))
            }
            var entry = PluginEntry(name: name, location: reader.location(nameNode))
            if case .scalar = value, value.null != nil {
                entries.append(entry)
                continue
            }
            for (keyNode, field) in try reader.mapping(value, key: "plugins.\(name)") {
                let key = try reader.key(keyNode)
                let path = "plugins.\(name).\(key)"
                switch key {
                case "enabled": entry.enabled = try reader.bool(field, key: path)
                case "path": entry.path = try reader.string(field, key: path)
                case "settings":
                    for (settingNode, settingValue) in try reader.mapping(field, key: path) {
                        let settingKey = try reader.key(settingNode)
                        entry.settings[settingKey] = try reader.value(settingValue)
                        entry.settingLocations[settingKey] = reader.location(settingNode)
                    }
                default: throw reader.unknownKey(path, at: keyNode, expected: ["enabled", "path", "settings"])
                }
            }
            entries.append(entry)
        }
        return entries
    }
}

/// Plugin names: what `plugins.yml` keys, mounts and topic namespaces may be.
package enum PluginName {
    package static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.count <= 64 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

/// Typed reads of YAML nodes that fail with the file, line and key.
private struct NodeReader {
    let file: String

    func kind(_ node: Node) -> Tag.Name {
        Tag.Name(rawValue: node.tag.rawValue)
    }

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    func syntaxError(_ error: YamlError) -> ConfigurationError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            ConfigurationError("malformed YAML: \(problem)", at: SourceLocation(file: file, line: mark.line, column: mark.column))
        default:
            ConfigurationError("malformed YAML: \(error)", at: SourceLocation(file: file, line: 0, column: 0))
        }
    }

    func unknownKey(_ key: String, at node: Node, expected: [String]) -> ConfigurationError {
        ConfigurationError("unknown key; expected one of: \(expected.joined(separator: ", "))", key: key, at: location(node))
    }

    func mapping(_ node: Node, key: String) throws -> [(Node, Node)] {
        guard case .mapping(let mapping) = node else {
            throw ConfigurationError("expected a map", key: key, at: location(node))
        }
        return mapping.map { ($0.key, $0.value) }
    }

    func key(_ node: Node) throws -> String {
        guard case .scalar(let scalar) = node else {
            throw ConfigurationError("a key must be plain text", at: location(node))
        }
        return scalar.string
    }

    func string(_ node: Node, key: String) throws -> String {
        guard case .scalar(let scalar) = node, kind(node) == .str else {
            throw ConfigurationError("expected text", key: key, at: location(node))
        }
        return scalar.string
    }

    func strings(_ node: Node, key: String) throws -> [String] {
        guard case .sequence(let sequence) = node else {
            throw ConfigurationError("expected a list of text", key: key, at: location(node))
        }
        return try sequence.map { try string($0, key: key) }
    }

    func bool(_ node: Node, key: String) throws -> Bool {
        guard kind(node) == .bool, let value = node.bool else {
            throw ConfigurationError("expected true or false", key: key, at: location(node))
        }
        return value
    }

    func int(_ node: Node, key: String, range: ClosedRange<Int>) throws -> Int {
        guard kind(node) == .int, let value = node.int, range.contains(value) else {
            throw ConfigurationError("expected a whole number from \(range.lowerBound) to \(range.upperBound)", key: key, at: location(node))
        }
        return value
    }

    func double(_ node: Node, key: String, above minimum: Double) throws -> Double {
        let value: Double? =
            switch kind(node) {
            case .int: node.int.map(Double.init)
            case .float: node.float
            default: nil
            }
        guard let value, value > minimum, value.isFinite else {
            throw ConfigurationError("expected a number above \(minimum)", key: key, at: location(node))
        }
        return value
    }

    func value(_ node: Node) throws -> SettingValue {
        switch node {
        case .scalar(let scalar):
            switch kind(node) {
            case .null: return .null
            case .bool: return node.bool.map(SettingValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map(SettingValue.int) ?? .string(scalar.string)
            case .float: return node.float.map(SettingValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .list(try sequence.map { try value($0) })
        case .mapping(let mapping):
            var values: [String: SettingValue] = [:]
            for (keyNode, valueNode) in mapping {
                values[try key(keyNode)] = try value(valueNode)
            }
            return .map(values)
        case .alias:
            throw ConfigurationError("aliases are not supported", at: location(node))
        }
    }
}
