#!/usr/bin/env python3
"""doh-server.py ZONE.json PORTFILE [--silent] [--tls CERT KEY] - a DNS-over-HTTPS JSON
responder on 127.0.0.1 for the tests (the format Google's and Cloudflare's
/resolve endpoints answer: {"Status":0,"Answer":[{"name","type","data"}]}).
It serves the records of `mailstage dns --format json` plus the PTR of
each A/AAAA name; TXT data comes as quoted character-strings separated by
blanks, as the public services send them.  --silent accepts connections
and never answers (for the timeout test); --tls serves HTTPS with CERT and
KEY (PEM).  Writes its port to PORTFILE."""
import ipaddress, json, socket, ssl, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

zone = json.load(open(sys.argv[1]))
TYPES = {'A': 1, 'PTR': 12, 'MX': 15, 'TXT': 16, 'AAAA': 28}
answers = {}
for r in zone['records']:
    if r['type'] not in TYPES:
        continue
    if r['type'] == 'TXT':
        data = ' '.join('"%s"' % s for s in r['strings'])
    else:
        data = r['value']
    answers.setdefault((r['name'].rstrip('.').lower(), TYPES[r['type']]), []).append(data)
    if r['type'] in ('A', 'AAAA'):
        rev = ipaddress.ip_address(r['value']).reverse_pointer
        answers.setdefault((rev, 12), []).append(r['name'])

if '--silent' in sys.argv:
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(8)
    open(sys.argv[2], 'w').write(str(s.getsockname()[1]))
    conns = []
    end = time.time() + 60
    while time.time() < end:
        s.settimeout(1)
        try:
            conns.append(s.accept()[0])
        except socket.timeout:
            pass
    sys.exit(0)

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        name = q.get('name', [''])[0].rstrip('.').lower()
        typ = int(q.get('type', ['1'])[0])
        data = answers.get((name, typ), [])
        body = {'Status': 0 if data or any(k[0] == name for k in answers) else 3,
                'Answer': [{'name': name + '.', 'type': typ, 'TTL': 300, 'data': d} for d in data]}
        out = json.dumps(body).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/dns-json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass

srv = HTTPServer(('127.0.0.1', 0), H)
if '--tls' in sys.argv:
    i = sys.argv.index('--tls')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[i + 1], sys.argv[i + 2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(sys.argv[2], 'w').write(str(srv.server_address[1]))
srv.timeout = 1
end = time.time() + 120	# stops by itself
while time.time() < end:
    srv.handle_request()
