"""Web pages for the link-preview tests. Listens on 127.0.0.1 (a free port, printed
first), logs "<Host header> <path>" of every request to the file given, and serves:
  /page         Open Graph tags
  /plain        only <title> and <meta name="description">
  /to-loopback  a redirect to this server by its loopback address
Usage: pages.py <log file>
"""
import http.server
import sys

log_path = sys.argv[1]


class Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log_path, "a") as log:
            log.write(f"{self.headers.get('Host')} {self.path}\n")
        port = self.server.server_address[1]
        if self.path == "/page":
            body = (
                "<html><head><meta property=\"og:title\" content=\"The Analytical Engine &amp; you\">"
                "<meta property=\"og:description\" content=\"Notes by A. A. L.\">"
                "<meta property=\"og:image\" content=\"/engine.png\"><meta property=\"og:site_name\" content=\"Engines\">"
                "</head><body>hi</body></html>"
            )
            self.answer(200, body)
        elif self.path == "/plain":
            self.answer(200, "<html><head><title> Plain  page </title><meta name=\"description\" content=\"Just text\"></head></html>")
        elif self.path == "/to-loopback":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{port}/page")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.answer(404, "no")

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
print(server.server_address[1], flush=True)
server.serve_forever()
