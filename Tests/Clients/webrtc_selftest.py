"""Checks the WebRTC test harness without QuikApp: aiortc peers, relay-only, through a
real coturn, with credentials made as coturn's TURN REST scheme wants them
(username "<expiry unix s>:<user>", credential base64(HMAC-SHA1(secret, username))).

  webrtc_selftest.py direct [--turn turn:127.0.0.1:<port>?transport=udp --secret <s>]
                            [--relay-min <port> --relay-max <port>] [--messages <n>]
      Two peer connections in this process, relay-only as webrtc_peer.py makes them,
      exchange <n> (default 20) data-channel messages each way. Without --turn it starts
      its own turnserver (on free ports, logging to a temporary file). Checks that every
      SDP carries relay candidates only, that both nominated ICE pairs are relay/relay,
      that the relay addresses are the TURN server's (and in --relay-min..--relay-max),
      and, with its own turnserver, that coturn logged the allocations and bytes relayed
      between them ("peer usage" lines, written as the allocations are released). Prints one JSON line {"ok": true|false, ...} and exits 0 when all held.

  webrtc_selftest.py serve --turn <url> --secret <s>
      A stand-in for the calls plugin's signaling, enough to drive webrtc_peer.py: the
      realtime socket (/api/v1/realtime?token=<t>; the token is the user id; everyone
      connected shares one channel), GET /api/v1/calls/turn, POST /api/v1/calls,
      GET /api/v1/calls/{id}, POST /api/v1/calls/{id}/decline|end, and the frames
      call.join, call.leave, call.update, call.signal with the events of
      /work/shared/API.md "Calls and huddles". A closed socket's sessions leave at
      once. Prints its port first.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webrtc_peer import relay_only, relay_sdp, selected_pair  # noqa: E402


def turn_credentials(secret, user, ttl_s=3600):
    username = f"{int(time.time()) + ttl_s}:{user}"
    credential = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, credential


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"


# direct


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue


def start_turnserver(secret, folder):
    port = free_port()
    relay_min = 20000 + secrets.randbelow(100) * 100
    log = os.path.join(folder, "turnserver.log")
    process = subprocess.Popen(
        [
            shutil.which("turnserver") or "/usr/bin/turnserver", "-n", "--verbose",
            f"--listening-port={port}", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=quikapp.test",
            "--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780", "--allow-loopback-peers",
            f"--min-port={relay_min}", f"--max-port={relay_min + 99}",
            f"--log-file={log}", "--simple-log", "--no-stdout-log",
            f"--pidfile={os.path.join(folder, 'turnserver.pid')}", f"--userdb={os.path.join(folder, 'turndb')}",
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port, relay_min, relay_min + 99, log
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"turnserver did not listen on {port}")


async def direct(args):
    from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

    relay_only()
    result = {"ok": False}
    process = folder = None
    log = None
    if args.turn is None:
        folder = tempfile.mkdtemp(prefix="webrtc-selftest-")
        args.secret = args.secret or secrets.token_hex(16)
        process, port, args.relay_min, args.relay_max, log = start_turnserver(args.secret, folder)
        args.turn = f"turn:127.0.0.1:{port}?transport=udp"
    turn_host = urllib.parse.urlsplit(args.turn.replace("turn:", "turn://", 1)).hostname
    try:
        peers = {}
        for name in ("left", "right"):
            username, credential = turn_credentials(args.secret, name)
            peers[name] = RTCPeerConnection(RTCConfiguration(iceServers=[RTCIceServer(urls=[args.turn], username=username, credential=credential)]))
        left, right = peers["left"], peers["right"]
        received = {"left": [], "right": []}
        everything = asyncio.get_running_loop().create_future()

        def counting(name, channel):
            @channel.on("message")
            def message(text):
                received[name].append(text)
                if all(len(texts) >= args.messages for texts in received.values()) and not everything.done():
                    everything.set_result(True)

        async def pinging(name, channel):
            for number in range(1, args.messages + 1):
                channel.send(f"ping {name} {number}")
                await asyncio.sleep(0.02)

        opened = {}
        left_channel = left.createDataChannel("chat")
        counting("left", left_channel)
        left_channel.on("open", lambda: opened.setdefault("left", asyncio.ensure_future(pinging("left", left_channel))))

        @right.on("datachannel")
        def datachannel(channel):
            counting("right", channel)
            opened.setdefault("right", asyncio.ensure_future(pinging("right", channel)))

        sdps = []
        await left.setLocalDescription(await left.createOffer())
        offer = relay_sdp(left.localDescription.sdp)
        sdps.append(left.localDescription.sdp)
        await right.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await right.setLocalDescription(await right.createAnswer())
        sdps.append(right.localDescription.sdp)
        await left.setRemoteDescription(RTCSessionDescription(sdp=relay_sdp(right.localDescription.sdp), type="answer"))
        candidates = [line for sdp in sdps for line in sdp.split("\r\n") if line.startswith("a=candidate:")]
        result["candidates"] = candidates

        try:
            await asyncio.wait_for(everything, args.timeout)
        except asyncio.TimeoutError:
            result["received"] = {name: len(texts) for name, texts in received.items()}
            result["states"] = {name: pc.connectionState for name, pc in peers.items()}
            raise RuntimeError(f"the messages did not all arrive within {args.timeout} s") from None
        pairs = {name: selected_pair(pc) for name, pc in peers.items()}
        result.update(
            turn=args.turn,
            received={name: len(texts) for name, texts in received.items()},
            samples={name: texts[:2] for name, texts in received.items()},
            candidates=candidates,
            pairs=pairs,
        )
        problems = []
        if not candidates or any(" typ relay " not in line + " " for line in candidates):
            problems.append("an SDP carried no candidate or a candidate that is not relay")
        for name, pair in pairs.items():
            if pair.get("local_type") != "relay" or pair.get("remote_type") != "relay":
                problems.append(f"{name}'s nominated pair is not relay/relay: {pair}")
            for end in ("local", "remote"):
                host, _, relayed = (pair.get(end) or ":0").rpartition(":")
                if host != turn_host:
                    problems.append(f"{name}'s {end} address {pair.get(end)} is not the TURN server's")
                if args.relay_min and not args.relay_min <= int(relayed) <= args.relay_max:
                    problems.append(f"{name}'s {end} port {relayed} is outside the relay range")
        for channel in list(opened.values()):
            channel.cancel()
        await left.close()
        await right.close()
        if log is not None:
            # Closing deallocates; coturn then logs each session's usage (bytes relayed).
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                text = open(log).read()
                if text.count("peer usage: realm=<quikapp.test>") >= 2:
                    break
                await asyncio.sleep(0.1)
            text = open(log).read()
            allocations = text.count("ALLOCATE processed, success")
            usages = [line for line in text.splitlines() if "peer usage: realm=<quikapp.test>" in line]
            result.update(coturn_allocations=allocations, coturn_usage=usages)
            if allocations < 2:
                problems.append(f"coturn logged {allocations} successful allocations")
            if not any(relayed_bytes(line) > 0 for line in usages):
                problems.append("coturn logged no bytes relayed to or from a peer")
        result["problems"] = problems
        result["ok"] = not problems
    except Exception as error:  # noqa: BLE001 - reported in the result
        result["problems"] = [f"{type(error).__name__}: {error}"]
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=5)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


def relayed_bytes(line):
    """rb (received bytes) + sb (sent bytes) of a coturn usage line."""
    total = 0
    for part in line.replace(",", " ").split():
        name, _, value = part.partition("=")
        if name in ("rb", "sb") and value.isdigit():
            total += int(value)
    return total


# serve


class Signaling:
    """The fake calls plugin: state and the socket side."""

    def __init__(self, turn, secret):
        self.turn = turn
        self.secret = secret
        self.sockets = {}  # connection_id -> Socket
        self.calls = {}  # id -> call dict
        self.ids = 0

    def new_id(self, prefix):
        self.ids += 1
        return f"{prefix}{self.ids:06d}{secrets.token_hex(4)}"

    def broadcast(self, topic, data):
        for socket_ in list(self.sockets.values()):
            socket_.event(topic, data)

    def to_user(self, user, topic, data):
        for socket_ in list(self.sockets.values()):
            if socket_.user == user:
                socket_.event(topic, data)

    def participant(self, call, session):
        return next((p for p in call["participants"] if p["session_id"] == session), None)

    def add(self, call, user, session):
        for old in [p for p in call["participants"] if p["user_id"] == user]:
            self.remove(call, old["session_id"])
        participant = {"user_id": user, "session_id": session, "muted": False, "screen_sharing": False,
                       "hand_raised": False, "joined_at": now()}
        call["participants"].append(participant)
        self.broadcast("call.participant_joined", {"call_id": call["id"], "channel_id": call["channel_id"], "participant": participant})

    def remove(self, call, session):
        participant = self.participant(call, session)
        if participant is None:
            return
        call["participants"].remove(participant)
        self.broadcast("call.participant_left", {"call_id": call["id"], "channel_id": call["channel_id"], "participant": participant})
        if not call["participants"]:
            self.end(call)

    def end(self, call):
        if call["ended_at"] is None:
            call["ended_at"] = now()
            call["participants"] = []
            self.broadcast("call.ended", call)

    def frame(self, socket_, frame):
        """The answer (ack or error) to a client frame."""
        kind = frame.get("type")
        frame_id = frame.get("id")

        def error(code, message):
            return {"type": "error", "id": frame_id, "error": {"code": code, "message": message}}

        ack = {"type": "ack", "id": frame_id}
        if kind == "ping":
            return {"type": "pong", "id": frame_id}
        if not kind or not kind.startswith("call."):
            return error("bad_request", f"unknown frame type {kind!r}")
        call = self.calls.get(frame.get("call_id"))
        if call is None:
            return error("not_found", "no such call")
        if kind == "call.join":
            if call["ended_at"] is not None:
                return error("conflict", "the call has ended")
            self.add(call, socket_.user, socket_.id)
            return ack
        if kind == "call.leave":
            if self.participant(call, socket_.id) is None:
                return error("forbidden", "not a session of the call")
            self.remove(call, socket_.id)
            return ack
        if kind == "call.update":
            participant = self.participant(call, socket_.id)
            if participant is None:
                return error("forbidden", "not a session of the call")
            for field in ("muted", "screen_sharing", "hand_raised"):
                if field in frame:
                    participant[field] = bool(frame[field])
            self.broadcast("call.participant_updated", {"call_id": call["id"], "channel_id": call["channel_id"], "participant": participant})
            return ack
        if kind == "call.signal":
            if ("sdp" in frame) == ("candidate" in frame):
                return error("validation_failed", "exactly one of sdp, candidate")
            if self.participant(call, socket_.id) is None:
                return error("forbidden", "not a session of the call")
            target = frame.get("to_session_id")
            if self.participant(call, target) is None or target not in self.sockets:
                return error("not_found", "no such session in the call")
            data = {"call_id": call["id"], "from_session_id": socket_.id, "from_user_id": socket_.user}
            data.update({key: frame[key] for key in ("sdp", "candidate") if key in frame})
            self.sockets[target].event("call.signal", data)
            return ack
        return error("bad_request", f"unknown frame type {kind!r}")

    def closed(self, socket_):
        self.sockets.pop(socket_.id, None)
        for call in list(self.calls.values()):
            if call["ended_at"] is None:
                self.remove(call, socket_.id)

    def rest(self, method, path, user, body):
        """(status, JSON or None) for a REST request."""
        parts = [part for part in path.split("?")[0].split("/") if part]
        if parts[:3] != ["api", "v1", "calls"]:
            return 404, {"error": {"code": "not_found", "message": path}}
        rest = parts[3:]
        if method == "GET" and rest == ["turn"]:
            username, credential = turn_credentials(self.secret, user)
            return 200, {"urls": [self.turn], "username": username, "credential": credential, "ttl_s": 3600}
        if method == "POST" and rest == []:
            body = body or {}
            channel = body.get("channel_id")
            session = body.get("connection_id")
            if not channel or session not in self.sockets or self.sockets[session].user != user:
                return 422, {"error": {"code": "validation_failed", "message": "channel_id, connection_id"}}
            active = next((c for c in self.calls.values() if c["channel_id"] == channel and c["ended_at"] is None), None)
            if active is not None:
                return 409, {"error": {"code": "conflict", "message": "a call is active", "details": {"call_id": active["id"]}}}
            call = {"id": self.new_id("call"), "channel_id": channel, "kind": "call", "started_by": user,
                    "started_at": now(), "ended_at": None, "participants": []}
            self.calls[call["id"]] = call
            self.broadcast("call.started", call)
            self.add(call, user, session)
            for other in {s.user for s in self.sockets.values()} - {user}:
                self.to_user(other, "call.ringing", {"call": call, "caller_id": user})
            return 201, call
        if len(rest) >= 1 and rest[0] in self.calls:
            call = self.calls[rest[0]]
            if method == "GET" and len(rest) == 1:
                return 200, call
            if method == "POST" and rest[1:] in (["decline"], ["end"]):
                self.end(call)
                return 204, None
        return 404, {"error": {"code": "not_found", "message": path}}


class Socket:
    def __init__(self, signaling, protocol, writer, user):
        self.signaling = signaling
        self.protocol = protocol
        self.writer = writer
        self.user = user
        self.id = signaling.new_id("conn")
        self.seq = 0

    def send(self, obj):
        self.protocol.send_text(json.dumps(obj).encode())
        self.flush()

    def flush(self):
        for chunk in self.protocol.data_to_send():
            if chunk and not self.writer.is_closing():
                self.writer.write(chunk)

    def event(self, topic, data):
        self.seq += 1
        self.send({"type": "event", "topic": topic, "data": data, "seq": self.seq})


async def serve(args):
    from websockets.frames import Opcode
    from websockets.server import ServerProtocol

    signaling = Signaling(args.turn, args.secret)

    async def client(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
        if urllib.parse.urlsplit(target).path == "/api/v1/realtime":
            user = (query.get("token") or [""])[0] or headers.get("authorization", "").removeprefix("Bearer ").strip()
            protocol = ServerProtocol(max_size=None)
            protocol.receive_data(head)
            request = protocol.events_received()[0]
            protocol.send_response(protocol.accept(request))
            socket_ = Socket(signaling, protocol, writer, user)
            socket_.flush()
            signaling.sockets[socket_.id] = socket_
            socket_.send({"type": "hello", "user_id": user, "connection_id": socket_.id})
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        protocol.receive_eof()
                        break
                    protocol.receive_data(data)
                    for frame in protocol.events_received():
                        if frame.opcode == Opcode.TEXT:
                            socket_.send(signaling.frame(socket_, json.loads(frame.data)))
                        elif frame.opcode == Opcode.CLOSE:
                            break
                    socket_.flush()
                    if protocol.close_expected():
                        break
            except ConnectionError:
                pass
            finally:
                signaling.closed(socket_)
                writer.close()
            return
        length = int(headers.get("content-length") or 0)
        raw = await reader.readexactly(length) if length else b""
        user = headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, answer = signaling.rest(method, target, user, body)
        data = json.dumps(answer).encode() if answer is not None else b""
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
        if answer is not None:
            head += "Content-Type: application/json; charset=utf-8\r\n"
        writer.write(head.encode() + b"\r\n" + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    one = modes.add_parser("direct")
    one.add_argument("--turn")
    one.add_argument("--secret")
    one.add_argument("--relay-min", type=int)
    one.add_argument("--relay-max", type=int)
    one.add_argument("--messages", type=int, default=20)
    one.add_argument("--timeout", type=float, default=30)
    two = modes.add_parser("serve")
    two.add_argument("--turn", required=True)
    two.add_argument("--secret", required=True)
    args = parser.parse_args()
    if args.mode == "direct":
        sys.exit(asyncio.run(direct(args)))
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
