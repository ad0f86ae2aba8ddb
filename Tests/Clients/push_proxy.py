"""A push proxy stand-in (Mattermost's shape) for the notifications tests. Listens on
127.0.0.1 (a free port, printed first) and takes:
  POST /api/v1/send_push  records the JSON body; answers {"status": "REMOVE"} for the
                          device_id "gone-token", else {"status": "OK"}
  GET  /received          {"pushes": [every body so far]}
Usage: push_proxy.py
"""
import http.server
import json
import sys

pushes = []


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/api/v1/send_push":
            return self.answer(404, {"error": "no"})
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return self.answer(400, {"error": "not JSON"})
        pushes.append(body)
        self.answer(200, {"status": "REMOVE" if body.get("device_id") == "gone-token" else "OK"})

    def do_GET(self):
        if self.path == "/received":
            return self.answer(200, {"pushes": pushes})
        self.answer(404, {"error": "no"})

    def answer(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
