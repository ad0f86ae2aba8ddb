"""One WebRTC participant of a QuikApp call (aiortc), driven over stdin/stdout with
JSON lines, its media relayed by the TURN server the API hands out.

Usage: webrtc_peer.py --base http://127.0.0.1:<port> --token <access token> --name <label>
                      [--realtime <ws url>] [--verbose]

It opens the realtime socket (<base>/api/v1/realtime?token=..., or --realtime), waits
for its hello, fetches GET /api/v1/calls/turn and uses those TURN servers. ICE is
relay-only: candidates are gathered with aioice's relay transport policy (no host or
server-reflexive ones), every SDP sent or received keeps only `typ relay` candidate
lines, and trickled candidates that are not relay are ignored; so every connection
runs through TURN, and its `connected` event names the selected pair's types.

Output, one JSON object a line (stderr has logs only):
  {"event":"started","pid":<this process>,"name":...}          first, before the socket opens
  {"event":"hello","connection_id":...,"user_id":...}
  {"event":"turn","status":<http status>,"urls":[...],"username":...,"ttl_s":...}
  {"event":"done","cmd":...,"tag"?:...,"ok":<bool>, ...}        one per command:
       HTTP commands add "status" and "body" (JSON, or text);
       socket commands add "reply", the ack or error frame ({"type":"ack","id"} or
       {"type":"error","id","error":{code,message}}); join adds "offer_to" (sessions)
  {"event":"error","cmd"?:...,"tag"?:...,"message":...}         a command or step that failed locally
  {"event":"frame","topic":"call.…","data":...,"seq":...}       every server event whose topic starts with call.
  {"event":"offer_sent"|"answer_sent"|"answer_received","session":...,"call_id":...}
  {"event":"glare","session":...,"kept":"mine"|"theirs"}        both sides offered at once
  {"event":"ice","session":...,"state":...}                      ICE connection state changes
  {"event":"pc","session":...,"state":...}                       peer connection state changes
  {"event":"connected","session":...,"local_type","remote_type","local","remote"}
                                                                 the data channel opened; the nominated
                                                                 ICE pair's candidate types and addresses
  {"event":"data","from_session":...,"count":<received so far>,"text":...}
                                                                 the first message and every 5th after
  {"event":"channel_closed"|"link_closed","session":...,"reason"?:...}
  {"event":"ignored_candidate","session":...,"type":...}         a trickled non-relay candidate
  {"event":"socket_closed","code":...,"reason":...}              the realtime socket closed
  {"event":"links","links":[{session,call_id,signaling,ice,connection,received,sent,local_type,remote_type}]}

Commands on stdin, one JSON object a line (an optional "tag" is echoed in its done):
  {"cmd":"start","channel_id":...[,"connection_id":...]}  POST /api/v1/calls (this socket by default)
  {"cmd":"join","call_id":...}          frame call.join; once acked, offers to every other session
                                        in GET /api/v1/calls/{id} (the newcomer offers, others answer)
  {"cmd":"leave","call_id":...}         frame call.leave; closes this peer's connections
  {"cmd":"update","call_id":...,"muted"?,"screen_sharing"?,"hand_raised"?}   frame call.update
  {"cmd":"decline","call_id":...}       POST /api/v1/calls/{id}/decline
  {"cmd":"end","call_id":...}           POST /api/v1/calls/{id}/end
  {"cmd":"get","path":"/api/v1/..."}    GET with the token
  {"cmd":"http","method":...,"path":...,"body"?:...}   any request with the token
  {"cmd":"frame","frame":{...}}         any client frame (an id is added), done when answered
  {"cmd":"links"}                       the connections' states (a links event, then done)
  {"cmd":"quit"}                        closes everything and exits (as stdin's end does)
An offer from another session is answered at once; an answer is applied; `candidate`
signals ({candidate, sdp_mid, sdp_mline_index}) are added when relay. Each connection
has a data channel "chat" (the offerer creates it); once open, this peer sends
"ping <name> <n>" on it every 200 ms.
"""
import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request

import aiortc.rtcicetransport as _rtcicetransport
from aioice import TransportPolicy
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

PING_INTERVAL_S = 0.2
REPLY_TIMEOUT_S = 15


