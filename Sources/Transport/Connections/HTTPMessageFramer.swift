/// Where HTTP/1.1 messages begin and end in one direction of a byte stream: just
/// enough of RFC 9112 for the connection guard to tell a head being read, a body
/// being read and the gap between messages. It never rejects anything itself;
/// what it cannot follow (a malformed length, a coding other than chunked) makes it
/// ``Phase/opaque`` and the real decoder behind the guard answers it.
///
/// Bytes go in through ``consume(_:)``, which stops after the byte that completes
/// a head or a body so that the caller can act between messages.
package struct HTTPMessageFramer: Sendable {
    package enum Direction: Sendable {
        case request, response
    }

    /// What the stream is carrying now.
    package enum Phase: Sendable, Equatable {
        /// Between messages: no byte of the next head yet.
        case awaitingHead
        /// Inside a head.
        case head
        /// Inside a body (fixed length or chunked, trailers included).
        case body
        /// No longer followed: a body that lasts until the connection closes, or bytes the framer cannot frame.
        case opaque
    }

    /// A complete head.
    package struct Head: Sendable, Equatable {
        /// A request with method `HEAD` (its response has no body).
        package var isHEAD = false
        /// A response's status.
        package var status = 0
        /// A request's `X-Request-Id`, as sent.
        package var requestID: String?
        /// Whether a body follows.
        package var hasBody = false
        /// `101 Switching Protocols`: what follows is no longer HTTP.
        package var switchesProtocols: Bool { status == 101 }
        /// A 1xx other than 101: the final response is still to come.
        package var isInterim: Bool { (100..<200).contains(status) && status != 101 }
    }

    /// Something ``consume(_:)`` stopped for.
    package enum Event: Sendable, Equatable {
        /// A head ended with the last byte consumed. Without a body the message is complete too.
        case head(Head)
        /// A body ended with the last byte consumed.
        case bodyComplete
        /// The head grew past the limit before it ended; nothing more is framed.
        case headTooLarge
    }

    private enum State: Sendable {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case opaque
    }

    package let direction: Direction
    /// Largest head, in bytes, request line and line ends included.
    package let maxHeadBytes: Int
    /// Set by the caller before each response: whether it answers a `HEAD` request (and so has no body).
    package var nextResponseAnswersHEAD = false

    private var state = State.head
    // The head being read.
    private var headBytes = 0
    private var line: [UInt8] = []
    private var lineBytes = 0
    private var sawStartLine = false
    private var foldingMatters = false
    private var current = Head()
    private var contentLength: Int?
    private var transferEncodingSeen = false
    private var chunked = false
    private var framingBroken = false
    // A chunk-size line, or the trailer section.
    private var chunkSize = 0
    private var chunkDigits = 0
    private var chunkInExtension = false
    private var sectionBytes = 0

    /// Longest part of a line kept for parsing: framing headers and ids are short, and a
    /// framing header longer than this is treated as one the framer cannot follow.
    private static let lineCapture = 256
    /// Longest chunk-size line (with its extensions).
    private static let maxChunkLine = 4096

    package init(direction: Direction, maxHeadBytes: Int = .max) {
        self.direction = direction
        self.maxHeadBytes = maxHeadBytes
        line.reserveCapacity(64)
    }

    package var phase: Phase {
        switch state {
        case .head: headBytes == 0 ? .awaitingHead : .head
        case .opaque: .opaque
        case .fixed, .chunkSize, .chunkData, .chunkDataEnd, .trailers: .body
        }
    }

    /// Bytes of the head read so far.
    package var headBytesRead: Int { headBytes }

    /// The `X-Request-Id` of the request head being read, if its line has been seen.
    package var pendingRequestID: String? { current.requestID }

    /// Frames `bytes` up to the first event, returning how many it consumed (all of
    /// them when there is no event).
    package mutating func consume(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        var index = 0
        let count = bytes.count
        while index < count {
            switch state {
            case .opaque:
                return (count, nil)
            case .fixed(let remaining):
                let take = min(remaining, count - index)
                index += take
                guard take == remaining else {
                    state = .fixed(remaining: remaining - take)
                    continue
                }
                startHead()
                return (index, .bodyComplete)
            case .chunkData(let remaining):
                let take = min(remaining, count - index)
                index += take
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .head:
                let byte = bytes[index]
                index += 1
                headBytes += 1
                if headBytes > maxHeadBytes {
                    state = .opaque
                    return (index, .headTooLarge)
                }
                if byte == Self.lf {
                    if let event = endHeadLine() { return (index, event) }
                } else {
                    lineBytes += 1
                    if line.count < Self.lineCapture { line.append(byte) }
                }
            case .chunkSize:
                let byte = bytes[index]
                index += 1
                if let event = chunkSizeByte(byte) { return (index, event) }
            case .chunkDataEnd:
                let byte = bytes[index]
                index += 1
                if byte == Self.lf {
                    beginChunkSize()
                } else if byte != Self.cr {
                    state = .opaque
                }
            case .trailers:
                let byte = bytes[index]
                index += 1
                sectionBytes += 1
                if sectionBytes > maxHeadBytes {
                    state = .opaque
                } else if byte == Self.lf {
                    if lineBytes == 0 {
                        startHead()
                        return (index, .bodyComplete)
                    }
                    lineBytes = 0
                } else if byte != Self.cr {
                    lineBytes += 1
                }
            }
        }
        return (index, nil)
    }

    /// Counts `count` bytes whose content is not at hand (a file region): fine inside a
    /// body of known length, anything else is no longer followed.
    package mutating func consumeUnseen(_ count: Int) {
        switch state {
        case .fixed(let remaining) where count < remaining:
            state = .fixed(remaining: remaining - count)
        case .fixed(let remaining) where count == remaining:
            startHead()
        case .chunkData(let remaining) where count < remaining:
            state = .chunkData(remaining: remaining - count)
        case .chunkData(let remaining) where count == remaining:
            state = .chunkDataEnd
        default:
            if count > 0 { state = .opaque }
        }
    }

    // MARK: Heads

    private mutating func startHead() {
        state = .head
        headBytes = 0
        line.removeAll(keepingCapacity: true)
        lineBytes = 0
        sawStartLine = false
        foldingMatters = false
        current = Head()
        contentLength = nil
        transferEncodingSeen = false
        chunked = false
        framingBroken = false
    }

    private mutating func endHeadLine() -> Event? {
        defer {
            line.removeAll(keepingCapacity: true)
            lineBytes = 0
        }
        let truncated = lineBytes > line.count
        if !truncated, line.last == Self.cr { line.removeLast() }
        if line.isEmpty, !truncated {
            // Empty lines before a request line are allowed and skipped (RFC 9112 §2.2).
            guard sawStartLine else { return nil }
            return finishHead()
        }
        guard sawStartLine else {
            sawStartLine = true
            startLine()
            return nil
        }
        if line.first == Self.space || line.first == Self.tab {
            // An obsolete folded line continues the previous field; that matters only for framing fields.
            if foldingMatters { framingBroken = true }
            return nil
        }
        headerLine(truncated: truncated)
        return nil
    }

    private mutating func startLine() {
        switch direction {
        case .request:
            current.isHEAD = line.starts(with: Self.headMethod)
        case .response:
            // `HTTP/1.1 200 Reason`: the three digits after the first space.
            guard let space = line.firstIndex(of: Self.space), line.count >= space + 4 else {
                framingBroken = true
                return
            }
            var status = 0
            for byte in line[(space + 1)...(space + 3)] {
                guard (Self.zero...Self.nine).contains(byte) else {
                    framingBroken = true
                    return
                }
                status = status * 10 + Int(byte - Self.zero)
            }
            current.status = status
        }
    }

    private mutating func headerLine(truncated: Bool) {
        foldingMatters = false
        guard let colon = line.firstIndex(of: Self.colon) else { return }
        let name = line[..<colon]
        var value = line[(colon + 1)...]
        while let first = value.first, first == Self.space || first == Self.tab { value.removeFirst() }
        while let last = value.last, last == Self.space || last == Self.tab { value.removeLast() }
        if Self.equalsIgnoringCase(name, Self.contentLengthName) {
            foldingMatters = true
            guard !truncated, let length = Self.contentLength(value), contentLength == nil || contentLength == length else {
                framingBroken = true
                return
            }
            contentLength = length
        } else if Self.equalsIgnoringCase(name, Self.transferEncodingName) {
            foldingMatters = true
            guard !truncated else {
                framingBroken = true
                return
            }
            transferEncodingSeen = true
            // The last coding decides; each field's list replaces what came before it.
            let last = value.split(separator: Self.comma).last.map { Array($0.drop { $0 == Self.space || $0 == Self.tab }) } ?? []
            let trimmed = last.prefix { $0 != Self.space && $0 != Self.tab && $0 != Self.semicolon }
            chunked = Self.equalsIgnoringCase(trimmed, Self.chunkedName)
        } else if direction == .request, current.requestID == nil, !truncated,
            Self.equalsIgnoringCase(name, Self.requestIDName)
        {
            current.requestID = String(decoding: value, as: UTF8.self)
        }
    }

    private mutating func finishHead() -> Event {
        var head = current
        let bodyless: Bool
        switch direction {
        case .request:
            bodyless = !transferEncodingSeen && (contentLength ?? 0) == 0
        case .response:
            bodyless = head.status < 200 || head.status == 204 || head.status == 304 || nextResponseAnswersHEAD
        }
        if framingBroken || (direction == .response && head.status == 0) {
            // The decoder behind will refuse it; from here on, bytes are only counted.
            head.hasBody = true
            state = .opaque
        } else if head.switchesProtocols {
            state = .opaque
        } else if bodyless {
            startHead()
        } else if transferEncodingSeen {
            // A request coding other than chunked is refused by the decoder; a response so coded lasts until close.
            head.hasBody = true
            if chunked { beginChunkSize() } else { state = .opaque }
        } else if let contentLength {
            head.hasBody = true
            state = .fixed(remaining: contentLength)
        } else {
            // A response with neither length nor coding lasts until the connection closes.
            head.hasBody = true
            state = .opaque
        }
        return .head(head)
    }

    // MARK: Chunks

    private mutating func beginChunkSize() {
        state = .chunkSize
        chunkSize = 0
        chunkDigits = 0
        chunkInExtension = false
        sectionBytes = 0
    }

    private mutating func chunkSizeByte(_ byte: UInt8) -> Event? {
        sectionBytes += 1
        guard sectionBytes <= Self.maxChunkLine else {
            state = .opaque
            return nil
        }
        if byte == Self.lf {
            guard chunkDigits > 0 else {
                state = .opaque
                return nil
            }
            if chunkSize == 0 {
                state = .trailers
                lineBytes = 0
                sectionBytes = 0
            } else {
                state = .chunkData(remaining: chunkSize)
            }
        } else if byte == Self.cr || chunkInExtension {
            return nil
        } else if let digit = Self.hexValue(byte) {
            guard chunkDigits < 15 else {
                state = .opaque
                return nil
            }
            chunkSize = chunkSize << 4 | digit
            chunkDigits += 1
        } else if byte == Self.semicolon || byte == Self.space || byte == Self.tab {
            chunkInExtension = true
        } else {
            state = .opaque
        }
        return nil
    }

    // MARK: Bytes

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let space: UInt8 = 0x20
    private static let tab: UInt8 = 0x09
    private static let colon: UInt8 = 0x3A
    private static let comma: UInt8 = 0x2C
    private static let semicolon: UInt8 = 0x3B
    private static let zero: UInt8 = 0x30
    private static let nine: UInt8 = 0x39
    private static let headMethod = Array("HEAD ".utf8)
    private static let contentLengthName = Array("content-length".utf8)
    private static let transferEncodingName = Array("transfer-encoding".utf8)
    private static let requestIDName = Array("x-request-id".utf8)
    private static let chunkedName = Array("chunked".utf8)

    /// ASCII case-insensitive equality with a lowercase `name`.
    private static func equalsIgnoringCase(_ bytes: some Collection<UInt8>, _ name: [UInt8]) -> Bool {
        bytes.count == name.count && zip(bytes, name).allSatisfy { ($0 | 0x20) == $1 || $0 == $1 }
    }

    /// `42`, or a list of equal values (`42, 42`, RFC 9110 §8.6); `nil` for anything else.
    private static func contentLength(_ value: ArraySlice<UInt8>) -> Int? {
        var result: Int?
        for part in value.split(separator: comma) {
            let digits = part.drop { $0 == space || $0 == tab }.prefix { $0 != space && $0 != tab }
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ (zero...nine).contains($0) }) else { return nil }
            let number = digits.reduce(0) { $0 * 10 + Int($1 - zero) }
            guard result == nil || result == number else { return nil }
            result = number
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }
}
