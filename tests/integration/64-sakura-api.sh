#!/bin/bash
# The Sakura VPS API stage ("provider") against tests/lib/sakura-api.py: the
# real API (secure.sakura.ad.jp) cannot be reached from here, so a local
# HTTPS server with a CA made in this test stands in for it.  That server
# implements the documented requests and responses AND CHECKS EVERY REQUEST
# against the reference (method for the path, "Authorization: Bearer KEY",
# "Content-Type: application/json", the JSON body's members and types); any
# deviation is recorded and fails this test.  The hostname's A/AAAA records
# come from a DNS responder on 127.0.0.1:53 in a network and mount namespace
# of the test's own (resolv.conf bind-mounted there only).
#
# Cases: a key file readable by others is refused (77) naming the file and
# the fix; plan shows the PTR and packet filter actions and changes nothing;
# apply sets the IPv4 and IPv6 PTR and adds 25/465/587 to the filter (the
# rules already there kept); a second apply changes nothing (no PUT); an
# injected failure after the provider's actions rolls them back (the server's
# PTR and rules are the previous ones); `rollback` restores them too; 429 with
# Retry-After is waited for; a server that never answers fails in bounded
# time with a clear message; the key appears in no output, --json, state
# file or journal.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root (network namespace)"
if [ -z "${MS_I_SAKURA_INNER:-}" ]; then
	# Own network (loopback only) and mount namespace.
	exec env MS_I_SAKURA_INNER=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
ip link set lo up

KEY=ms-i-SECRETKEY-$RANDOM$RANDOM-3f9c
# Test CA and the server's certificate for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ms-i-test-ca -keyout "$T/ca.key" -out "$T/ca.pem" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/ext" -out "$T/srv.pem" 2>/dev/null

initial_state() {
	cat >"$T/state.json" <<'J'
{"server": {"id": 123456, "name": "ms-i", "ipv4": {"address": "192.0.2.10", "ptr": "ik1-1-2-3.vs.sakura.ne.jp",
  "hostname": "ik1-1-2-3.vs.sakura.ne.jp"}, "ipv6": {"address": "2001:db8::10", "ptr": "ik1-1-2-3.vs6.sakura.ne.jp",
  "hostname": "ik1-1-2-3.vs6.sakura.ne.jp"}},
 "initial_ptr": {"ipv4": "ik1-1-2-3.vs.sakura.ne.jp", "ipv6": "ik1-1-2-3.vs6.sakura.ne.jp"},
 "packet_filter": {"is_enabled": true, "rules": [{"protocol": "tcp", "port": "22", "source_ip_address": "0.0.0.0/0"}]},
 "limitation": {"cpu_performance_limit": "disabled", "network_bandwidth_limit": "disabled",
  "outbound_port_25_blocking": "enabled", "storage_iops_limit": "disabled"},
 "forward": {"mail.example.com": ["192.0.2.10", "2001:db8::10"]}, "ns": {"example.com": ["ns1.dns.ne.jp", "ns2.dns.ne.jp"]},
 "throttle": 0}
J
}
initial_state
: >"$T/log"
: >"$T/viol"
python3 "$MAILSTAGE_SRC/tests/lib/sakura-api.py" "$T/state.json" "$T/port" "$KEY" "$T/srv.pem" "$T/srv.key" \
	"$T/log" "$T/viol" 53 &
srv=$!
trap 'kill $srv $hang 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
hang=
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || die "the API stand-in did not start"
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
URL=https://127.0.0.1:$(cat "$T/port")/vps/api/v7

