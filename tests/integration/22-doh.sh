#!/bin/bash
# `dns --check` and `verify` through DNS-over-HTTPS JSON (--doh URL, real
# libcurl) when port 53 is filtered: a responder on 127.0.0.1
# (tests/lib/doh-server.py: no public DoH service is reachable from here,
# and the JSON format is what they serve) answers from the records
# mailstage generated, TXT split into several strings.  Every DNS check is
# ok; a changed DKIM record is a failure.
#
# The script runs in a network namespace and a mount namespace of its own
# (it re-executes itself under unshare): only loopback, with every packet to
# port 53 dropped on input (nft), so the system resolver is silent as behind
# a filtering provider, and its own /etc/resolv.conf (three silent servers,
# glibc's default 5 s x 2 attempts each), /etc/hosts (the DoH server's name)
# and CA bundle (a test CA that signed the server's certificate) mounted
# over this machine's files inside that namespace only.  Cases:
#   - https://NAME/ with NAME in /etc/hosts: every check ok;
#   - https://NAME/ with NAME nowhere (the DNS silent): ends within the
#     bound with a message naming the host and the fix (before: 60 s);
#   - https://127.0.0.1/ (an address: nothing to resolve): ok;
#   - a server that accepts and never answers: warnings within the bound;
#   - the system resolver silent (no --doh): each check within the bound;
#   - --doh other than https (http only to a loopback address): exit 64.
# The time assertions are correctness bounds (the run ends within
# --timeout plus a margin), not speed benchmarks: the margin is 2 s plus
# what the same command takes against a server that answers at once, by
# address over http and https (startup, TLS, valgrind in the valgrind
# tier, ASan in sanitize-integration).
if [ -z "${MAILSTAGE_22_NS:-}" ]; then
	MAILSTAGE_22_NS=1 exec unshare --net --mount --propagation private "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
nft -f - <<'NFT'
table inet mailstage22 {
	chain in {
		type filter hook input priority 0;
		udp dport 53 drop
		tcp dport 53 drop
	}
}
NFT
printf 'nameserver 127.0.0.1\nnameserver 127.0.0.2\nnameserver 127.0.0.3\n' >"$T/resolv.conf"
printf '127.0.0.1 localhost\n127.0.0.1 doh.mailstage.test\n' >"$T/hosts"
mount --bind "$T/resolv.conf" /etc/resolv.conf
mount --bind "$T/hosts" /etc/hosts

# A test CA and the server's certificate for its name and 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mailstage-22-ca -keyout "$T/ca.key" -out "$T/ca.pem" \
	2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=doh.mailstage.test -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName = DNS:doh.mailstage.test, IP:127.0.0.1\n' >"$T/ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/ext" \
	-out "$T/srv.pem" 2>/dev/null
bundle=$(curl-config --ca 2>/dev/null || true)
[ -n "$bundle" ] && [ -f "$bundle" ] || bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$bundle" ] || die "no CA bundle of libcurl's to stand in for ($bundle)"
mount --bind "$T/ca.pem" "$bundle"

mkroot "$T/r"
sed -i 's/^#\?port25_probe.*/port25_probe = 127.0.0.1:9/' "$T/r/etc/mailstage/mailstage.conf"
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null
ms --root "$T/r" dns --format json >"$T/zone.json"

srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve() {	# serve [doh-server options]: (re)start the responder, $port
	if [ -n "$srv" ]; then kill $srv 2>/dev/null; wait $srv 2>/dev/null || true; fi
	rm -f "$T/port"
	python3 "$MAILSTAGE_SRC/tests/lib/doh-server.py" "$T/zone.json" "$T/port" "$@" &
	srv=$!
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	[ -s "$T/port" ] || die "the DoH responder did not start"
	port=$(cat "$T/port")
}
# timed OUT ARGS...: run mailstage, its output in OUT, exit code in $rc, wall seconds in $took
timed() {
	local out=$1 s e
	shift
	s=$(date +%s.%N)
	rc=0
	ms "$@" >"$out" 2>&1 || rc=$?
	e=$(date +%s.%N)
	took=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", b - a }')
}
within() {	# within SECONDS: did the last timed run end in time?
	awk -v t="$took" -v b="$1" 'BEGIN { exit !(t <= b) }'
}
all_ok() {	# all_ok OUT WHAT
	local c
	for c in 'A mail.example.com' 'MX' 'SPF authorises 192.0.2.10' 'DKIM record' 'DMARC record' 'PTR 192.0.2.10'; do
		grep -Eq "^  ok +$c " "$1" || { cat "$1"; die "$2: check \"$c\" not ok"; }
	done
}

serve
timed "$T/out" --root "$T/r" dns --check --doh "http://127.0.0.1:$port/resolve"
cat "$T/out"
[ $rc -eq 0 ] || die "dns --check over DoH exited $rc"
all_ok "$T/out" "DoH"
base=$took
ok "every record checked over DoH (TXT joined from split strings), ${took}s"