def relay_only():
    """Makes every ICE agent aiortc creates gather relay candidates only (aioice's
    relay transport policy, RFC 9429 section 3.5.3: no host, no server-reflexive)."""
    original = _rtcicetransport.Connection
    if getattr(original, "relay_only", False):
        return

    def connection(*args, **kwargs):
        kwargs["transport_policy"] = TransportPolicy.RELAY
        return original(*args, **kwargs)

    connection.relay_only = True
    _rtcicetransport.Connection = connection


def relay_sdp(sdp):
    """`sdp` without its candidate lines that are not `typ relay`."""
    lines = sdp.split("\r\n")
    kept = [line for line in lines if not line.startswith("a=candidate:") or " typ relay" in line]
    return "\r\n".join(kept)


def candidate_type(line):
    bits = line.split()
    return bits[bits.index("typ") + 1] if "typ" in bits and bits.index("typ") + 1 < len(bits) else None


def selected_pair(pc):
    """The nominated ICE pair of `pc`'s data transport: types and addresses, or {}."""
    try:
        connection = pc.sctp.transport.transport.iceGatherer._connection
        pair = connection._nominated.get(1)
    except AttributeError:
        return {}
    if pair is None:
        return {}
    local, remote = pair.local_candidate, pair.remote_candidate
    return {
        "local_type": local.type,
        "remote_type": remote.type,
        "local": f"{local.host}:{local.port}",
        "remote": f"{remote.host}:{remote.port}",
    }


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Link:
    """One peer connection, to one other session of the call."""

    def __init__(self, session, call_id, pc, offerer):
        self.session = session
        self.call_id = call_id
        self.pc = pc
        self.offerer = offerer
        self.channel = None
        self.received = 0
        self.sent = 0
        self.pinger = None
        self.closed = False
        self.pair = {}

    async def close(self, reason):
        if self.closed:
            return
        self.closed = True
        if self.pinger:
            self.pinger.cancel()
        await self.pc.close()
        emit({"event": "link_closed", "session": self.session, "reason": reason})


