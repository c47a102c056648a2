#!/usr/bin/python3
# tests/lib/acme-fault.py - a fault in front of a real ACME server, for
# 46-acme: an HTTPS reverse proxy that passes every request to the server
# (pebble) and rewrites the server's own URLs to itself, with
#   --fail-finalize  POST .../finalize-order/... answers 500 with an ACME
#                    serverInternal problem: a server error in the middle of
#                    an order (account, order and authorization done, the
#                    challenge validated, no certificate);
#   --ari FILE       ACME Renewal Information (RFC 9773), which Debian 12's
#                    pebble (2.4.0) does not implement: the directory gains
#                    "renewalInfo": ME/renewal-info, and GET
#                    /renewal-info/CERTID answers from FILE, read at each
#                    request: a JSON body (200, Retry-After: 21600), or a
#                    bare status number (that status, a serverInternal
#                    problem); no FILE: 404.  The CertID asked for and the
#                    "replaces" of each newOrder (from the JWS payload) are
#                    logged ("ari: GET CERTID", "ari: newOrder replaces=X").
#   acme-fault.py LISTEN_ADDR PORT CERT KEY UPSTREAM(https://a:p) UPSTREAM_CA [--fail-finalize] [--ari FILE]
import base64
import http.server
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

addr, port, cert, key, upstream, upstream_ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
opts = sys.argv[7:]
fail_finalize = "--fail-finalize" in opts
ari_file = opts[opts.index("--ari") + 1] if "--ari" in opts else None
me = "https://%s:%d" % (addr, port)
up_ctx = ssl.create_default_context(cafile=upstream_ca)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("acme-fault: " + (fmt % args) + "\n")

    def answer(self, status, out, ctype, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for h, v in extra:
            self.send_header(h, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def renewal_info(self):
        certid = self.path[len("/renewal-info/"):]
        sys.stderr.write("ari: GET %s\n" % certid)
        if not os.path.exists(ari_file):
            return self.answer(404, b'{"type":"urn:ietf:params:acme:error:malformed","detail":"no such certificate"}',
                               "application/problem+json")
        data = open(ari_file, "rb").read().strip()
        if data.isdigit():
            return self.answer(int(data), b'{"type":"urn:ietf:params:acme:error:serverInternal","detail":"injected ARI fault"}',
                               "application/problem+json")
        self.answer(200, data, "application/json", [("Retry-After", "21600")])

    def relay(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if method == "POST" and fail_finalize and "/finalize-order/" in self.path:
            return self.answer(500, b'{"type":"urn:ietf:params:acme:error:serverInternal","detail":"injected fault: finalize failed"}',
                               "application/problem+json")
        if ari_file and method == "GET" and self.path.startswith("/renewal-info/"):
            return self.renewal_info()
        if ari_file and method == "POST" and self.path.startswith("/order-plz") and body:
            p = json.loads(body).get("payload") or ""
            payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) or b"{}")
            sys.stderr.write("ari: newOrder replaces=%s\n" % payload.get("replaces", "-"))
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
        if ari_file and method == "GET" and self.path == "/dir":
            d = json.loads(data)
            d["renewalInfo"] = me + "/renewal-info"
            data = json.dumps(d).encode()
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
