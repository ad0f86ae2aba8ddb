import Foundation
import QuikSupport

/// Where a connection goes and as whom. `description` never shows the password.
package struct ConnectionTarget: Sendable, CustomStringConvertible {
    package var host: String?
    package var port: Int = 3306
    package var socket: String?
    package var user: String
    package var password: String?
    package var database: String?

    package init(
        host: String? = nil, port: Int = 3306, socket: String? = nil, user: String, password: String? = nil, database: String? = nil
    ) {
        self.host = host
        self.port = port
        self.socket = socket
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `database.url`: `mysql://user:pass@host:port[/database][?socket=/path]`,
    /// or an absolute Unix socket path (then the account is the OS user, by socket authentication).
    package static func parse(_ url: String) throws(ConfigurationError) -> ConnectionTarget {
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
    package func with(user: String, password: String?, database: String?) -> ConnectionTarget {
        var copy = self
        copy.user = user
        copy.password = password
        copy.database = database
        return copy
    }

    package var description: String {
        let place = socket.map { "unix:\($0)" } ?? "\(host ?? "localhost"):\(port)"
        return "\(user)@\(place)\(database.map { "/\($0)" } ?? "")"
    }
}

package enum OSUser {
    package static var name: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "root"
    }
}
