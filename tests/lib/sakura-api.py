#!/usr/bin/env python3
# tests/lib/sakura-api.py - a stand-in for the Sakura VPS API v7 over HTTPS
# (the real API cannot be reached from the tests), and a tiny DNS responder
# for the hostname's forward records.
#
# It implements the requests mailstage makes, as the API reference documents
# them (manual.sakura.ad.jp/vps/api/api-doc/; the OpenAPI-generated clients:
# ServerApi "GET /servers/{server_id}", "PUT /servers/{server_id}/ipv4-ptr",
# "PUT .../ipv6-ptr" with UpdateHost {"hostname"}, "GET .../limitation"
# (Limitation.outbound_port_25_blocking enabled|disabled), 429 with
# "Retry-After" in seconds), plus GET/PUT /servers/{id}/packet-filter
# ({"is_enabled": bool, "rules": [{"protocol", "port", ...}]}), and it
# CHECKS EVERY REQUEST against them: the method for the path, "Authorization:
# Bearer KEY", "Content-Type: application/json" on a body, the JSON body's
# exact members and types.  A request that deviates gets 400/401/404/405 and
# is appended to VIOLATIONS, which the test requires to be empty.  Like the
# real service (the control panel's PTR form), a PTR is refused (400) unless
# the name's forward record (state "forward") holds the server's address.
#
# usage: sakura-api.py STATE.json PORTFILE KEY CERT.pem KEY.pem LOG VIOLATIONS [DNSPORT]
# STATE.json is re-read on every request (the test edits it) and written after
# each change: {"server": {...Server...}, "packet_filter": {...},
# "limitation": {...}, "forward": {"NAME": ["ADDR", ...]}, "throttle": N}
import json, re, socket, ssl, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE, PORTFILE, KEY, CERT, CERTKEY, LOG, VIOL = sys.argv[1:8]
DNSPORT = int(sys.argv[8]) if len(sys.argv) > 8 else 0
BASE = '/vps/api/v7'
lock = threading.Lock()
FQDN = re.compile(r'^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$')


def load():
    with open(STATE) as f:
        return json.load(f)


def save(st):
    with open(STATE + '.tmp', 'w') as f:
        json.dump(st, f, indent=1)
    import os
    os.replace(STATE + '.tmp', STATE)


