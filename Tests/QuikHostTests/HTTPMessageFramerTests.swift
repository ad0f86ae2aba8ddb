import Testing
@testable import QuikTransport

/// The connection guard's framing, fed bytes directly: where heads and bodies end,
/// whether fed all at once or one byte at a time.
@Suite("HTTP message framer")
struct HTTPMessageFramerTests {
    /// Every event with the offset just after the byte that caused it, feeding `text` in pieces of `step` bytes.
    static func events(
        _ text: String, direction: HTTPMessageFramer.Direction = .request, maxHeadBytes: Int = 16 << 10, step: Int = .max,
        answersHEAD: Bool = false
    ) -> (events: [(Int, HTTPMessageFramer.Event)], framer: HTTPMessageFramer) {
        var framer = HTTPMessageFramer(direction: direction, maxHeadBytes: maxHeadBytes)
        framer.nextResponseAnswersHEAD = answersHEAD
        let bytes = Array(text.utf8)
        var events: [(Int, HTTPMessageFramer.Event)] = []
        var offset = 0
        while offset < bytes.count {
            let piece = bytes[offset..<min(bytes.count, offset + min(step, bytes.count))]
            var start = piece.startIndex
            while start < piece.endIndex {
                let (consumed, event) = piece[start...].withUnsafeBytes { framer.consume($0) }
                start += consumed
                if let event { events.append((start, event)) }
                if consumed == 0 { break }
            }
            offset = piece.endIndex
        }
        return (events, framer)
    }

    static func offsets(_ events: [(Int, HTTPMessageFramer.Event)]) -> [Int] { events.map(\.0) }

    @Test("pipelined requests without bodies each end at their blank line, in one piece or byte by byte")
    func pipelinedHeads() {
        let first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        let second = "HEAD /b HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-2\r\n\r\n"
        for step in [1, 3, Int.max] {
            let (events, framer) = Self.events(first + second, step: step)
            #expect(Self.offsets(events) == [first.utf8.count, first.utf8.count + second.utf8.count])
            guard events.count == 2, case .head(let a) = events[0].1, case .head(let b) = events[1].1 else {
                Issue.record("expected two heads, got \(events.map(\.1))")
                continue
            }
            #expect(!a.hasBody && !a.isHEAD && a.requestID == nil)
            #expect(!b.hasBody && b.isHEAD && b.requestID == "r-2")
            #expect(framer.phase == .awaitingHead)
        }
    }

    @Test("a Content-Length body ends after exactly that many bytes, and the next head follows")
    func fixedBody() {
        let head = "POST /e HTTP/1.1\r\ncontent-length: 5\r\n\r\n"
        let text = head + "hello" + "GET / HTTP/1.1\r\n\r\n"
        for step in [1, 2, Int.max] {
            let (events, _) = Self.events(text, step: step)
            #expect(Self.offsets(events) == [head.utf8.count, head.utf8.count + 5, text.utf8.count], "step \(step)")
            #expect(events.map(\.1).dropFirst().first == .bodyComplete)
        }
        var partial = HTTPMessageFramer(direction: .request)
        _ = Array((head + "he").utf8).withUnsafeBytes { partial.consume($0) }
        #expect(partial.phase == .body)
    }

    @Test("a chunked body with extensions and trailers ends after its trailer section")
    func chunkedBody() {
        let head = "POST /e HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
        let body = "5;name=value\r\nhello\r\n1A\r\n" + String(repeating: "z", count: 26) + "\r\n0\r\nX-Trailer: yes\r\n\r\n"
        let text = head + body + "GET / HTTP/1.1\r\n\r\n"
        for step in [1, 7, Int.max] {
            let (events, framer) = Self.events(text, step: step)
            #expect(Self.offsets(events) == [head.utf8.count, head.utf8.count + body.utf8.count, text.utf8.count], "step \(step)")
            #expect(framer.phase == .awaitingHead)
        }
        // No trailers: the last chunk is followed by the blank line at once.
        let bare = head + "3\r\nabc\r\n0\r\n\r\n"
        #expect(Self.offsets(Self.events(bare, step: 1).events) == [head.utf8.count, bare.utf8.count])
    }

