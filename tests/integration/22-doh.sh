#!/bin/bash
# `dns --check` and `verify` through DNS-over-HTTPS JSON (--doh URL, real
# libcurl) when port 53 is filtered: a responder on 127.0.0.1
# (tests/lib/doh-server.py, plain HTTP: no public DoH service is reachable
# from here, and the JSON format is what they serve) answers from the
# records mailstage generated, TXT split into several strings.  Every DNS
# check is ok; a changed DKIM record is a failure; a server that never
# answers gives warnings with the reason within the bound (--timeout 1),
# never a hang.
. "$(dirname "$0")/lib.sh"
mkroot "$T/r"
sed -i 's/^#\?port25_probe.*/port25_probe = 127.0.0.1:9/' "$T/r/etc/mailstage/mailstage.conf"
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null
ms --root "$T/r" dns --format json >"$T/zone.json"

python3 "$MAILSTAGE_SRC/tests/lib/doh-server.py" "$T/zone.json" "$T/port" &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$T/port")/resolve
rc=0
ms --root "$T/r" dns --check --doh "$url" >"$T/out" 2>&1 || rc=$?
cat "$T/out"
[ $rc -eq 0 ] || die "dns --check over DoH exited $rc"
for c in 'A mail.example.com' 'MX' 'SPF authorises 192.0.2.10' 'DKIM record' 'DMARC record' 'PTR 192.0.2.10'; do
	grep -Eq "^  ok +$c " "$T/out" || die "DoH: check \"$c\" not ok"
done
ok "every record checked over DoH (TXT joined from split strings)"

# A different key in the served record: the DKIM check fails, naming it.
python3 - "$T/zone.json" <<'PY'
import json, sys
z = json.load(open(sys.argv[1]))
for r in z['records']:
    if r['name'].startswith('default._domainkey'):
        r['strings'] = ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAother']
json.dump(z, open(sys.argv[1], 'w'))
PY
kill $srv; wait $srv 2>/dev/null || true
rm -f "$T/port"
python3 "$MAILSTAGE_SRC/tests/lib/doh-server.py" "$T/zone.json" "$T/port" &
srv=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
rc=0
ms --root "$T/r" dns --check --doh "http://127.0.0.1:$(cat "$T/port")/resolve" >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$T/out"; die "changed DKIM record: exit $rc, expected 1"; }
grep -Eq '^  FAIL +DKIM record .*holds another key' "$T/out" || { cat "$T/out"; die "DKIM mismatch not reported"; }
ok "a different DKIM key in DNS fails the check"

# A server that accepts and never answers: bounded warnings, no hang.
kill $srv; wait $srv 2>/dev/null || true
rm -f "$T/port"
python3 "$MAILSTAGE_SRC/tests/lib/doh-server.py" "$T/zone.json" "$T/port" --silent &
srv=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
start=$(date +%s)
rc=0
ms --root "$T/r" dns --check --timeout 1 --doh "http://127.0.0.1:$(cat "$T/port")/resolve" >"$T/out" 2>&1 || rc=$?
took=$(( $(date +%s) - start ))
grep -Eq '^  WARN +DKIM record .*(Timeout|timed out)' "$T/out" || { cat "$T/out"; die "no timeout warning"; }
ok "a silent DoH server: warnings with the reason after ${took}s in all (each lookup bounded by 1 s), exit $rc"
