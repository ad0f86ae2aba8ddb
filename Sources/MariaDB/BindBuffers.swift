import CMariaDB
import Foundation
import QuikSDK
import QuikSupport

/// The C memory behind one statement's `MYSQL_BIND` array, freed with it.
package final class BindBuffers {
    package let count: Int
    package let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private let errors: UnsafeMutablePointer<my_bool>
    private var storage: [UnsafeMutableRawPointer] = []
    private var kinds: [ColumnKind] = []
    /// Parameters too large for one packet, sent with `mysql_stmt_send_long_data` in chunks.
    package private(set) var longData: [(Int, UnsafeRawBufferPointer)] = []

    /// Values above this size go as long data.
    package static let longDataThreshold = 1 << 20

    package enum ColumnKind {
        case null, signed, unsigned, double, decimal, text, blob, date, time
    }

    package init(count: Int) {
        self.count = count
        binds = .allocate(capacity: max(count, 1))
        binds.initialize(repeating: MYSQL_BIND(), count: max(count, 1))
        lengths = .allocate(capacity: max(count, 1))
        lengths.initialize(repeating: 0, count: max(count, 1))
        nulls = .allocate(capacity: max(count, 1))
        nulls.initialize(repeating: 0, count: max(count, 1))
        errors = .allocate(capacity: max(count, 1))
        errors.initialize(repeating: 0, count: max(count, 1))
    }

    deinit {
        for pointer in storage { pointer.deallocate() }
        binds.deallocate()
        lengths.deallocate()
        nulls.deallocate()
        errors.deallocate()
    }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
        storage.append(pointer)
        return pointer
    }

    private func copy(_ bytes: some Collection<UInt8>, into index: Int) -> UnsafeMutableRawPointer {
        let pointer = allocate(bytes.count)
        pointer.copyMemory(from: Array(bytes), byteCount: bytes.count)
        lengths[index] = UInt(bytes.count)
        binds[index].buffer = pointer
        binds[index].buffer_length = UInt(bytes.count)
        binds[index].length = lengths + index
        return pointer
    }

    // MARK: Parameters

    package func bindParameters(_ values: [SQLValue]) throws(DatabaseError) {
        for (index, value) in values.enumerated() {
            switch value {
            case .null:
                binds[index].buffer_type = MYSQL_TYPE_NULL
            case .int(let number):
                let pointer = allocate(8)
                pointer.storeBytes(of: number, as: Int64.self)
                binds[index].buffer = pointer
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
            case .double(let number):
                let pointer = allocate(8)
                pointer.storeBytes(of: number, as: Double.self)
                binds[index].buffer = pointer
                binds[index].buffer_type = MYSQL_TYPE_DOUBLE
            case .decimal(let text):
                binds[index].buffer_type = MYSQL_TYPE_NEWDECIMAL
                _ = copy(Array(text.utf8), into: index)
            case .text(let text):
                binds[index].buffer_type = MYSQL_TYPE_STRING
                bindBytes(Array(text.utf8), at: index)
            case .blob(let data):
                binds[index].buffer_type = MYSQL_TYPE_BLOB
                bindBytes(Array(data), at: index)
            case .date(let date):
                binds[index].buffer_type = MYSQL_TYPE_DATETIME
                bindTime(MySQLTime.from(date), at: index)
            case .time(let seconds):
                binds[index].buffer_type = MYSQL_TYPE_TIME
                bindTime(MySQLTime.from(seconds: seconds), at: index)
            @unknown default:
                throw DatabaseError(.other, "parameter \(index + 1) has a kind of value this host cannot bind")
            }
        }
    }

    private func bindBytes(_ bytes: [UInt8], at index: Int) {
        guard bytes.count > Self.longDataThreshold else {
            _ = copy(bytes, into: index)
            return
        }
        let pointer = copy(bytes, into: index)
        binds[index].buffer = nil
        binds[index].buffer_length = 0
        binds[index].length = nil
        var offset = 0
        while offset < bytes.count {
            let size = min(Self.longDataThreshold, bytes.count - offset)
            longData.append((index, UnsafeRawBufferPointer(start: pointer + offset, count: size)))
            offset += size
        }
    }

    private func bindTime(_ time: MYSQL_TIME, at index: Int) {
        let pointer = allocate(MemoryLayout<MYSQL_TIME>.size)
        pointer.storeBytes(of: time, as: MYSQL_TIME.self)
        binds[index].buffer = pointer
        binds[index].buffer_length = UInt(MemoryLayout<MYSQL_TIME>.size)
    }

    // MARK: Results

    package func bindResults(_ fields: UnsafeMutablePointer<MYSQL_FIELD>) {
        kinds = []
        for index in 0..<count {
            let field = fields[index]
            binds[index].is_null = nulls + index
            binds[index].error = errors + index
            binds[index].length = lengths + index
            let unsigned = field.flags & UInt32(UNSIGNED_FLAG) != 0
            switch field.type {
            case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_YEAR:
                binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                binds[index].buffer = allocate(8)
                binds[index].buffer_length = 8
                binds[index].is_unsigned = unsigned ? 1 : 0
                kinds.append(unsigned ? .unsigned : .signed)
            case MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE:
                binds[index].buffer_type = MYSQL_TYPE_DOUBLE
                binds[index].buffer = allocate(8)
                binds[index].buffer_length = 8
                kinds.append(.double)
            case MYSQL_TYPE_DATE, MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_NEWDATE:
                binds[index].buffer_type = MYSQL_TYPE_DATETIME
                binds[index].buffer = allocate(MemoryLayout<MYSQL_TIME>.size)
                binds[index].buffer_length = UInt(MemoryLayout<MYSQL_TIME>.size)
                kinds.append(.date)
            case MYSQL_TYPE_TIME:
                binds[index].buffer_type = MYSQL_TYPE_TIME
                binds[index].buffer = allocate(MemoryLayout<MYSQL_TIME>.size)
                binds[index].buffer_length = UInt(MemoryLayout<MYSQL_TIME>.size)
                kinds.append(.time)
            case MYSQL_TYPE_NULL:
                binds[index].buffer_type = MYSQL_TYPE_NULL
                kinds.append(.null)
            default:
                let size = Int(max(field.max_length, 1))
                let binary = field.charsetnr == 63 && field.type != MYSQL_TYPE_NEWDECIMAL && field.type != MYSQL_TYPE_DECIMAL
                binds[index].buffer_type = binary ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING
                binds[index].buffer = allocate(size)
                binds[index].buffer_length = UInt(size)
                let decimal = field.type == MYSQL_TYPE_NEWDECIMAL || field.type == MYSQL_TYPE_DECIMAL
                kinds.append(decimal ? .decimal : binary || field.type == MYSQL_TYPE_BIT ? .blob : .text)
            }
        }
    }

    package func readRow() -> [SQLValue] {
        (0..<count).map { index in
            guard nulls[index] == 0 else { return .null }
            let buffer = binds[index].buffer!
            switch kinds[index] {
            case .null: return .null
            case .signed: return .int(buffer.load(as: Int64.self))
            case .unsigned:
                let value = buffer.load(as: UInt64.self)
                return value <= UInt64(Int64.max) ? .int(Int64(value)) : .decimal(String(value))
            case .double: return .double(buffer.load(as: Double.self))
            case .date: return .date(MySQLTime.date(buffer.load(as: MYSQL_TIME.self)))
            case .time: return .time(MySQLTime.seconds(buffer.load(as: MYSQL_TIME.self)))
            case .text, .decimal, .blob:
                let bytes = UnsafeRawBufferPointer(start: buffer, count: Int(lengths[index]))
                switch kinds[index] {
                case .blob: return .blob(Data(bytes))
                case .decimal: return .decimal(String(decoding: bytes, as: UTF8.self))
                default: return .text(String(decoding: bytes, as: UTF8.self))
                }
            }
        }
    }
}