# HTTPS to an address: nothing to resolve.  Its time (TLS included) and the
# one above give the margin of the bounds below.
serve --tls "$T/srv.pem" "$T/srv.key"
timed "$T/out" --root "$T/r" dns --check --timeout 2 --doh "https://127.0.0.1:$port/resolve"
[ $rc -eq 0 ] || { cat "$T/out"; die "https by address: exit $rc"; }
all_ok "$T/out" "https by address"
margin=$(awk -v a="$base" -v b="$took" 'BEGIN { printf "%.2f", (a > b ? a : b) + 2 }')
ok "https://127.0.0.1 (an address, nothing resolved): every check ok in ${took}s; margin for the bounds below: ${margin}s"

# HTTPS by name, the name in /etc/hosts, port 53 silent: libcurl is given
# the address and never asks the DNS.
timed "$T/out" --root "$T/r" dns --check --timeout 2 --doh "https://doh.mailstage.test:$port/resolve"
[ $rc -eq 0 ] || { cat "$T/out"; die "https by name: exit $rc"; }
all_ok "$T/out" "https by name"
within "$(awk -v m="$margin" 'BEGIN { print 2 + m }')" || die "https by name took ${took}s, bound 2 s + ${margin}s"
ok "https://doh.mailstage.test (/etc/hosts, certificate verified, port 53 silent): every check ok in ${took}s"

# A name that resolves nowhere while the DNS is silent: resolved once,
# within the bound, and every check says why.  Before the fix: 60 s.
timed "$T/out" --root "$T/r" dns --check --timeout 2 --doh "https://nowhere.mailstage.test:$port/resolve"
cat "$T/out"
within "$(awk -v m="$margin" 'BEGIN { print 2 + m }')" || die "an unresolvable DoH host took ${took}s, bound 2 s + ${margin}s"
grep -q 'cannot resolve nowhere.mailstage.test within 2 s' "$T/out" || die "no message naming the unresolved host"
grep -q 'give the server by address, e.g. --doh https://' "$T/out" || die "no fix given for the unresolved host"
[ "$(grep -c '^  WARN ' "$T/out")" -ge 6 ] || die "every DNS check should warn (not checked)"
ok "an unresolvable DoH host with the DNS silent: ended in ${took}s (bound 2 s), naming the host and the fix, exit $rc"

# A different key in the served record: the DKIM check fails, naming it.
python3 - "$T/zone.json" <<'PY'
import json, sys
z = json.load(open(sys.argv[1]))
for r in z['records']:
    if r['name'].startswith('default._domainkey'):
        r['strings'] = ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAother']
json.dump(z, open(sys.argv[1], 'w'))
PY
serve
timed "$T/out" --root "$T/r" dns --check --doh "http://127.0.0.1:$port/resolve"
[ $rc -eq 1 ] || { cat "$T/out"; die "changed DKIM record: exit $rc, expected 1"; }
grep -Eq '^  FAIL +DKIM record .*holds another key' "$T/out" || { cat "$T/out"; die "DKIM mismatch not reported"; }
ok "a different DKIM key in DNS fails the check"

# A server that accepts and never answers: bounded warnings, no hang; the
# endpoint that did not answer in a whole bound is not asked again.
serve --silent
timed "$T/out" --root "$T/r" dns --check --timeout 1 --doh "http://127.0.0.1:$port/resolve"
grep -Eq '^  WARN +DKIM record .*(Timeout|timed out)' "$T/out" || { cat "$T/out"; die "no timeout warning"; }
within "$(awk -v m="$margin" 'BEGIN { print 1 + m }')" || { cat "$T/out"; die "a silent DoH server: ${took}s, bound 1 s + ${margin}s"; }
ok "a silent DoH server: warnings with the reason after ${took}s in all (bound 1 s), exit $rc"

# No --doh: the system resolver (three silent servers) bounded per check,
# all attempts and servers included: 6 checks of at most 1 s each.
timed "$T/out" --root "$T/r" dns --check --timeout 1
grep -Eq '^  WARN +MX .*no answer from the system resolver within 1 s' "$T/out" || { cat "$T/out"; die "no resolver timeout warning"; }
within "$(awk -v m="$margin" 'BEGIN { print 6 + m }')" || { cat "$T/out"; die "a silent system resolver: ${took}s, bound 6 x 1 s + ${margin}s"; }
ok "a silent system resolver (3 servers): 6 checks in ${took}s (bound 1 s each)"

# --doh is https (http only to a loopback address): anything else is a usage error naming the flag.
for u in ftp://127.0.0.1/resolve http://doh.mailstage.test/resolve http://192.0.2.1/resolve https:// \
	'https://exa mple/' dns.google/resolve 'https://[zz]/'; do
	rc=0
	ms --root "$T/r" dns --check --doh "$u" >"$T/out" 2>&1 || rc=$?
	[ $rc -eq 64 ] || { cat "$T/out"; die "--doh $u: exit $rc, expected 64"; }
	grep -qF "mailstage: --doh $u: expected an https:// URL" "$T/out" || { cat "$T/out"; die "--doh $u: no usage message"; }
done
for u in 'http://[::1]:1/resolve' 'HTTPS://dns.google/resolve' 'https://8.8.8.8/resolve?ct=x'; do
	rc=0
	ms --root "$T/r" dns --check --timeout 1 --doh "$u" >"$T/out" 2>&1 || rc=$?
	[ $rc -ne 64 ] || { cat "$T/out"; die "--doh $u refused as a usage error"; }
done
ok "--doh other than https:// (or http:// to a loopback address) is a usage error (64) naming the flag"
