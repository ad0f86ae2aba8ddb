"""A push service stand-in for the Web Push tests (RFC 8030), built on independent
implementations: http-ece decrypts the aes128gcm bodies (RFC 8291, RFC 8188) and
py-vapid verifies the ES256 VAPID tokens (RFC 8292). Listens on 127.0.0.1 (a free
port, printed first to stdout and written first to the log as "listening <port>"),
logs "<method> <path> <status> <reason>" of every request to the log file, and serves:
  POST /subscriptions              a new subscription, shaped as a browser's
                                   PushSubscription.toJSON(): {"endpoint", "keys": {"p256dh", "auth"}}.
                                   An optional JSON body {"applicationServerKey": "<base64url>"}
                                   restricts it to that VAPID key (others get 403).
  POST /subscriptions/<id>/gone    later pushes to <id> answer 410, as for an unsubscribed browser
  POST /push/<id>                  a push message: needs TTL, Content-Encoding: aes128gcm and
                                   Authorization: vapid t=<JWT>, k=<key>; 201 when it decrypts,
                                   400 (bad request or crypto), 401 (bad VAPID), 403 (wrong key),
                                   404 (unknown id), 410 (gone), with the reason in the body
  GET  /received/<id>              {"payloads": [utf-8 text], "payloads_base64": [base64url bytes],
                                    "rejected": <pushes refused with 400/401/403>}
Usage: webpush_receiver.py <log file>
"""
import base64
import http.server
import json
import os
import re
import signal
import sys
import threading
import time
import uuid

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt

log_path = sys.argv[1]
lock = threading.Lock()
subscriptions = {}  # id -> {"key", "auth", "server_key", "gone", "payloads", "rejected"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def log(line):
    with lock, open(log_path, "a") as out:
        out.write(line + "\n")


class Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_vapid(header, origin, server_key):
    """The claims of a valid `vapid t=..., k=...` header for `origin`, else Refused."""
    match = re.fullmatch(r"\s*vapid\s+(.*)", header or "", re.IGNORECASE)
    if not match:
        raise Refused(401, "Authorization is not a vapid header")
    params = {}
    for part in match.group(1).split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise Refused(401, f"malformed vapid parameter {name!r}")
        params[name.strip()] = value.strip()
    token, key = params.get("t"), params.get("k")
    if not token or not key:
        raise Refused(401, "vapid header needs t and k")
    pieces = token.split(".")
    if len(pieces) != 3:
        raise Refused(401, "t is not a JWS compact token")
    try:
        jose = json.loads(unb64url(pieces[0]))
    except ValueError:
        raise Refused(401, "JWT header is not JSON")
    if jose.get("alg") != "ES256":
        raise Refused(401, f"JWT alg is {jose.get('alg')!r}, not ES256")
    if jose.get("typ", "JWT") != "JWT":
        raise Refused(401, "JWT typ is not JWT")
    try:
        key_bytes = unb64url(key)
    except ValueError:
        raise Refused(401, "k is not base64url")
    if len(key_bytes) != 65 or key_bytes[0] != 4:
        raise Refused(401, "k is not a 65-byte uncompressed P-256 point")
    try:
        claims = vapid_jwt.decode(token, key)  # verifies the ES256 signature with k
    except Exception:
        raise Refused(401, "JWT signature does not verify with k")
    if not isinstance(claims, dict):
        raise Refused(401, "JWT claims are not an object")
    if claims.get("aud") != origin:
        raise Refused(401, f"aud is {claims.get('aud')!r}, not {origin!r}")
    exp = claims.get("exp")
    now = time.time()
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise Refused(401, "exp is not an integer")
    if exp <= now:
        raise Refused(401, "exp is in the past")
    if exp > now + 24 * 3600 + 1:
        raise Refused(401, "exp is more than 24 hours ahead")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not re.match(r"(mailto:.+|https:.+)", sub, re.IGNORECASE):
        raise Refused(401, "sub is not a mailto: or https: URI")
    if server_key is not None and key_bytes != server_key:
        raise Refused(403, "k is not the key this subscription was made with")
    return claims


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def origin(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_POST(self):
        data = self.body()
        if self.path == "/subscriptions":
            self.subscribe(data)
            return
        match = re.fullmatch(r"/subscriptions/([0-9a-f]+)/gone", self.path)
        if match:
            with lock:
                subscription = subscriptions.get(match.group(1))
                if subscription:
                    subscription["gone"] = True
            self.answer(204 if subscription else 404, None if subscription else "no such subscription")
            return
        match = re.fullmatch(r"/push/([0-9a-f]+)", self.path)
        if match:
            self.push(match.group(1), data)
            return
        self.answer(404, "no such route")

    def do_GET(self):
        match = re.fullmatch(r"/received/([0-9a-f]+)", self.path)
        with lock:
            subscription = subscriptions.get(match.group(1)) if match else None
            if subscription:
                payloads = list(subscription["payloads"])
                rejected = subscription["rejected"]
        if not subscription:
            self.answer(404, "no such subscription")
            return
        self.answer(200, {
            "payloads": [p.decode("utf-8", errors="replace") for p in payloads],
            "payloads_base64": [b64url(p) for p in payloads],
            "rejected": rejected,
        })

    def subscribe(self, data):
        server_key = None
        if data.strip():
            try:
                request = json.loads(data)
                if request.get("applicationServerKey") is not None:
                    server_key = unb64url(request["applicationServerKey"])
                    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_key)
            except Exception:
                self.answer(400, "applicationServerKey is not a P-256 public key")
                return
        key = ec.generate_private_key(ec.SECP256R1())
        auth = uuid.uuid4().bytes  # 16 random bytes
        sid = uuid.uuid4().hex
        with lock:
            subscriptions[sid] = {"key": key, "auth": auth, "server_key": server_key, "gone": False, "payloads": [], "rejected": 0}
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.answer(201, {"endpoint": f"{self.origin()}/push/{sid}", "keys": {"p256dh": b64url(point), "auth": b64url(auth)}})

    def push(self, sid, data):
        with lock:
            subscription = subscriptions.get(sid)
        if not subscription:
            self.answer(404, "no such subscription")
            return
        if subscription["gone"]:
            self.answer(410, "subscription expired or unsubscribed")
            return
        try:
            ttl = self.headers.get("TTL")
            if ttl is None or not re.fullmatch(r"[0-9]+", ttl.strip()):
                raise Refused(400, "TTL header missing or not a non-negative integer")
            if (self.headers.get("Content-Encoding") or "").strip().lower() != "aes128gcm":
                raise Refused(400, "Content-Encoding is not aes128gcm")
            check_vapid(self.headers.get("Authorization"), self.origin(), subscription["server_key"])
            if len(data) < 86 + 17 or data[20] != 65:
                raise Refused(400, "body is not an aes128gcm message with a 65-byte key id")
            if len(data) - 86 > int.from_bytes(data[16:20], "big"):
                raise Refused(400, "body is more than one record")
            try:
                plaintext = http_ece.decrypt(data, private_key=subscription["key"], auth_secret=subscription["auth"], version="aes128gcm")
            except Exception as error:
                raise Refused(400, f"decryption failed: {type(error).__name__}")
        except Refused as refused:
            with lock:
                subscription["rejected"] += 1
            self.answer(refused.status, refused.reason)
            return
        with lock:
            subscription["payloads"].append(plaintext)
        self.send_response(201)
        self.send_header("Location", f"{self.origin()}/messages/{uuid.uuid4().hex}")
        self.send_header("Content-Length", "0")
        self.end_headers()
        log(f"POST {self.path} 201 delivered")

    def answer(self, status, body):
        if isinstance(body, (dict, list)):
            data, kind = json.dumps(body).encode(), "application/json"
        else:
            data, kind = (body or "").encode(), "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        log(f"{self.command} {self.path} {status} {body if isinstance(body, str) else ''}".rstrip())

    def log_message(self, *args):
        pass


# A test process may start this with SIGTERM blocked (the mask survives exec, and
# with_parent.py only resets the handler): unblock it so a stop by pid works at once.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
signal.signal(signal.SIGTERM, signal.SIG_DFL)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
port = server.server_address[1]
log(f"listening {port}")
print(port, os.getpid(), flush=True)
server.serve_forever()
