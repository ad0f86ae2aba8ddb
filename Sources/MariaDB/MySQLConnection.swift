import CMariaDB
import Foundation
import QuikSDK
import QuikSupport
import Synchronization

/// One libmariadb connection. Every blocking call runs on the connection's own
/// serial queue, never on the server's event loops; one lease uses it at a time.
package final class MySQLConnection: @unchecked Sendable {
    private let handle: UnsafeMutablePointer<MYSQL>
    private let queue: DispatchQueue
    /// Set when the connection failed in a way that makes it unusable; read from any thread.
    private let broken = Atomic<Bool>(false)
    package var isBroken: Bool { broken.load(ordering: .relaxed) }
    /// Prepared statements by SQL text, most recently used last; touched only on `queue`.
    private var statements: [String: UnsafeMutablePointer<MYSQL_STMT>] = [:]
    private var statementOrder: [String] = []
    /// How many prepared statements a connection keeps.
    package static let statementCacheSize = 64

    private static let libraryReady: Bool = { mysql_server_init(0, nil, nil) == 0 }()

    private init(handle: UnsafeMutablePointer<MYSQL>, queue: DispatchQueue) {
        self.handle = handle
        self.queue = queue
    }

    deinit {
        for statement in statements.values { mysql_stmt_close(statement) }
        mysql_close(handle)
    }

    /// Opens a connection: utf8mb4, UTC session time zone, and the statement timeout.
    /// Past `deadline` (when given) it gives up waiting with `unavailable`, even on a
    /// server that accepted the socket but does not answer.
    package static func connect(
        to target: ConnectionTarget, connectTimeout: Duration, statementTimeout: Duration, until deadline: ContinuousClock.Instant? = nil
    ) async throws -> MySQLConnection {
        let queue = DispatchQueue(label: "quikapp.mysql")
        let limit = deadline ?? ContinuousClock.now + connectTimeout * 2 + statementTimeout
        // A connection that opens too late is dropped, which closes it.
        let result = await runBlocking(on: queue, until: limit, { Result { try connectBlocking(target, connectTimeout, statementTimeout, queue) } }, late: { _ in })
        guard let result else { throw DatabaseError(.unavailable, "the database did not answer in time") }
        return try result.get()
    }

    private static func connectBlocking(
        _ target: ConnectionTarget, _ connectTimeout: Duration, _ statementTimeout: Duration, _ queue: DispatchQueue
    ) throws -> MySQLConnection {
        guard libraryReady, let handle = mysql_init(nil) else {
            throw DatabaseError(.unavailable, "the MariaDB client library could not be initialised")
        }
        var timeout = UInt32(max(1, connectTimeout.components.seconds))
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        var readTimeout = UInt32(statementTimeout.components.seconds + 10)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &readTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &readTimeout)
        var packet = UInt(256 << 20)
        mysql_options(handle, MYSQL_OPT_MAX_ALLOWED_PACKET, &packet)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        let connected = mysql_real_connect(
            handle, target.socket == nil ? target.host : "localhost", target.user, target.password, target.database,
            UInt32(target.port), target.socket, 0)
        guard connected != nil else {
            let error = Self.error(code: Int(mysql_errno(handle)), message: String(cString: mysql_error(handle)))
            mysql_close(handle)
            throw error
        }
        let connection = MySQLConnection(handle: handle, queue: queue)
        let seconds = Double(statementTimeout.components.seconds) + Double(statementTimeout.components.attoseconds) / 1e18
        _ = try connection.performBlocking("SET time_zone = '+00:00', SESSION max_statement_time = \(seconds)", [])
        return connection
    }

    /// Runs a statement on the connection's queue.
    package func perform(_ sql: String, _ bindings: [SQLValue]) async throws -> ([SQLRow], SQLOutcome) {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.performBlocking(sql, bindings) })
            }
        }
    }

    /// Checks the connection is alive: `nil` when no answer came by `deadline`
    /// (the connection is then broken, and `late` gets the answer when it comes).
    package func ping(until deadline: ContinuousClock.Instant, late: @escaping @Sendable (Bool) -> Void) async -> Bool? {
        let alive = await runBlocking(on: queue, until: deadline, { self.pingBlocking() }, late: late)
        if alive == nil { broken.store(true, ordering: .relaxed) }
        return alive
    }

    private func pingBlocking() -> Bool {
        let alive = mysql_ping(handle) == 0
        if !alive { broken.store(true, ordering: .relaxed) }
        return alive
    }

    // MARK: Statements

    /// The prepared statement for `sql`: from the cache, or prepared now and cached.
    private func prepared(_ sql: String) throws -> UnsafeMutablePointer<MYSQL_STMT> {
        if let statement = statements[sql] {
            if let index = statementOrder.lastIndex(of: sql) { statementOrder.remove(at: index) }
            statementOrder.append(sql)
            return statement
        }
        guard let statement = mysql_stmt_init(handle) else { throw failure() }
        guard mysql_stmt_prepare(statement, sql, UInt(sql.utf8.count)) == 0 else {
            let error = failure(statement)
            mysql_stmt_close(statement)
            throw error
        }
        var updateMaxLength: my_bool = 1
        mysql_stmt_attr_set(statement, STMT_ATTR_UPDATE_MAX_LENGTH, &updateMaxLength)
        if statementOrder.count >= Self.statementCacheSize {
            let evicted = statementOrder.removeFirst()
            if let old = statements.removeValue(forKey: evicted) { mysql_stmt_close(old) }
        }
        statements[sql] = statement
        statementOrder.append(sql)
        return statement
    }

    /// Drops a statement that failed, so the next use prepares it afresh.
    private func forget(_ sql: String) {
        guard let statement = statements.removeValue(forKey: sql) else { return }
        statementOrder.removeAll { $0 == sql }
        mysql_stmt_close(statement)
    }

    private func performBlocking(_ sql: String, _ bindings: [SQLValue]) throws -> ([SQLRow], SQLOutcome) {
        let statement = try prepared(sql)
        do {
            return try execute(statement, bindings)
        } catch {
            forget(sql)
            throw error
        }
    }

    private func execute(_ statement: UnsafeMutablePointer<MYSQL_STMT>, _ bindings: [SQLValue]) throws -> ([SQLRow], SQLOutcome) {
        let parameterCount = Int(mysql_stmt_param_count(statement))
        guard parameterCount == bindings.count else {
            throw DatabaseError(.other, "the statement has \(parameterCount) placeholders but \(bindings.count) values were bound")
        }
        let parameters = BindBuffers(count: parameterCount)
        if parameterCount > 0 {
            try parameters.bindParameters(bindings)
            guard mysql_stmt_bind_param(statement, parameters.binds) == 0 else { throw failure(statement) }
            for (index, chunk) in parameters.longData {
                guard mysql_stmt_send_long_data(statement, UInt32(index), chunk.baseAddress, UInt(chunk.count)) == 0 else {
                    throw failure(statement)
                }
            }
        }
        guard mysql_stmt_execute(statement) == 0 else { throw failure(statement) }
        guard let metadata = mysql_stmt_result_metadata(statement) else {
            guard mysql_stmt_field_count(statement) == 0 else { throw failure(statement) }
            return ([], SQLOutcome(affectedRows: Int(mysql_stmt_affected_rows(statement)), lastInsertID: Int64(mysql_stmt_insert_id(statement))))
        }
        defer { mysql_free_result(metadata) }
        guard mysql_stmt_store_result(statement) == 0 else { throw failure(statement) }
        defer { mysql_stmt_free_result(statement) }
        let fieldCount = Int(mysql_num_fields(metadata))
        guard let fields = mysql_fetch_fields(metadata) else { throw failure(statement) }
        let columns = (0..<fieldCount).map { String(cString: fields[$0].name) }
        let results = BindBuffers(count: fieldCount)
        results.bindResults(fields)
        guard mysql_stmt_bind_result(statement, results.binds) == 0 else { throw failure(statement) }
        var rows: [SQLRow] = []
        while true {
            let status = mysql_stmt_fetch(statement)
            if status == MYSQL_NO_DATA { break }
            guard status == 0 || status == MYSQL_DATA_TRUNCATED else { throw failure(statement) }
            rows.append(SQLRow(columns: columns, values: results.readRow()))
        }
        return (rows, SQLOutcome(affectedRows: rows.count, lastInsertID: 0))
    }

    // MARK: Errors

    private func failure(_ statement: UnsafeMutablePointer<MYSQL_STMT>? = nil) -> DatabaseError {
        let error: DatabaseError
        if let statement, mysql_stmt_errno(statement) != 0 {
            error = Self.error(code: Int(mysql_stmt_errno(statement)), message: String(cString: mysql_stmt_error(statement)))
        } else {
            error = Self.error(code: Int(mysql_errno(handle)), message: String(cString: mysql_error(handle)))
        }
        if error.kind == .unavailable { broken.store(true, ordering: .relaxed) }
        return error
    }

    /// Classifies a server or client error number.
    package static func error(code: Int, message: String) -> DatabaseError {
        let kind: DatabaseError.Kind =
            switch code {
            case 2002, 2003, 2005, 2006, 2013, 2026, 2055, 1053, 1077, 1927, 4031: .unavailable
            case 1062, 1586: .duplicateKey
            case 1205, 1213: .deadlock
            case 1969, 3024: .timeout
            case 1044, 1045, 1142, 1143, 1227, 1370: .denied
            case 1048, 1216, 1217, 1451, 1452, 3819, 4025: .constraint
            default: .other
            }
        return DatabaseError(kind, message.isEmpty ? "database error \(code)" : message, serverCode: code)
    }
}
