#!/usr/bin/python3
# tests/lib/acme-fault.py - a fault in front of a real ACME server, for
# 46-acme: an HTTPS reverse proxy that passes every request to the server
# (pebble) and rewrites the server's own URLs to itself, except that
# POST .../finalize-order/... answers 500 with an ACME serverInternal
# problem: a server error in the middle of an order (account, order and
# authorization done, the challenge validated, no certificate).
#   acme-fault.py LISTEN_ADDR PORT CERT KEY UPSTREAM(https://a:p) UPSTREAM_CA
import http.server
import ssl
import sys
import urllib.error
import urllib.request

addr, port, cert, key, upstream, upstream_ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
me = "https://%s:%d" % (addr, port)
up_ctx = ssl.create_default_context(cafile=upstream_ca)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("acme-fault: " + (fmt % args) + "\n")

    def relay(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if method == "POST" and "/finalize-order/" in self.path:
            out = b'{"type":"urn:ietf:params:acme:error:serverInternal","detail":"injected fault: finalize failed"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        req = urllib.request.Request(upstream + self.path, data=body, method=method)
        # pebble builds its URLs (and checks the JWS "url") from Host: keep ours
        req.add_header("Host", "%s:%d" % (addr, port))
        for h in ("Content-Type", "Accept"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            r = urllib.request.urlopen(req, context=up_ctx, timeout=20)
        except urllib.error.HTTPError as e:
            r = e
        data = r.read()
        data = data.replace(upstream.encode(), me.encode())
        self.send_response(r.status if hasattr(r, "status") else r.code)
        for h, v in r.headers.items():
            if h.lower() in ("content-length", "transfer-encoding", "connection", "date", "server"):
                continue
            self.send_header(h, v.replace(upstream, me))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self.relay("GET")

    def do_HEAD(self):
        self.relay("HEAD")

    def do_POST(self):
        self.relay("POST")


srv = http.server.ThreadingHTTPServer((addr, port), Proxy)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
