import Foundation

/// Where a connection goes and as whom. `description` never shows the password.
struct ConnectionTarget: Sendable, CustomStringConvertible {
    var host: String?
    var port: Int = 3306
    var socket: String?
    var user: String
    var password: String?
    var database: String?

    /// Parses `database.url`: `mysql://user:pass@host:port[/database][?socket=/path]`,
    /// or an absolute Unix socket path (then the account is the OS user, by socket authentication).
    static func parse(_ url: String) throws(ConfigurationError) -> ConnectionTarget {
        if url.hasPrefix("/") {
            return ConnectionTarget(socket: url, user: OSUser.name)
        }
        guard let components = URLComponents(string: url), components.scheme == "mysql" || components.scheme == "mariadb",
            let host = components.host
        else {
            throw ConfigurationError("expected mysql://user:password@host:port or an absolute socket path", key: "database.url")
        }
        var target = ConnectionTarget(
            host: host, port: components.port ?? 3306, user: components.user ?? OSUser.name,
            password: components.password?.removingPercentEncoding ?? components.password)
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty { target.database = path }
        target.socket = components.queryItems?.first { $0.name == "socket" }?.value
        return target
    }

    /// The same server, as another account, in another schema.
    func with(user: String, password: String?, database: String?) -> ConnectionTarget {
        var copy = self
        copy.user = user
        copy.password = password
        copy.database = database
        return copy
    }

    var description: String {
        let place = socket.map { "unix:\($0)" } ?? "\(host ?? "localhost"):\(port)"
        return "\(user)@\(place)\(database.map { "/\($0)" } ?? "")"
    }
}

enum OSUser {
    static var name: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "root"
    }
}
