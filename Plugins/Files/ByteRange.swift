/// One `Range: bytes=…` request header against a size, as the contract reads it.
enum ByteRange: Equatable {
    /// No range, several ranges, or one the server ignores: the whole file, 200.
    case whole
    /// One satisfiable range: 206.
    case part(Range<Int64>)
    /// Starts past the end: 416.
    case unsatisfiable

    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header, header.hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { return .whole }
        let sides = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard sides.count == 2 else { return .whole }
        switch (Int64(sides[0]), Int64(sides[1])) {
        case (let start?, let end?) where sides[0].allSatisfy(\.isNumber) && sides[1].allSatisfy(\.isNumber):
            guard start <= end else { return .whole }
            guard start < size else { return .unsatisfiable }
            return .part(start..<min(end + 1, size))
        case (let start?, nil) where sides[1].isEmpty && sides[0].allSatisfy(\.isNumber):
            guard start < size else { return .unsatisfiable }
            return .part(start..<size)
        case (nil, let suffix?) where sides[0].isEmpty && sides[1].allSatisfy(\.isNumber):
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - suffix)..<size)
        default:
            return .whole
        }
    }
}
