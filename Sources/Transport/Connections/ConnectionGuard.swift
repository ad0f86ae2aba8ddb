import NIOCore

/// The first handler of every accepted connection, in front of the HTTP decoder: it
/// frames requests and responses at the byte level (``HTTPMessageFramer``) and cuts
/// off slow, idle and oversized clients before Hummingbird has a request to look at.
///
/// - A head must end within the head timeout of its first byte (of accept, on a new
///   connection); past it the client gets 408, or a plain close if it sent nothing.
/// - A body that gets no byte for the stall timeout is dropped.
/// - Between requests, a connection with no byte in either direction for the idle
///   timeout is closed.
/// - A head over the limit gets 431. Heads are held here until complete, so the decoder
///   never sees a partial or oversized one.
/// - A response `101 Switching Protocols` hands the connection to the WebSocket as is.
///
/// Time only counts while the pipeline asks for bytes: when the server itself stops
/// reading (backpressure from a busy handler), the client is not blamed for the wait.
/// A 408 or 431 is written only when no response is under way, so a pipelined
/// response is never cut in two by it; otherwise the connection just closes.
package final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = IOData
    package typealias OutboundOut = IOData

    private enum Mode {
        case guarding
        /// After a 101: everything passes untouched.
        case passthrough
        /// Refused or cut: input is discarded until the close.
        case closing
    }

    private let gate: ConnectionGate
    private let settings: ConnectionGate.Settings
    private var mode = Mode.guarding
    /// Over the cap: answer 503 as soon as the connection is active.
    private var refusing: Bool
    private var requests: HTTPMessageFramer
    private var responses = HTTPMessageFramer(direction: .response)
    /// The head being read, held back until it is complete.
    private var held: ByteBuffer?
    /// For each request read and not yet answered, in order: whether it was `HEAD`.
    private var awaitingAnswers: [Bool] = []
    /// No request has been read on this connection yet.
    private var fresh = true
    private var headDeadline = NIODeadline.now()
    private var lastInbound = NIODeadline.now()
    private var lastActivity = NIODeadline.now()
    /// Set while the pipeline has not asked for more bytes since the last read.
    private var pausedSince: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var lingeringPlace = false
    private var finished = false
    /// Once cut: nothing partial is with the decoder, so the handlers behind may be told the input ended.
    private var cutQuietly = false
    private var endOfInputSignalled = false

    package init(gate: ConnectionGate, refusing: Bool = false) {
        self.gate = gate
        settings = gate.settings
        self.refusing = refusing
        requests = HTTPMessageFramer(direction: .request, maxHeadBytes: gate.settings.maxHeaderBytes)
    }

    // MARK: Lifecycle

    package func handlerAdded(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        headDeadline = now + settings.headTimeout
        lastInbound = now
        lastActivity = now
        if context.channel.isActive { becameActive(context: context) }
    }

    package func channelActive(context: ChannelHandlerContext) {
        becameActive(context: context)
        context.fireChannelActive()
    }

    private func becameActive(context: ChannelHandlerContext) {
        if refusing {
            refusing = false
            answerAndClose(context: context, with: .overCapacity, requestID: nil)
        } else if mode == .guarding, timer == nil {
            arm(context: context)
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        releaseLingeringPlace()
        // A close with no request under way (the client gone mid-head, a linger ended by a
        // reset) reaches the handlers behind as an end of input first, so that they finish
        // cleanly instead of failing on removal, which Hummingbird logs as an error.
        let nothingPartial =
            mode == .guarding ? requests.phase == .awaitingHead || requests.phase == .head : mode == .closing && cutQuietly
        if nothingPartial { signalEndOfInput(context: context) }
        context.fireChannelInactive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        releaseLingeringPlace()
    }

    // MARK: Inbound

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch mode {
        case .passthrough:
            forwardHeld(context: context)
            context.fireChannelRead(data)
            return
        case .closing:
            return
        case .guarding:
            break
        }
        var buffer = unwrapInboundIn(data)
        let now = NIODeadline.now()
        lastInbound = now
        lastActivity = now
        while buffer.readableBytes > 0, mode == .guarding {
            let before = requests.phase
            let (consumed, event) = buffer.withUnsafeReadableBytes { requests.consume($0) }
            guard let part = buffer.readSlice(length: consumed) else { break }
            if before == .awaitingHead, consumed > 0, !fresh {
                // A later request's head is timed from its first byte; the first one's from accept.
                headDeadline = now + settings.headTimeout
            }
            if case .head(let head) = event {
                // Noted before the head goes on: its answer may be written while it is passed on.
                fresh = false
                awaitingAnswers.append(head.isHEAD)
            }
            if before == .awaitingHead || before == .head {
                switch event {
                case .headTooLarge:
                    gate.cut(.headTooLarge)
                    if responseUnderWay {
                        closeNow(context: context, quietly: true)
                    } else {
                        answerAndClose(context: context, with: .headTooLarge, requestID: requests.pendingRequestID)
                    }
                    return
                case .head, .bodyComplete, nil:
                    hold(part)
                    // A complete head, or one the framer gave up on, goes to the decoder whole.
                    if event != nil || requests.phase == .opaque { forwardHeld(context: context) }
                }
            } else {
                context.fireChannelRead(wrapInboundOut(part))
            }
        }
        // A 101 written while a head was passed on: what follows it is the WebSocket's.
        if mode == .passthrough, buffer.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(buffer))
        }
        arm(context: context)
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        if mode == .guarding { pausedSince = .now() }
        context.fireChannelReadComplete()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if mode == .closing, let event = event as? ChannelEvent, event == .inputClosed {
            // The client has read its answer and gone: no need to linger.
            finish(context: context)
            return
        }
        if let event = event as? ChannelEvent, event == .inputClosed { endOfInputSignalled = true }
        context.fireUserInboundEventTriggered(event)
        guard event is ChannelShouldQuiesceEvent else { return }
        // Shutting down: a connection with no request under way is closed now, not at its
        // timeout. Before its first head Hummingbird waits on it in a way cancellation does
        // not end, and a group that cannot cancel in time stops the process.
        if mode == .guarding, !responseUnderWay, requests.phase == .awaitingHead || requests.phase == .head {
            closeNow(context: context, quietly: true)
        } else if mode == .closing {
            finish(context: context)
        }
    }

    // MARK: Outbound

    package func read(context: ChannelHandlerContext) {
        if let paused = pausedSince {
            pausedSince = nil
            // The pipeline was not reading: that wait is not the client's.
            let now = NIODeadline.now()
            let gap = now - paused
            headDeadline = headDeadline + gap
            lastInbound = min(lastInbound + gap, now)
            lastActivity = min(lastActivity + gap, now)
            if mode == .guarding { arm(context: context) }
        }
        context.read()
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard mode == .guarding else {
            context.write(data, promise: promise)
            return
        }
        lastActivity = .now()
        switch unwrapOutboundIn(data) {
        case .byteBuffer(var buffer):
            while buffer.readableBytes > 0 {
                responses.nextResponseAnswersHEAD = awaitingAnswers.first ?? false
                let (consumed, event) = buffer.withUnsafeReadableBytes { responses.consume($0) }
                buffer.moveReaderIndex(forwardBy: consumed)
                guard case .head(let head) = event else { continue }
                if head.switchesProtocols {
                    switchToPassthrough(context: context)
                    break
                }
                if !head.isInterim, !awaitingAnswers.isEmpty { awaitingAnswers.removeFirst() }
            }
        case .fileRegion(let region):
            responses.consumeUnseen(region.readableBytes)
        }
        context.write(data, promise: promise)
    }

    /// A response has been started and not finished, or a request read is not yet answered.
    private var responseUnderWay: Bool {
        !awaitingAnswers.isEmpty || responses.phase != .awaitingHead
    }

    // MARK: Head bytes

    private func hold(_ part: ByteBuffer) {
        if held == nil {
            held = part
        } else {
            var part = part
            held!.writeBuffer(&part)
        }
    }

    private func forwardHeld(context: ChannelHandlerContext) {
        guard let bytes = held else { return }
        held = nil
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    private func switchToPassthrough(context: ChannelHandlerContext) {
        mode = .passthrough
        cancelTimer()
        // Bytes the client sent right after its upgrade request follow the 101, in order,
        // before anything read later (channelRead forwards them first).
        guard held != nil else { return }
        context.eventLoop.assumeIsolated().execute {
            self.forwardHeld(context: context)
            context.fireChannelReadComplete()
        }
    }

    // MARK: Deadlines

    /// When the current phase runs out, if nothing more happens.
    private var deadline: NIODeadline? {
        guard mode == .guarding else { return nil }
        switch requests.phase {
        case .head: return headDeadline
        case .awaitingHead: return fresh ? headDeadline : lastActivity + settings.idleTimeout
        case .body, .opaque: return lastInbound + settings.bodyStallTimeout
        }
    }

    /// Makes sure a check is scheduled no later than the current deadline. Activity only
    /// moves deadlines later, so an earlier check simply looks again when it fires.
    private func arm(context: ChannelHandlerContext) {
        guard let deadline else {
            cancelTimer()
            return
        }
        if timer != nil, let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            self.timerDeadline = nil
            self.check(context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    private func check(context: ChannelHandlerContext) {
        guard let deadline else { return }
        // The pipeline is not reading; read() looks again when it does.
        guard pausedSince == nil else { return }
        guard NIODeadline.now() >= deadline else {
            arm(context: context)
            return
        }
        switch requests.phase {
        case .head:
            gate.cut(.headTimeout)
            if responseUnderWay {
                closeNow(context: context, quietly: true)
            } else {
                answerAndClose(context: context, with: .headTimeout, requestID: requests.pendingRequestID)
            }
        case .awaitingHead:
            // A new connection that sent nothing, or one idle between requests: no answer, as there is no request.
            gate.cut(fresh ? .headTimeout : .idle)
            closeNow(context: context, quietly: true)
        case .body, .opaque:
            gate.cut(.bodyStall)
            closeNow(context: context, quietly: false)
        }
    }

    // MARK: Closing

    /// Writes `response` straight to the socket, ends output, and closes once the client
    /// has gone or the linger is over, discarding what it still sends.
    private func answerAndClose(context: ChannelHandlerContext, with response: RawErrorResponse, requestID: String?) {
        mode = .closing
        cutQuietly = true
        cancelTimer()
        held = nil
        let bytes = response.bytes(requestID: requestID, allocator: context.channel.allocator)
        lingeringPlace = gate.startLingering()
        let lingers = lingeringPlace
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(bytes))).assumeIsolated().whenComplete { _ in
            if lingers {
                context.close(mode: .output, promise: nil)
            } else {
                self.finish(context: context)
            }
        }
        guard lingers else { return }
        context.eventLoop.assumeIsolated().scheduleTask(in: settings.closeLinger) {
            self.finish(context: context)
        }
    }

    /// Closes at once. `quietly`: no request bytes are with the decoder, so the handlers
    /// behind are told the input ended (and let go without an error) before the close.
    private func closeNow(context: ChannelHandlerContext, quietly: Bool) {
        mode = .closing
        cutQuietly = quietly
        cancelTimer()
        held = nil
        finish(context: context)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        releaseLingeringPlace()
        signalEndOfInput(context: context)
        context.close(promise: nil)
    }

    /// Tells the handlers behind that no more input comes, once, if nothing partial is with them.
    private func signalEndOfInput(context: ChannelHandlerContext) {
        guard cutQuietly || mode != .closing, !endOfInputSignalled else { return }
        endOfInputSignalled = true
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }

    private func releaseLingeringPlace() {
        guard lingeringPlace else { return }
        lingeringPlace = false
        gate.stopLingering()
    }
}