def note(path, line):
    with open(path, 'a') as f:
        f.write(line + '\n')


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def answer(self, code, obj=None, headers=()):
        body = b'' if obj is None else json.dumps(obj).encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if obj is not None:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def bad(self, code, why):
        note(VIOL, '%s %s: %s' % (self.command, self.path, why))
        self.answer(code, {'code': 'invalid', 'message': why})

    def handle_any(self):
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        with lock:
            st = load()
            note(LOG, '%.3f %s %s %s' % (time.time(), self.command, self.path, raw.decode('utf-8', 'replace')))
            if self.headers.get('Authorization') != 'Bearer ' + KEY:
                return self.bad(401, 'Authorization is not "Bearer KEY"')
            if st.get('throttle', 0) > 0:
                st['throttle'] -= 1
                save(st)
                note(LOG, '%.3f 429' % time.time())
                return self.answer(429, {'code': 'throttled', 'message': 'Expected available in 1 second.'},
                                   [('Retry-After', '1')])
            sid = st['server']['id']
            m = re.fullmatch(BASE + r'/servers/(\d+)(/[a-z0-9-]+)?', self.path)
            if not m:
                return self.bad(404, 'no such endpoint')
            if int(m.group(1)) != sid:
                return self.answer(404, {'code': 'not_found', 'message': 'not found'})
            sub = m.group(2) or ''
            routes = {'': ('GET',), '/ipv4-ptr': ('PUT',), '/ipv6-ptr': ('PUT',),
                      '/packet-filter': ('GET', 'PUT'), '/limitation': ('GET',)}
            if sub not in routes:
                return self.bad(404, 'no such endpoint')
            if self.command not in routes[sub]:
                return self.bad(405, 'method not allowed for ' + sub)
            if self.command == 'GET':
                if raw:
                    return self.bad(400, 'GET with a body')
                obj = {'': st['server'], '/packet-filter': st['packet_filter'],
                       '/limitation': st['limitation']}[sub]
                return self.answer(200, obj)
            if (self.headers.get('Content-Type') or '').split(';')[0].strip() != 'application/json':
                return self.bad(400, 'Content-Type is not application/json')
            try:
                body = json.loads(raw)
            except ValueError:
                return self.bad(400, 'body is not JSON')
            if sub.endswith('-ptr'):
                fam = sub[1:5]
                if not isinstance(body, dict) or set(body) != {'hostname'} or not isinstance(body['hostname'], str):
                    return self.bad(400, 'body is not {"hostname": STRING}')
                h = body['hostname']
                if not FQDN.match(h):
                    return self.bad(400, 'hostname is not a host name')
                addr = st['server'][fam]['address']
                if addr not in st.get('forward', {}).get(h, []) and h != st.get('initial_ptr', {}).get(fam):
                    # the panel's rule: the forward record must match first
                    return self.answer(400, {'code': 'invalid', 'message': 'forward lookup does not match'})
                st['server'][fam]['ptr'] = h
            else:
                if not isinstance(body, dict) or set(body) != {'is_enabled', 'rules'} or \
                        not isinstance(body['is_enabled'], bool) or not isinstance(body['rules'], list):
                    return self.bad(400, 'body is not {"is_enabled": BOOL, "rules": [...]}')
                for r in body['rules']:
                    if not isinstance(r, dict) or r.get('protocol') not in ('tcp', 'udp') or \
                            not isinstance(r.get('port'), str) or not re.fullmatch(r'[0-9,/-]+', r['port']):
                        return self.bad(400, 'a rule is not {"protocol": tcp|udp, "port": STRING, ...}')
                if len(body['rules']) > 20:
                    return self.answer(400, {'code': 'invalid', 'message': 'at most 20 rules'})
                st['packet_filter'] = body
            save(st)
            return self.answer(204)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = handle_any


def dns_server(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', port))
    while True:
        q, peer = s.recvfrom(512)
        try:
            qid, flags, qd = struct.unpack('>HHH', q[:6])
            i, labels = 12, []
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode())
                i += 1 + q[i]
            qtype, = struct.unpack('>H', q[i + 1:i + 3])
            question = q[12:i + 5]
        except Exception:
            continue
        name = '.'.join(labels).lower()
        st = load()
        if qtype == 2:	# NS: state "ns" {"DOMAIN": ["ns1.dns.ne.jp", ...]}
            addrs = st.get('ns', {}).get(name, [])
        else:
            addrs = [a for a in st.get('forward', {}).get(name, [])
                     if (qtype == 1 and ':' not in a) or (qtype == 28 and ':' in a)]
        ans = b''
        for a in addrs:
            if qtype == 2:
                rd = b''.join(bytes([len(l)]) + l.encode() for l in a.split('.')) + b'\0'
            else:
                rd = socket.inet_pton(socket.AF_INET6 if ':' in a else socket.AF_INET, a)
            ans += b'\xc0\x0c' + struct.pack('>HHIH', qtype, 1, 60, len(rd)) + rd
        rcode = 0 if name in st.get('forward', {}) or name in st.get('ns', {}) else 3
        s.sendto(struct.pack('>HHHHHH', qid, 0x8580 | rcode, 1, len(addrs), 0, 0) + question + ans, peer)


if DNSPORT:
    threading.Thread(target=dns_server, args=(DNSPORT,), daemon=True).start()
srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, CERTKEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(PORTFILE + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
import os
os.replace(PORTFILE + '.tmp', PORTFILE)
srv.serve_forever()