class Peer:
    def __init__(self, args):
        self.base = args.base.rstrip("/")
        self.token = args.token
        self.name = args.name
        if args.realtime:
            self.realtime = args.realtime
        else:
            parsed = urllib.parse.urlsplit(self.base)
            scheme = "wss" if parsed.scheme == "https" else "ws"
            self.realtime = f"{scheme}://{parsed.netloc}/api/v1/realtime?" + urllib.parse.urlencode({"token": self.token})
        self.ws = None
        self.connection_id = None
        self.user_id = None
        self.ids = itertools.count(1)
        self.pending = {}
        self.links = {}
        self.locks = {}
        self.ice_servers = None
        self.tasks = set()
        self.http_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # Plumbing

    def spawn(self, coroutine):
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.finished)
        return task

    def finished(self, task):
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            emit({"event": "error", "message": f"{type(error).__name__}: {error}"})

    def lock(self, session):
        return self.locks.setdefault(session, asyncio.Lock())

    async def http(self, method, path, body=None):
        def run():
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(self.base + path, data=data, method=method)
            request.add_header("Authorization", f"Bearer {self.token}")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with self.http_opener.open(request, timeout=REPLY_TIMEOUT_S) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()

        status, raw = await asyncio.to_thread(run)
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = raw.decode(errors="replace")
        return status, answer

    async def request(self, frame):
        """Sends a client frame with a fresh id; its ack or error frame."""
        if self.ws is None:
            raise RuntimeError("the realtime socket is closed")
        frame_id = str(next(self.ids))
        future = asyncio.get_running_loop().create_future()
        self.pending[frame_id] = future
        try:
            await self.ws.send(json.dumps({**frame, "id": frame_id}))
            return await asyncio.wait_for(future, REPLY_TIMEOUT_S)
        finally:
            self.pending.pop(frame_id, None)

    async def signal(self, call_id, session, payload):
        reply = await self.request({"type": "call.signal", "call_id": call_id, "to_session_id": session, **payload})
        if reply.get("type") != "ack":
            emit({"event": "error", "what": "call.signal", "session": session, "reply": reply})
        return reply

    # Socket

    async def open_socket(self):
        self.ws = await connect(self.realtime, proxy=None, max_size=None, open_timeout=REPLY_TIMEOUT_S)
        hello = json.loads(await asyncio.wait_for(self.ws.recv(), REPLY_TIMEOUT_S))
        if hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello}")
        self.connection_id = hello.get("connection_id")
        self.user_id = hello.get("user_id")
        emit({"event": "hello", "connection_id": self.connection_id, "user_id": self.user_id})

    async def read_frames(self):
        code, reason = None, ""
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    emit({"event": "error", "message": f"unreadable frame {raw!r}"})
                    continue
                kind = frame.get("type")
                if kind in ("ack", "error") and frame.get("id") in self.pending:
                    future = self.pending[frame.get("id")]
                    if not future.done():
                        future.set_result(frame)
                elif kind == "event":
                    self.on_event(frame.get("topic") or "", frame.get("data"), frame.get("seq"))
        except ConnectionClosed:
            pass
        finally:
            if self.ws is not None:
                code, reason = self.ws.close_code, self.ws.close_reason
            self.ws = None
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(RuntimeError("the realtime socket closed"))
            emit({"event": "socket_closed", "code": code, "reason": reason})

    async def fetch_turn(self):
        status, body = await self.http("GET", "/api/v1/calls/turn")
        if status == 200 and isinstance(body, dict) and body.get("urls"):
            self.ice_servers = [RTCIceServer(urls=body["urls"], username=body.get("username"), credential=body.get("credential"))]
            emit({"event": "turn", "status": status, "urls": body["urls"], "username": body.get("username"), "ttl_s": body.get("ttl_s")})
        else:
            emit({"event": "turn", "status": status, "body": body})

    # Events

    def on_event(self, topic, data, seq):
        if not topic.startswith("call."):
            return
        emit({"event": "frame", "topic": topic, "data": data, "seq": seq})
        data = data if isinstance(data, dict) else {}
        if topic == "call.signal":
            session = data.get("from_session_id")
            lock = self.lock(session)

            async def handle():
                async with lock:
                    await self.on_signal(session, data)

            self.spawn(handle())
        elif topic == "call.participant_left":
            session = (data.get("participant") or {}).get("session_id")
            if session == self.connection_id:
                self.spawn(self.close_links(data.get("call_id"), "left"))
            elif session in self.links:
                self.spawn(self.close_link(session, "participant_left"))
        elif topic == "call.ended":
            self.spawn(self.close_links(data.get("id"), "ended"))

    async def on_signal(self, session, data):
        call_id = data.get("call_id")
        sdp = data.get("sdp")
        candidate = data.get("candidate")
        if isinstance(sdp, dict) and sdp.get("type") == "offer":
            await self.answer(session, call_id, sdp.get("sdp") or "")
        elif isinstance(sdp, dict) and sdp.get("type") == "answer":
            link = self.links.get(session)
            if link is None or link.closed or link.pc.signalingState != "have-local-offer":
                emit({"event": "error", "message": f"an answer from {session} without an offer to it"})
                return
            await link.pc.setRemoteDescription(RTCSessionDescription(sdp=relay_sdp(sdp.get("sdp") or ""), type="answer"))
            emit({"event": "answer_received", "session": session, "call_id": call_id})
        elif isinstance(candidate, dict):
            line = candidate.get("candidate") or ""
            kind = candidate_type(line)
            if kind != "relay":
                emit({"event": "ignored_candidate", "session": session, "type": kind})
                return
            link = self.links.get(session)
            if link is None or link.closed:
                emit({"event": "error", "message": f"a candidate from {session} without a connection to it"})
                return
            parsed = candidate_from_sdp(line.split(":", 1)[1] if line.startswith("candidate:") else line)
            parsed.sdpMid = candidate.get("sdp_mid")
            parsed.sdpMLineIndex = candidate.get("sdp_mline_index")
            await link.pc.addIceCandidate(parsed)
        else:
            emit({"event": "error", "message": f"a signal from {session} with neither sdp nor candidate"})

    # Connections

    async def new_link(self, session, call_id, offerer):
        if self.ice_servers is None:
            await self.fetch_turn()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers or []))
        link = Link(session, call_id, pc, offerer)
        self.links[session] = link

        @pc.on("iceconnectionstatechange")
        def ice_state():
            emit({"event": "ice", "session": session, "state": pc.iceConnectionState})

        @pc.on("connectionstatechange")
        def pc_state():
            emit({"event": "pc", "session": session, "state": pc.connectionState})
            if pc.connectionState == "failed" and not link.closed:
                self.spawn(self.close_link(session, "failed", link))

        if offerer:
            self.attach(link, pc.createDataChannel("chat"))
        else:
            pc.on("datachannel", lambda channel: self.attach(link, channel))
        return link

    def attach(self, link, channel):
        link.channel = channel

        def opened():
            if link.pinger is not None or link.closed:
                return
            link.pair = selected_pair(link.pc)
            emit({"event": "connected", "session": link.session, **link.pair})
            link.pinger = self.spawn(self.ping(link))

        @channel.on("message")
        def message(text):
            link.received += 1
            if link.received == 1 or link.received % 5 == 0:
                emit({"event": "data", "from_session": link.session, "count": link.received, "text": str(text)})

        channel.on("open", opened)
        channel.on("close", lambda: emit({"event": "channel_closed", "session": link.session}))
        if channel.readyState == "open":
            opened()

    async def ping(self, link):
        number = 0
        while not link.closed and link.channel.readyState == "open":
            number += 1
            link.channel.send(f"ping {self.name} {number}")
            link.sent = number
            await asyncio.sleep(PING_INTERVAL_S)

    async def offer(self, session, call_id):
        async with self.lock(session):
            old = self.links.get(session)
            if old is not None and not old.closed:
                return
            link = await self.new_link(session, call_id, offerer=True)
            await link.pc.setLocalDescription(await link.pc.createOffer())
            if link.closed:
                return
            reply = await self.signal(call_id, session, {"sdp": {"type": "offer", "sdp": relay_sdp(link.pc.localDescription.sdp)}})
            if reply.get("type") == "ack":
                emit({"event": "offer_sent", "session": session, "call_id": call_id})

    async def answer(self, session, call_id, sdp):
        link = self.links.get(session)
        if link is not None and not link.closed:
            if link.pc.signalingState == "have-local-offer":
                # Both offered at once: the smaller session id keeps its offer.
                if (self.connection_id or "") < session:
                    emit({"event": "glare", "session": session, "kept": "mine"})
                    return
                emit({"event": "glare", "session": session, "kept": "theirs"})
            await link.close("replaced by a new offer")
        link = await self.new_link(session, call_id, offerer=False)
        await link.pc.setRemoteDescription(RTCSessionDescription(sdp=relay_sdp(sdp), type="offer"))
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        reply = await self.signal(call_id, session, {"sdp": {"type": "answer", "sdp": relay_sdp(link.pc.localDescription.sdp)}})
        if reply.get("type") == "ack":
            emit({"event": "answer_sent", "session": session, "call_id": call_id})

    async def close_link(self, session, reason, link=None):
        link = link or self.links.get(session)
        if link is None:
            return
        if self.links.get(session) is link:
            del self.links[session]
        await link.close(reason)

    async def close_links(self, call_id, reason):
        for session, link in list(self.links.items()):
            if call_id is None or link.call_id == call_id:
                await self.close_link(session, reason, link)

    # Commands

    async def command(self, command):
        name = command.get("cmd")
        done = {"event": "done", "cmd": name}
        if "tag" in command:
            done["tag"] = command["tag"]
        call_id = command.get("call_id")
        if name == "start":
            body = {"channel_id": command.get("channel_id"), "connection_id": command.get("connection_id", self.connection_id)}
            status, answer = await self.http("POST", "/api/v1/calls", body)
            emit({**done, "ok": 200 <= status < 300, "status": status, "body": answer})
        elif name == "join":
            reply = await self.request({"type": "call.join", "call_id": call_id})
            sessions = []
            if reply.get("type") == "ack":
                status, call = await self.http("GET", f"/api/v1/calls/{urllib.parse.quote(call_id, safe='')}")
                if status != 200 or not isinstance(call, dict):
                    emit({"event": "error", "cmd": name, "message": f"GET the call answered {status}: {call}"})
                else:
                    for participant in call.get("participants") or []:
                        session = participant.get("session_id")
                        if session and session != self.connection_id:
                            sessions.append(session)
                            self.spawn(self.offer(session, call_id))
            emit({**done, "ok": reply.get("type") == "ack", "reply": reply, "offer_to": sessions})
        elif name == "leave":
            reply = await self.request({"type": "call.leave", "call_id": call_id})
            if reply.get("type") == "ack":
                await self.close_links(call_id, "left")
            emit({**done, "ok": reply.get("type") == "ack", "reply": reply})
        elif name == "update":
            frame = {"type": "call.update", "call_id": call_id}
            for field in ("muted", "screen_sharing", "hand_raised"):
                if field in command:
                    frame[field] = command[field]
            reply = await self.request(frame)
            emit({**done, "ok": reply.get("type") == "ack", "reply": reply})
        elif name in ("decline", "end"):
            status, answer = await self.http("POST", f"/api/v1/calls/{urllib.parse.quote(call_id or '', safe='')}/{name}")
            emit({**done, "ok": 200 <= status < 300, "status": status, "body": answer})
        elif name == "get":
            status, answer = await self.http("GET", command.get("path") or "/")
            emit({**done, "ok": 200 <= status < 300, "status": status, "body": answer})
        elif name == "http":
            status, answer = await self.http(command.get("method") or "GET", command.get("path") or "/", command.get("body"))
            emit({**done, "ok": 200 <= status < 300, "status": status, "body": answer})
        elif name == "frame":
            reply = await self.request(command.get("frame") or {})
            emit({**done, "ok": reply.get("type") == "ack", "reply": reply})
        elif name == "links":
            links = []
            for session, link in self.links.items():
                links.append({
                    "session": session,
                    "call_id": link.call_id,
                    "offerer": link.offerer,
                    "signaling": link.pc.signalingState,
                    "ice": link.pc.iceConnectionState,
                    "connection": link.pc.connectionState,
                    "received": link.received,
                    "sent": link.sent,
                    **(selected_pair(link.pc) or link.pair),
                })
            emit({"event": "links", "links": links})
            emit({**done, "ok": True})
        else:
            emit({"event": "error", "cmd": name, **({"tag": command["tag"]} if "tag" in command else {}), "message": f"unknown command {name!r}"})

    async def run(self):
        emit({"event": "started", "pid": os.getpid(), "name": self.name})
        loop = asyncio.get_running_loop()
        stdin = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        try:
            await self.open_socket()
        except Exception as error:  # noqa: BLE001 - reported, then the process ends
            emit({"event": "error", "cmd": "connect", "message": f"{type(error).__name__}: {error}"})
            return 1
        reader = self.spawn(self.read_frames())
        await self.fetch_turn()
        try:
            while True:
                line = await stdin.readline()
                if not line:
                    break
                line = line.strip()
                if not line:
                    continue
                try:
                    command = json.loads(line)
                except ValueError:
                    emit({"event": "error", "message": f"unreadable command {line!r}"})
                    continue
                if command.get("cmd") == "quit":
                    break
                try:
                    await self.command(command)
                except Exception as error:  # noqa: BLE001 - reported, and the next command runs
                    tag = {"tag": command["tag"]} if "tag" in command else {}
                    emit({"event": "error", "cmd": command.get("cmd"), **tag, "message": f"{type(error).__name__}: {error}"})
        finally:
            await self.close_links(None, "quit")
            if self.ws is not None:
                await self.ws.close()
            reader.cancel()
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="http://127.0.0.1:<port>")
    parser.add_argument("--token", required=True, help="an access token")
    parser.add_argument("--name", required=True, help="a label, sent in the data channel pings")
    parser.add_argument("--realtime", help="the realtime socket's URL (default: from --base, with ?token=)")
    parser.add_argument("--verbose", action="store_true", help="aiortc and aioice debug logs on stderr")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    relay_only()
    sys.exit(asyncio.run(Peer(args).run()))


if __name__ == "__main__":
    main()