/// Conversions between `MYSQL_TIME` and Foundation, always in UTC.
package enum MySQLTime {
    package static func from(_ date: Date) -> MYSQL_TIME {
        let interval = date.timeIntervalSince1970
        var seconds = Int(interval.rounded(.down))
        var micros = Int(((interval - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            seconds += 1
            micros -= 1_000_000
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var value = MYSQL_TIME()
        value.year = UInt32(parts.tm_year + 1900)
        value.month = UInt32(parts.tm_mon + 1)
        value.day = UInt32(parts.tm_mday)
        value.hour = UInt32(parts.tm_hour)
        value.minute = UInt32(parts.tm_min)
        value.second = UInt32(parts.tm_sec)
        value.second_part = UInt(micros)
        value.time_type = MYSQL_TIMESTAMP_DATETIME
        return value
    }

    package static func from(seconds: Double) -> MYSQL_TIME {
        var value = MYSQL_TIME()
        let magnitude = abs(seconds)
        let whole = Int(magnitude.rounded(.down))
        value.neg = seconds < 0 ? 1 : 0
        value.hour = UInt32(whole / 3600)
        value.minute = UInt32((whole % 3600) / 60)
        value.second = UInt32(whole % 60)
        value.second_part = UInt(((magnitude - Double(whole)) * 1_000_000).rounded())
        value.time_type = MYSQL_TIMESTAMP_TIME
        return value
    }

    package static func date(_ value: MYSQL_TIME) -> Date {
        var parts = tm()
        parts.tm_year = Int32(value.year) - 1900
        parts.tm_mon = Int32(max(value.month, 1)) - 1
        parts.tm_mday = Int32(max(value.day, 1))
        parts.tm_hour = Int32(value.hour)
        parts.tm_min = Int32(value.minute)
        parts.tm_sec = Int32(value.second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(value.second_part) / 1_000_000)
    }

    package static func seconds(_ value: MYSQL_TIME) -> Double {
        let total = Double(value.hour) * 3600 + Double(value.minute) * 60 + Double(value.second) + Double(value.second_part) / 1_000_000
        return value.neg != 0 ? -total : total
    }
}
