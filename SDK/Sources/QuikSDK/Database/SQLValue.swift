import Foundation

/// A value bound to a statement parameter or read from a result column.
///
/// Values always travel separately from the SQL text (prepared statements),
/// so quotes or `'; DROP TABLE` in a value are stored as text, never run.
public enum SQLValue: Sendable, Equatable, CustomStringConvertible {
    /// SQL `NULL`.
    case null
    /// Integer columns of any width (`TINYINT` … `BIGINT`, `YEAR`).
    case int(Int64)
    /// `FLOAT` and `DOUBLE`.
    case double(Double)
    /// `DECIMAL`, kept as its exact text (and `BIGINT UNSIGNED` values beyond `Int64`).
    case decimal(String)
    /// Character columns (`CHAR`, `VARCHAR`, `TEXT`, `JSON`, `ENUM`).
    case text(String)
    /// Binary columns (`BINARY`, `VARBINARY`, `BLOB`, `BIT`).
    case blob(Data)
    /// `DATE`, `DATETIME` and `TIMESTAMP`, read and written as UTC, microseconds kept.
    case date(Date)
    /// `TIME`, as seconds (negative allowed).
    case time(Double)

    /// The integer, when this is one.
    public var int: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The text, when this is text (or a decimal).
    public var string: String? {
        switch self {
        case .text(let value), .decimal(let value): value
        default: nil
        }
    }

    /// The number, when this is any number.
    public var double: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        case .decimal(let value): Double(value)
        default: nil
        }
    }

    /// The bytes, when this is a blob.
    public var data: Data? {
        if case .blob(let value) = self { return value }
        return nil
    }

    /// The time, when this is a date.
    public var date: Date? {
        if case .date(let value) = self { return value }
        return nil
    }

    /// Whether this is `NULL`.
    public var isNull: Bool { self == .null }

    /// A short rendering for logs; text and blobs are shown by size only.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .decimal(let value): value
        case .text(let value): "text(\(value.utf8.count) bytes)"
        case .blob(let value): "blob(\(value.count) bytes)"
        case .date(let value): QuikTime.format(value)
        case .time(let value): "time(\(value)s)"
        }
    }
}

/// One result row: column names and values in select order.
public struct SQLRow: Sendable, Equatable {
    /// Column names (labels), in order.
    public var columns: [String]
    /// Values, in the same order.
    public var values: [SQLValue]

    /// Creates a row.
    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of the column named `column`, or `.null` when there is none.
    public subscript(column: String) -> SQLValue {
        guard let index = columns.firstIndex(of: column) else { return .null }
        return values[index]
    }

    /// The value at `index`.
    public subscript(index: Int) -> SQLValue {
        values[index]
    }
}

/// What a statement that returns no rows did.
public struct SQLOutcome: Sendable, Equatable {
    /// Rows inserted, updated or deleted.
    public var affectedRows: Int
    /// The `AUTO_INCREMENT` value it generated, or 0.
    public var lastInsertID: Int64

    /// Creates an outcome.
    public init(affectedRows: Int, lastInsertID: Int64) {
        self.affectedRows = affectedRows
        self.lastInsertID = lastInsertID
    }
}