mkroot "$T/r"
conf=$T/r/etc/mailstage/mailstage.conf
sed -i 's/^#\?port25_probe.*/port25_probe = 127.0.0.1:9/; s/^#\?ipv6 =.*/ipv6 = 2001:db8::10/' "$conf"
cat >>"$conf" <<EOC
sakura_api_key_file = /etc/mailstage/sakura-api-key
sakura_server_id = 123456
sakura_api_url = $URL
sakura_ca_file = /etc/mailstage/ms-i-test-ca.pem
EOC
cp "$T/ca.pem" "$T/r/etc/mailstage/ms-i-test-ca.pem"
printf '%s\n' "$KEY" >"$T/r/etc/mailstage/sakura-api-key"
outs=()
run() {	# run NAME WANT-RC mailstage-args...: output in $T/NAME.out
	local name=$1 want=$2 rc=0
	shift 2
	"$@" >"$T/$name.out" 2>&1 || rc=$?
	outs+=("$T/$name.out")
	[ "$rc" -eq "$want" ] || { cat "$T/$name.out"; die "$name: exit $rc, expected $want"; }
}
same_state() { python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$T/state.before" "$T/state.json"; }
state() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/state.json" "$1"; }

# A key file others can read: refused before anything changes, naming it and the fix.
chmod 0644 "$T/r/etc/mailstage/sakura-api-key"
run perm 77 ms "${SCRATCH[@]}" --root "$T/r" apply
grep -q '/etc/mailstage/sakura-api-key is mode 0644' "$T/perm.out" || die "refusal does not name the key file"
grep -q 'chmod 600 /etc/mailstage/sakura-api-key' "$T/perm.out" || die "refusal does not give the fix"
[ ! -d "$T/r/etc/postfix/main.cf.d" ] && [ ! -e "$T/r/var/lib/mailstage/runs/1" ] || die "refused run changed something"
chmod 0600 "$T/r/etc/mailstage/sakura-api-key"
ok "key file 0644 refused (77), naming the file and chmod 600"

# plan shows the actions and changes nothing on the server.
cp "$T/state.json" "$T/state.before"
run plan 2 ms "${SCRATCH[@]}" --root "$T/r" plan
grep -q 'set the ipv4 PTR of 192.0.2.10 to mail.example.com (now "ik1-1-2-3.vs.sakura.ne.jp")' "$T/plan.out" \
	|| { cat "$T/plan.out"; die "plan does not show the IPv4 PTR"; }
grep -q 'set the ipv6 PTR of 2001:db8::10 to mail.example.com' "$T/plan.out" || die "plan does not show the IPv6 PTR"
grep -q 'open TCP 25 465 587 in the Sakura VPS packet filter' "$T/plan.out" || die "plan does not show the filter rules"
grep -q 'outbound port 25 blocked for server 123456' "$T/plan.out" || die "preflight does not report the port 25 limitation"
same_state || die "plan changed the server's state"
! grep -q ' PUT ' "$T/log" || die "plan sent a PUT"
ok "plan shows PTR (IPv4, IPv6) and packet filter actions, preflight the port 25 limitation; nothing sent"

# apply sets them; the previous rule stays.
run apply 0 ms "${SCRATCH[@]}" --root "$T/r" apply
[ "$(state 's["server"]["ipv4"]["ptr"]')" = mail.example.com ] || die "IPv4 PTR not set"
[ "$(state 's["server"]["ipv6"]["ptr"]')" = mail.example.com ] || die "IPv6 PTR not set"
[ "$(state '" ".join(r["port"] for r in s["packet_filter"]["rules"])')" = "22 25 465 587" ] \
	|| die "packet filter rules: $(state 's["packet_filter"]')"
[ "$(state 's["packet_filter"]["rules"][0]')" = "{'protocol': 'tcp', 'port': '22', 'source_ip_address': '0.0.0.0/0'}" ] \
	|| die "the existing rule was not kept as it was"
ok "apply: both PTRs set to mail.example.com, TCP 25/465/587 added after the existing rule"

# A second apply changes nothing.
puts=$(grep -c ' PUT ' "$T/log")
run apply2 0 ms "${SCRATCH[@]}" --root "$T/r" --json apply
[ "$(grep -c ' PUT ' "$T/log")" = "$puts" ] || die "second apply sent a PUT"
grep -q '"stage": *"provider"' "$T/apply2.out" || die "--json has no provider stage"
run plan2 0 ms "${SCRATCH[@]}" --root "$T/r" plan
ok "second apply: no PUT, plan converged"

# verify: the API's port 25 limitation; the DKIM record (2048 bits) too long for Sakura's DNS.
rc=0; ms --root "$T/r" verify >"$T/verify.out" 2>&1 || rc=$?
outs+=("$T/verify.out")
grep -Eq '^  FAIL +port 25 \(Sakura API\) ' "$T/verify.out" || { cat "$T/verify.out"; die "verify: no port 25 limitation"; }
grep -Eq "^  WARN +DKIM record on Sakura.s DNS " "$T/verify.out" || { cat "$T/verify.out"; die "verify: no Sakura DNS TXT advice"; }
grep -q 'dkim_bits = 1024' "$T/verify.out" || die "verify: Sakura DNS advice without the fix"
rc=0; ms --root "$T/r" dns --check >"$T/dnscheck.out" 2>&1 || rc=$?
outs+=("$T/dnscheck.out")
grep -Eq '^  WARN +DKIM record on Sakura.s DNS ' "$T/dnscheck.out" || { cat "$T/dnscheck.out"; die "dns --check: no Sakura DNS TXT advice"; }
ms --root "$T/r" dns >"$T/dnsplain.out" 2>&1 || die "dns failed"
outs+=("$T/dnsplain.out")
grep -q 'the DKIM record is 410 characters and example.com is on Sakura.s DNS' "$T/dnsplain.out" \
	|| { cat "$T/dnsplain.out"; die "dns: no Sakura DNS TXT advice"; }
# Without the API keys: the manual steps, in English and Japanese.
sed '/^sakura_/d' "$conf" >"$T/nokeys.conf"
ms --root "$T/r" -c "$T/nokeys.conf" verify >"$T/verify2.out" 2>&1 || true
grep -q 'Sakura VPS without API access' "$T/verify2.out" || die "verify without keys: no manual steps (en)"
grep -q 'IPv6はfirewalldで守ってください' "$T/verify2.out" || die "verify without keys: no manual steps (ja)"
grep -q 'leaves IPv6 open: firewalld is what protects IPv6' "$T/verify2.out" || die "verify: IPv6 not mentioned"
ok "verify: port 25 limitation from the API, Sakura DNS 255-character advice (verify, dns --check, dns), manual steps en/ja without keys"

# rollback of that run restores the previous PTRs and rules.
run rb 0 ms --root "$T/r" rollback
[ "$(state 's["server"]["ipv4"]["ptr"]')" = ik1-1-2-3.vs.sakura.ne.jp ] || die "rollback: IPv4 PTR not restored"
[ "$(state 's["server"]["ipv6"]["ptr"]')" = ik1-1-2-3.vs6.sakura.ne.jp ] || die "rollback: IPv6 PTR not restored"
[ "$(state 's["packet_filter"]')" = "{'is_enabled': True, 'rules': [{'protocol': 'tcp', 'port': '22', 'source_ip_address': '0.0.0.0/0'}]}" ] \
	|| die "rollback: packet filter not restored: $(state 's["packet_filter"]')"
ok "rollback restores the previous PTRs and packet filter on the server"

# A failure later in the same run (the last mutation point, after the provider's
# actions) rolls them back: the server's state is the previous one.
rm -rf "$T/r2"; cp -a "$T/r" "$T/r2"; rm -rf "$T/r2/var/lib/mailstage"
cp -a "$T/r2" "$T/count"
MAILSTAGE_HOOK_LOG=$T/points mst "${SCRATCH[@]}" --root "$T/count" -q apply >/dev/null 2>&1 || die "counting apply failed"
last=$(wc -l <"$T/points")
prov=$(grep -n ' action ' "$T/points" | tail -1 | cut -d: -f1)
initial_state
if [ "$last" -gt "$prov" ]; then
	fail_at=$last
else
	fail_at=
fi
cp "$T/state.json" "$T/state.before"
if [ -n "$fail_at" ]; then
	run inject 3 env MAILSTAGE_FAIL_AT=$fail_at "$MAILSTAGE_TESTBIN" "${SCRATCH[@]}" --root "$T/r2" apply
	grep -q "injected failure at mutation point $fail_at" "$T/inject.out" || die "failure not injected"
	same_state || { diff "$T/state.before" "$T/state.json"; die "failure later in the run: server state not restored"; }
	[ "$(grep -c ' PUT ' "$T/log")" -ge $((puts + 6)) ] || die "injection run did not set and restore through PUT"
	ok "failure injected at point $fail_at (after the provider's actions): PTRs and rules restored on the server"
else
	die "no mutation point after the provider's actions to inject a failure at ($last points, provider at $prov)"
fi

# 429: Retry-After honoured.
python3 - "$T/state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s['throttle'] = 2; json.dump(s, open(sys.argv[1], 'w'))
PY
t0=$(date +%s)
run throttled 2 ms "${SCRATCH[@]}" --root "$T/r2" plan
t1=$(date +%s)
[ "$(grep -c ' 429$' "$T/log")" -ge 2 ] || die "the stand-in did not send 429"
[ $((t1 - t0)) -ge 2 ] || die "429: Retry-After not waited for ($((t1 - t0)) s)"
grep -q 'rate limited (429), retrying in 1 s' "$T/throttled.out" || die "429 not reported"
ok "429 with Retry-After: 1 waited for twice, then the plan completes ($((t1 - t0)) s)"

# A server that accepts and never answers: bounded time, clear message.
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(16)
open(sys.argv[1],"w").write(str(s.getsockname()[1])); time.sleep(600)' "$T/hport" &
hang=$!
for _ in $(seq 50); do [ -s "$T/hport" ] && break; sleep 0.1; done
sed -i "s|^sakura_api_url = .*|sakura_api_url = https://127.0.0.1:$(cat "$T/hport")/vps/api/v7|" "$T/r2/etc/mailstage/mailstage.conf"
t0=$(date +%s)
rc=0
ms "${SCRATCH[@]}" --root "$T/r2" plan >"$T/hang.out" 2>&1 || rc=$?
t1=$(date +%s)
outs+=("$T/hang.out")
[ $rc -ne 0 ] && [ $rc -ne 2 ] || die "a silent API: exit $rc"
[ $((t1 - t0)) -le 25 ] || die "a silent API took $((t1 - t0)) s"
grep -q 'no answer within 10 s' "$T/hang.out" || { cat "$T/hang.out"; die "a silent API: no clear message"; }
ok "an API that never answers: exit $rc after $((t1 - t0)) s, \"no answer within 10 s\""

# The key is nowhere: outputs, --json, state, journals.
for f in "${outs[@]}"; do ! grep -qF "$KEY" "$f" || die "the API key appears in $(basename "$f")"; done
! grep -rqF "$KEY" "$T/r/var/lib/mailstage" "$T/r2/var/lib/mailstage" || die "the API key is in the state directory"
[ ! -s "$T/viol" ] || { cat "$T/viol"; die "requests that do not follow the reference"; }
grep -q "GET /vps/api/v7/servers/123456/limitation" "$T/log" || die "limitation never asked"
ok "the key appears in no output, --json or journal; every request followed the reference ($(wc -l <"$T/log") logged)"