    @Test("a head past the limit is reported at the first byte over it, complete or not")
    func headTooLarge() {
        let text = "GET / HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 2000)
        let (events, framer) = Self.events(text, maxHeadBytes: 1024, step: 100)
        #expect(events.count == 1)
        #expect(events.first?.0 == 1025)
        #expect(events.first?.1 == .headTooLarge)
        #expect(framer.phase == .opaque)
        // Exactly at the limit is fine.
        let exact = "GET / HTTP/1.1\r\n" + "X: " + String(repeating: "b", count: 1024 - 16 - 3 - 4) + "\r\n\r\n"
        #expect(exact.utf8.count == 1024)
        #expect(Self.events(exact, maxHeadBytes: 1024).events.first.map { if case .head = $0.1 { true } else { false } } == true)
    }

    @Test("empty lines before a request line are skipped, not taken for the end of a head")
    func leadingEmptyLines() {
        let text = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        #expect(Self.offsets(Self.events(text, step: 1).events) == [text.utf8.count])
    }

    @Test("framing it cannot follow makes the framer opaque after the head, so the decoder decides")
    func unframeable() {
        for header in ["Content-Length: 12x", "Content-Length: 5\r\nContent-Length: 6", "Transfer-Encoding: gzip", "Content-Length: 5\r\n 6"] {
            let (events, framer) = Self.events("POST / HTTP/1.1\r\n\(header)\r\n\r\nbody")
            #expect(events.count == 1, "\(header)")
            #expect(framer.phase == .opaque, "\(header)")
        }
        let (_, malformedChunk) = Self.events("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        #expect(malformedChunk.phase == .opaque)
        // Equal repeated lengths are one length (RFC 9110 §8.6).
        let (events, _) = Self.events("POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok")
        #expect(events.last?.1 == .bodyComplete)
    }

    @Test("responses: 101 switches protocols, 1xx is interim, HEAD/204/304 have no body, chunked and sized bodies end")
    func responses() {
        let switching = Self.events("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{81}\u{05}hello", direction: .response)
        guard case .head(let upgrade) = switching.events.first?.1 else {
            Issue.record("no head")
            return
        }
        #expect(upgrade.switchesProtocols)
        #expect(switching.framer.phase == .opaque)

        let interim = "HTTP/1.1 100 Continue\r\n\r\n"
        let final = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let (events, framer) = Self.events(interim + final, direction: .response, step: 1)
        #expect(Self.offsets(events) == [interim.utf8.count, interim.utf8.count + final.utf8.count - 2, (interim + final).utf8.count])
        if case .head(let first) = events.first?.1 { #expect(first.isInterim) }
        #expect(framer.phase == .awaitingHead)

        let headAnswer = Self.events("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", direction: .response, answersHEAD: true)
        #expect(headAnswer.framer.phase == .awaitingHead)
        let noContent = Self.events("HTTP/1.1 204 No Content\r\nContent-Length: 20\r\n\r\n", direction: .response)
        #expect(noContent.framer.phase == .awaitingHead)

        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
        #expect(Self.events(chunked, direction: .response, step: 1).events.last?.0 == chunked.utf8.count)

        let untilClose = Self.events("HTTP/1.0 200 OK\r\n\r\nstream", direction: .response)
        #expect(untilClose.framer.phase == .opaque)
    }

    @Test("bytes not at hand (a file region) are counted inside a sized body")
    func unseenBytes() {
        var framer = HTTPMessageFramer(direction: .response)
        _ = Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".utf8).withUnsafeBytes { framer.consume($0) }
        framer.consumeUnseen(60)
        #expect(framer.phase == .body)
        framer.consumeUnseen(40)
        #expect(framer.phase == .awaitingHead)
        framer.consumeUnseen(1)
        #expect(framer.phase == .opaque)
    }
}
