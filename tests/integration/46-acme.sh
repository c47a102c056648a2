#!/bin/bash
# 46-acme.sh - tls_acme = yes against a real ACME server: Debian's pebble,
# validation on (no PEBBLE_VA_ALWAYS_VALID), in network namespaces
# (tests/lib/mailnet.sh).  pebble resolves the host name through the test's
# own nsd (-dnsserver) and fetches the http-01 answer from port 80 of the
# address it names, which `mailstage --root R apply` (a scratch debian12
# root) answers itself for the duration of the order.  Asserted:
#   - plan shows "obtain certificate for HOST from DIRECTORY" and changes nothing;
#   - a first issuance: key 0600, account key 0600 in /var/lib/mailstage/acme,
#     the chain verified with `openssl verify` against pebble's root
#     (management API /roots/0), the hostname in its subjectAltName, the key
#     matching; then Postfix started from the root serves it:
#     `openssl s_client -starttls smtp` verifies it (return code 0);
#   - a second apply changes nothing (no new order);
#   - renewal: with the clock (MAILSTAGE_TEST_NOW, test build) 20 days before
#     expiry, apply obtains a new certificate and key;
#   - a challenge that cannot be reached (the A record points elsewhere):
#     20 days before expiry the old pair is kept byte-identical, a warning
#     names the ACME error and the fix, the run succeeds; 3 days before
#     expiry the same failure fails the run, the pair still byte-identical;
#   - a server error mid-order (tests/lib/acme-fault.py in front of pebble
#     answers finalize with 500 serverInternal): the run fails and rolls
#     back, key, certificate and account key byte-identical, the server's
#     error shown;
#   - the http-01 window in firewalld: a real firewalld (its nftables rules)
#     on a private D-Bus inside srv's namespaces, its zone without http.
#     With --root R (no window: not the running host) pebble's validation
#     fails; `mailstage --root / --only tls` (srv's private /etc overlay, a
#     private /var/lib/mailstage) plans and opens http at runtime for the
#     order only, the certificate is issued, http is closed after (runtime
#     and permanent lists as before), how long it stayed open is measured
#     (mailstage's own figure, and nft polled from outside); rollback of
#     that run closes nothing that is open; a crash (SIGKILL) inside the
#     window leaves http open until rollback closes it; with http or 80/tcp open by
#     hand nothing is opened or closed; finalize 500 (acme-fault.py) leaves
#     http closed and the pair byte-identical; firewalld stopped with
#     SIGSTOP: a renewal that can wait keeps the pair and warns, an urgent
#     one fails, both naming the fix;
#   - ACME Renewal Information (RFC 9773; Debian 12's pebble 2.4.0 has none,
#     so tests/lib/acme-fault.py --ari adds renewalInfo to pebble's directory
#     and serves a window the test writes): mailstage asks for the CertID
#     computed here from openssl's output; a window 5 days ahead with 20
#     days left: no renewal, a note; a window already open with 50 days
#     left: plan says "the CA's renewal window (ARI) opened", apply renews
#     and the newOrder carries replaces=CERTID; renewalInfo answering 500:
#     the 30-day rule with a note; 3 days before expiry: renewal without
#     asking;
#   - the ACME server down: the run fails, the pair byte-identical.
# Requires: pebble, nsd, openssl, curl, postfix, firewalld, dbus-daemon, nft (tests/deps test).
. "$(dirname "$0")/lib.sh"
. "$MAILSTAGE_SRC/tests/lib/mailnet.sh"
for p in pebble nsd openssl curl firewalld firewall-cmd dbus-daemon nft; do
	PATH=$PATH:/usr/sbin command -v "$p" >/dev/null || die "missing $p (tests/deps test)"
done

DNS4=198.51.100.53
SRV4=192.0.2.10
ACME4=203.0.113.14
ELSE4=192.0.2.99
HOST=mail.example.com
DIR_URL=https://$ACME4:14000/dir

mn_init "$T/net"
mn_host dns $DNS4
mn_host srv $SRV4
mn_host acme $ACME4

zone() {
	printf '$ORIGIN example.com.\n$TTL 5\n@ IN SOA ns.example.com. hostmaster.example.com. %s 3600 900 1209600 5\n' "$2"
	printf '@ IN NS ns.example.com.\nns IN A %s\nmail IN A %s\n' "$DNS4" "$1"
}
zone $SRV4 1 >"$T/example.com.zone"
mn_dns_start dns $DNS4 example.com="$T/example.com.zone"
# point the A record elsewhere (or back) and reload nsd
set_a() {
	zone "$1" "$2" >"$MN_DIR/dns/nsd/example.com.zone"
	local pid
	pid=$(cat "$MN_DIR/dns/nsd/nsd.pid")
	kill -HUP "$pid"
	for _ in $(seq 1 100); do
		mn_in srv dig +short @$DNS4 $HOST A 2>/dev/null | grep -qx "$1" && return 0
		sleep 0.1
	done
	die "nsd does not serve $HOST A $1"
}

# pebble: its own TLS certificate (for the API address), its own config
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/pebble.key" -out "$T/pebble.crt" -days 2 \
	-subj /CN=pebble -addext "subjectAltName=IP:$ACME4" 2>/dev/null
cat >"$T/pebble.json" <<EOF
{"pebble": {"listenAddress": "$ACME4:14000", "managementListenAddress": "$ACME4:15000",
  "certificate": "$T/pebble.crt", "privateKey": "$T/pebble.key",
  "httpPort": 80, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
pebble_start() {
	mn_bg acme "$T/pebble.log" env PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 pebble -config "$T/pebble.json" -dnsserver $DNS4:53
	mn_wait_port acme 14000
	mn_wait_port acme 15000
}
pebble_stop() {
	local p
	for p in $(ip netns pids "$MN_ID-acme"); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = pebble ] && kill "$p"
	done
	for _ in $(seq 1 100); do
		mn_in acme ss -Hltn "sport = :14000" | grep -q . || return 0
		sleep 0.05
	done
}
pebble_start

# the scratch root: mkroot's users, plus the two groups this machine's Postfix
# (started on it below) needs as its own: tests/lib/host-daemon-users
R=$T/root
mkroot "$R" debian12 >/dev/null
host_daemon_users "$R" group:postdrop group:mail
"$MAILSTAGE_SRC/tests/lib/pfmeta" "$R/etc/postfix"
# acme_ca_file: a bundle of what this test trusts, pebble's API certificate
# and the root pebble issues under (made when pebble starts); verify checks
# the served chain against it
mn_in acme curl -sS --cacert "$T/pebble.crt" https://$ACME4:15000/roots/0 >"$T/root0.pem"
grep -q "BEGIN CERTIFICATE" "$T/root0.pem" || die "no pebble root"
cat "$T/pebble.crt" "$T/root0.pem" >"$R/etc/mailstage/pebble-ca.pem"
cat >"$R/etc/mailstage/mailstage.conf" <<EOF
hostname = $HOST
domain = example.com
ipv4 = $SRV4
rbl =
port25_probe = $SRV4:25
tls_acme = yes
acme_directory = $DIR_URL
acme_email = postmaster@example.com
acme_ca_file = /etc/mailstage/pebble-ca.pem
EOF
CRT=$R/etc/ssl/certs/$HOST.crt
KEY=$R/etc/ssl/private/$HOST.key
ACCT=$R/var/lib/mailstage/acme/account.key
msa() { mn_in srv "${MS_WRAP[@]}" "$MAILSTAGE_TESTBIN" --root "$R" "${SCRATCH[@]}" "$@"; }

# ---- tls_acme with tls_cert: a configuration error ----
cp "$R/etc/mailstage/mailstage.conf" "$T/bad.conf"
printf 'tls_cert = /etc/x.crt\ntls_key = /etc/x.key\n' >>"$T/bad.conf"
rc=0
mst --root "$R" -c "$T/bad.conf" plan >"$T/bad.out" 2>&1 || rc=$?
[ $rc -eq 78 ] || { cat "$T/bad.out"; die "tls_acme with tls_cert exited $rc, expected 78"; }
grep -q "tls_acme = yes and tls_cert" "$T/bad.out" || { cat "$T/bad.out"; die "no message for tls_acme with tls_cert"; }
ok "tls_acme with tls_cert: configuration error, exit 78"

# ---- plan ----
rc=0
msa plan >"$T/plan.out" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/plan.out"; die "plan exited $rc, expected 2 (changes pending)"; }
grep -q "obtain certificate for $HOST from $DIR_URL" "$T/plan.out" || { cat "$T/plan.out"; die "plan does not show the ACME order"; }
[ ! -e "$CRT" ] || die "plan wrote $CRT"
ok "plan: $(grep -o "obtain certificate for [^;]*" "$T/plan.out")"

# ---- first issuance ----
msa apply >"$T/apply1.out" 2>&1 || { cat "$T/apply1.out"; tail -20 "$T/pebble.log"; die "first apply failed"; }
[ -s "$CRT" ] || die "no certificate"
[ "$(stat -c %a "$KEY")" = 600 ] || die "key mode $(stat -c %a "$KEY")"
[ "$(stat -c %a "$ACCT")" = 600 ] || die "account key mode $(stat -c %a "$ACCT")"
openssl pkey -in "$ACCT" -noout -text 2>/dev/null | grep -q "prime256v1\|P-256" || die "account key is not P-256"
mn_in acme curl -sS --cacert "$T/pebble.crt" https://$ACME4:15000/roots/0 >"$T/root.pem"
grep -q "BEGIN CERTIFICATE" "$T/root.pem" || die "no pebble root"
openssl verify -CAfile "$T/root.pem" -untrusted "$CRT" "$CRT" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; die "the chain does not verify"; }
ok "openssl verify: $(cat "$T/verify.out")"
openssl x509 -in "$CRT" -noout -ext subjectAltName | grep -q "DNS:$HOST" || die "hostname not in the SAN"
[ "$(openssl x509 -in "$CRT" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$KEY" -pubout | openssl sha256)" ] || die "key does not match"
ok "first issuance: $(openssl x509 -in "$CRT" -noout -issuer -enddate | paste -sd' ')"
! mn_in srv ss -Hltn "sport = :80" | grep -q . || die "something still listens on port 80 after apply"
ok "the http-01 listener is gone after apply"

# Postfix serves it
mn_mail_start srv "$R"
echo QUIT | mn_in srv timeout 20 openssl s_client -starttls smtp -connect $SRV4:25 -servername $HOST \
	-CAfile "$T/root.pem" -verify_hostname $HOST -verify_return_error >"$T/sclient.out" 2>&1 ||
	{ cat "$T/sclient.out"; die "s_client -starttls smtp failed"; }
grep -q "Verify return code: 0 (ok)" "$T/sclient.out" || { cat "$T/sclient.out"; die "Postfix's chain does not verify"; }
ok "openssl s_client -starttls smtp: $(grep -E '^(depth|verify return)|Verify return code' "$T/sclient.out" | paste -sd' ')"
# verify judges the served chain against acme_ca_file (not as self-signed)
msa verify --resolver $DNS4:53 >"$T/verify.out" 2>&1 || true
grep -Eq "^  ok +TLS served on 25 +verifies for $HOST against acme_ca_file /etc/mailstage/pebble-ca.pem" "$T/verify.out" ||
	{ grep -A1 'TLS served' "$T/verify.out"; die "verify does not verify the served ACME chain against acme_ca_file"; }
ok "verify: $(grep -E '^  ok +TLS served on 25' "$T/verify.out" | sed 's/  */ /g')"
mn_in srv postfix stop >/dev/null 2>&1 || true

# ---- converged ----
sha() { sha256sum "$CRT" "$KEY" | awk '{print $1}' | paste -sd' '; }
before=$(sha)
msa apply >"$T/apply2.out" 2>&1 || { cat "$T/apply2.out"; die "second apply failed"; }
[ "$(sha)" = "$before" ] || die "a converged apply changed the pair"
ok "second apply: pair unchanged"

# ---- renewal: 20 days before expiry ----
na=$(date -d "$(openssl x509 -in "$CRT" -noout -enddate | cut -d= -f2)" +%s)
export MAILSTAGE_TEST_NOW=$((na - 20 * 86400))
rc=0
msa plan >"$T/plan2.out" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/plan2.out"; die "renewal plan exited $rc, expected 2"; }
grep -q "renew certificate for $HOST from $DIR_URL" "$T/plan2.out" || { cat "$T/plan2.out"; die "plan does not show the renewal"; }
old_serial=$(openssl x509 -in "$CRT" -noout -serial)
msa apply >"$T/apply3.out" 2>&1 || { cat "$T/apply3.out"; die "renewal apply failed"; }
[ "$(openssl x509 -in "$CRT" -noout -serial)" != "$old_serial" ] || die "renewal kept the old certificate"
[ "$(sha)" != "$before" ] || die "renewal did not change the pair"
openssl verify -CAfile "$T/root.pem" -untrusted "$CRT" "$CRT" >/dev/null 2>&1 || die "the renewed chain does not verify"
ok "renewal at 20 days left: $old_serial -> $(openssl x509 -in "$CRT" -noout -serial)"

# ---- a challenge that cannot be reached ----
na=$(date -d "$(openssl x509 -in "$CRT" -noout -enddate | cut -d= -f2)" +%s)
export MAILSTAGE_TEST_NOW=$((na - 20 * 86400))
set_a $ELSE4 2
before=$(sha)
msa apply >"$T/apply4.out" 2>&1 || { cat "$T/apply4.out"; die "a failed renewal with 20 days left failed the run"; }
[ "$(sha)" = "$before" ] || die "a failed renewal changed the pair"
grep -q "renewing the certificate for $HOST failed" "$T/apply4.out" || { cat "$T/apply4.out"; die "no warning for the failed renewal"; }
grep -q "port 80" "$T/apply4.out" || { cat "$T/apply4.out"; die "the warning gives no fix"; }
ok "unreachable challenge, 20 days left: pair kept, run ok: $(grep -o 'renewing the certificate.*' "$T/apply4.out" | cut -c1-400)"
export MAILSTAGE_TEST_NOW=$((na - 3 * 86400))
rc=0
msa apply >"$T/apply5.out" 2>&1 || rc=$?
[ $rc -ne 0 ] || { cat "$T/apply5.out"; die "a failed renewal 3 days before expiry did not fail the run"; }
[ "$(sha)" = "$before" ] || die "a failed apply changed the pair"
grep -q "no certificate for $HOST" "$T/apply5.out" || { cat "$T/apply5.out"; die "no message for the failed order"; }
ok "unreachable challenge, 3 days left: exit $rc, pair byte-identical"
set_a $SRV4 3

# ---- a server error mid-order: finalize answers 500 serverInternal ----
# (tests/lib/acme-fault.py in front of pebble: account, order, authorization
# and challenge are real; 3 days left, so the failure fails the run)
export MAILSTAGE_TEST_NOW=$((na - 3 * 86400))
mn_bg acme "$T/fault.log" "$MN_PY" "$MAILSTAGE_SRC/tests/lib/acme-fault.py" $ACME4 14001 "$T/pebble.crt" \
	"$T/pebble.key" https://$ACME4:14000 "$T/pebble.crt" --fail-finalize
mn_wait_port acme 14001
sed -i "s|^acme_directory = .*|acme_directory = https://$ACME4:14001/dir|" "$R/etc/mailstage/mailstage.conf"
acct_before=$(sha256sum "$ACCT")
rc=0
msa apply >"$T/apply6.out" 2>&1 || rc=$?
[ $rc -eq 3 ] || { cat "$T/apply6.out" "$T/fault.log"; die "a server error mid-order exited $rc, expected 3 (rolled back)"; }
[ "$(sha)" = "$before" ] || die "a failed order changed the pair"
[ "$(sha256sum "$ACCT")" = "$acct_before" ] || die "a failed order changed the account key"
grep -q "serverInternal: injected fault" "$T/apply6.out" || { cat "$T/apply6.out"; die "the server's error is not shown"; }
grep -q "POST /finalize-order/" "$T/fault.log" || die "the order never reached finalize"
ok "server error at finalize: exit $rc, pair byte-identical: $(grep -o 'no certificate.*' "$T/apply6.out" | head -1)"
sed -i "s|^acme_directory = .*|acme_directory = $DIR_URL|" "$R/etc/mailstage/mailstage.conf"

# ---- the http-01 window in firewalld ----
saved_na=$na saved_now=$MAILSTAGE_TEST_NOW
# firewalld and its D-Bus run inside srv's network and mount namespaces
# (private /run, /etc an overlay: the host's firewalld, bus and nftables are
# never touched); mailstage's state for --root / is a private directory.
made_state=""
[ -d /var/lib/mailstage ] || { mkdir -p /var/lib/mailstage; made_state=1; }
prev_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
# shellcheck disable=SC2064
trap "$prev_trap; [ -z \"$made_state\" ] || rmdir /var/lib/mailstage 2>/dev/null || true" EXIT
mkdir -p "$T/fwstate"
mn_in srv mount --bind "$T/fwstate" /var/lib/mailstage
mn_in srv mkdir -p /run/dbus /run/firewalld
# the system bus without its user switch and with an open policy: srv's
# /etc/passwd is the scratch root's (mn_mail_start), which has no messagebus
cat >"$T/bus.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/> <allow send_destination="*"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
mn_in srv dbus-daemon --config-file="$T/bus.conf" --fork --nopidfile
mn_bg srv "$T/firewalld.out" firewalld --nofork --nopid --log-target file --log-file "$T/firewalld.log"
for _ in $(seq 1 300); do
	[ "$(mn_in srv firewall-cmd --state 2>/dev/null)" = running ] && break
	sleep 0.1
done
[ "$(mn_in srv firewall-cmd --state 2>/dev/null)" = running ] || { tail "$T/firewalld.log" "$T/firewalld.out"; die "firewalld does not run in srv"; }
fw_pid=$(for p in $(ip netns pids "$MN_ID-srv"); do [ "$(cat /proc/$p/comm)" = firewalld ] && echo "$p"; done)
rt_services() { mn_in srv firewall-cmd --list-services; }
pm_services() { mn_in srv firewall-cmd --permanent --list-services; }
has_http() { rt_services | tr ' ' '\n' | grep -qx http; }
zone_of=$(mn_in srv firewall-cmd --get-default-zone)
rt0=$(rt_services) pm0=$(pm_services)
has_http && die "srv's firewalld zone $zone_of already has http"
mn_in srv nft list table inet firewalld >/dev/null || die "firewalld's nftables table is not in srv's namespace"
ok "firewalld in srv: zone $zone_of, runtime [$rt0], nftables table inet firewalld"

# without the window (--root R: not the running host, firewalld untouched) the CA cannot reach port 80
rc=0
msa apply >"$T/fw-noroot.out" 2>&1 || rc=$?
[ $rc -ne 0 ] || { cat "$T/fw-noroot.out"; die "with firewalld closing port 80 the order succeeded"; }
[ "$(sha)" = "$before" ] || die "a failed order changed the pair"
grep -q "no certificate for $HOST" "$T/fw-noroot.out" || { cat "$T/fw-noroot.out"; die "no message for the blocked challenge"; }
grep -q "open firewalld service" "$T/fw-noroot.out" && die "--root R opened the host's firewalld"
ok "no window (--root R): pebble's validation fails: $(grep -o 'no certificate.*' "$T/fw-noroot.out" | head -1 | cut -c1-300)"
unset MAILSTAGE_TEST_NOW

# --root / inside srv: its /etc overlay, the certificate under /etc/ssl (the
# scratch root's, mounted there for Postfix above, is taken away first)
mn_in srv umount /etc/ssl
mn_in srv test ! -e "/etc/ssl/certs/$HOST.crt" || die "srv's /etc/ssl already has a certificate for $HOST"
sed -e '/^acme_ca_file/d' -e "s|^acme_directory = .*|acme_directory = $DIR_URL|" "$R/etc/mailstage/mailstage.conf" >"$T/fw.conf"
echo "acme_ca_file = $R/etc/mailstage/pebble-ca.pem" >>"$T/fw.conf"
FWC=/etc/ssl/certs/$HOST.crt FWK=/etc/ssl/private/$HOST.key
msh() { mn_in srv "${MS_WRAP[@]}" "$MAILSTAGE_TESTBIN" --root / -c "$T/fw.conf" --only tls "$@"; }
fsha() { mn_in srv sha256sum "$FWC" "$FWK" 2>/dev/null | awk '{print $1}' | paste -sd' '; }
rc=0
msh plan >"$T/fw-plan.out" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/fw-plan.out"; die "plan exited $rc, expected 2"; }
grep -q "open firewalld service http in zone $zone_of (runtime) for the ACME http-01 challenge, closed after the order" "$T/fw-plan.out" ||
	{ cat "$T/fw-plan.out"; die "plan does not show the window"; }
grep -q "close firewalld service http in zone $zone_of (runtime)" "$T/fw-plan.out" || { cat "$T/fw-plan.out"; die "plan does not show the close"; }
has_http && die "plan opened http"
ok "plan: $(grep -o 'open firewalld service.*' "$T/fw-plan.out")"

# the window, watched from outside: is tcp dport 80 accepted in nftables? (one line per poll)
watch_start() {
	rm -f "$T/watch.stop"
	mn_bg srv "$T/watch.log" /bin/bash -c 'while [ ! -e "$1" ]; do
		if nft list table inet firewalld | grep -q "tcp dport 80 "; then s=1; else s=0; fi
		echo "$(date +%s%N) $s"; done' watch "$T/watch.stop"
}
watch_stop() {	# prints the ms tcp/80 was seen open (first to last sighting), or "never"
	touch "$T/watch.stop"
	sleep 0.3
	awk '$2 == 1 { if (!f) f = $1; l = $1 } END { if (f) printf "%d ms (%d polls)", (l - f) / 1000000, NR; else print "never" }' "$T/watch.log"
	rm -f "$T/watch.log"
}
watch_start
MAILSTAGE_HOOK_LOG=$T/hooks.log msh apply >"$T/fw-apply.out" 2>&1 ||
	{ watch_stop; cat "$T/fw-apply.out"; tail -20 "$T/pebble.log"; die "apply with the window failed"; }
seen=$(watch_stop)
mn_in srv openssl verify -CAfile "$T/root.pem" -untrusted "$FWC" "$FWC" >/dev/null 2>&1 || die "the certificate from the window does not verify"
has_http && die "http is still open after the order"
[ "$(rt_services)" = "$rt0" ] && [ "$(pm_services)" = "$pm0" ] || die "services after apply: runtime [$(rt_services)] permanent [$(pm_services)]"
grep -q "firewalld service http was open for [0-9]* ms" "$T/fw-apply.out" || { cat "$T/fw-apply.out"; die "no window figure"; }
[ "$seen" != never ] || die "nftables never accepted port 80 during the order"
ok "window: certificate issued, http closed after (runtime [$(rt_services)]); $(grep -o 'firewalld service http was open for [0-9]* ms' "$T/fw-apply.out"); nft saw tcp/80 accepted for $seen"
expect_rc 0 msh plan
ok "converged: plan has nothing to do"

# rollback of that run: the pair goes (there was none), the window stays shut
mn_in srv "${MS_WRAP[@]}" "$MAILSTAGE_TESTBIN" --root / rollback >"$T/fw-rb.out" 2>&1 || { cat "$T/fw-rb.out"; die "rollback failed"; }
mn_in srv test ! -e "$FWC" || die "rollback kept the certificate"
has_http && die "rollback opened http"
ok "rollback of the run: certificate removed, http still closed"

# a crash with the window open (SIGKILL at the key's write, after the order): rollback closes it
n=$(awk -v k="$FWK" '$3 == k {print $1; exit}' "$T/hooks.log")
[ -n "$n" ] || { cat "$T/hooks.log"; die "no mutation point for $FWK"; }
rc=0
MAILSTAGE_CRASH_AT=$n msh apply >"$T/fw-crash.out" 2>&1 || rc=$?
[ $rc -eq 137 ] || { cat "$T/fw-crash.out"; die "MAILSTAGE_CRASH_AT=$n exited $rc, expected 137"; }
has_http || die "the crash at point $n did not happen inside the window"
mn_in srv "${MS_WRAP[@]}" "$MAILSTAGE_TESTBIN" --root / rollback >"$T/fw-rb2.out" 2>&1 || { cat "$T/fw-rb2.out"; die "rollback of the crashed run failed"; }
has_http && die "rollback of the crashed run left http open"
mn_in srv test ! -e "$FWC" || die "rollback of the crashed run kept a certificate"
ok "crash inside the window (point $n): http open until \`mailstage rollback\`, which closes it"
msh apply >"$T/fw-apply2.out" 2>&1 || { cat "$T/fw-apply2.out"; die "apply after rollback failed"; }
has_http && die "http is still open after the second order"
ok "again: $(grep -o 'firewalld service http was open for [0-9]* ms' "$T/fw-apply2.out")"

# http (or 80/tcp) open already: nothing opened or closed
na=$(date -d "$(mn_in srv openssl x509 -in "$FWC" -noout -enddate | cut -d= -f2)" +%s)
export MAILSTAGE_TEST_NOW=$((na - 20 * 86400))
mn_in srv firewall-cmd -q --add-port=80/tcp
rc=0
msh plan >"$T/fw-plan2.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "renew certificate" "$T/fw-plan2.out" || { cat "$T/fw-plan2.out"; die "no renewal planned"; }
grep -q "firewalld service" "$T/fw-plan2.out" && { cat "$T/fw-plan2.out"; die "80/tcp open, and still a window"; }
mn_in srv firewall-cmd -q --remove-port=80/tcp
mn_in srv firewall-cmd -q --add-service=http
msh apply >"$T/fw-open.out" 2>&1 || { cat "$T/fw-open.out"; die "renewal with http open failed"; }
grep -q "firewalld service" "$T/fw-open.out" && { cat "$T/fw-open.out"; die "http open, and still a window"; }
has_http || die "the run closed the http that was open before it"
mn_in srv firewall-cmd -q --remove-service=http
ok "http or 80/tcp open already: renewal without a window, http left open"

# finalize 500 mid-order: the run fails and rolls back, http closed, pair byte-identical
na=$(date -d "$(mn_in srv openssl x509 -in "$FWC" -noout -enddate | cut -d= -f2)" +%s)
export MAILSTAGE_TEST_NOW=$((na - 3 * 86400))
sed -i "s|^acme_directory = .*|acme_directory = https://$ACME4:14001/dir|" "$T/fw.conf"
fbefore=$(fsha)
: >"$T/fault.log"
rc=0
watch_start
msh apply >"$T/fw-fault.out" 2>&1 || rc=$?
seen=$(watch_stop)
[ $rc -eq 3 ] || { cat "$T/fw-fault.out"; die "finalize 500 with the window exited $rc, expected 3"; }
grep -q "POST /finalize-order/" "$T/fault.log" || die "the order never reached finalize (the challenge did not validate)"
[ "$(fsha)" = "$fbefore" ] || die "a failed order changed the pair"
has_http && die "http still open after the failed order"
[ "$(rt_services)" = "$rt0" ] || die "runtime services after the failed order: [$(rt_services)]"
ok "finalize 500: exit $rc, challenge validated through the window (nft saw tcp/80 accepted for $seen), closed by the rollback, pair byte-identical"
sed -i "s|^acme_directory = .*|acme_directory = $DIR_URL|" "$T/fw.conf"

# firewalld not answering (SIGSTOP): a renewal that can wait keeps the pair and warns; an urgent one fails
kill -STOP "$fw_pid"
export MAILSTAGE_TEST_NOW=$((na - 20 * 86400))
rc=0
msh apply >"$T/fw-stop1.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { kill -CONT "$fw_pid"; cat "$T/fw-stop1.out"; die "firewalld stopped, 20 days left: exit $rc"; }
grep -q "firewalld does not answer.*systemctl restart firewalld" "$T/fw-stop1.out" || { kill -CONT "$fw_pid"; cat "$T/fw-stop1.out"; die "no warning naming the fix"; }
export MAILSTAGE_TEST_NOW=$((na - 3 * 86400))
rc=0
msh apply >"$T/fw-stop2.out" 2>&1 || rc=$?
kill -CONT "$fw_pid"
[ $rc -ne 0 ] || { cat "$T/fw-stop2.out"; die "firewalld stopped, 3 days left: the run succeeded"; }
grep -q "firewalld does not answer.*systemctl restart firewalld" "$T/fw-stop2.out" || { cat "$T/fw-stop2.out"; die "no message naming the fix"; }
[ "$(fsha)" = "$fbefore" ] || die "firewalld not answering changed the pair"
has_http && die "http open after firewalld did not answer"
ok "firewalld not answering: 20 days left kept and warned, 3 days left exit $rc; $(grep -o 'firewalld does not answer.*' "$T/fw-stop2.out" | head -1 | cut -c1-300)"
# firewalld goes, and its rules with it (CleanupOnExit): the parts below run
# without a host firewall in srv, as the parts above did.
kill "$fw_pid"
for _ in $(seq 1 100); do kill -0 "$fw_pid" 2>/dev/null || break; sleep 0.1; done
mn_in srv nft list table inet firewalld >/dev/null 2>&1 && mn_in srv nft delete table inet firewalld
na=$saved_na
export MAILSTAGE_TEST_NOW=$saved_now

# ---- ACME Renewal Information (RFC 9773) ----
# Debian 12's pebble (2.4.0) has no renewalInfo: tests/lib/acme-fault.py --ari
# in front of it adds renewalInfo to the directory and serves the window this
# test writes to $T/ari.json; orders, challenges and certificates stay pebble's.
mn_bg acme "$T/ari.log" "$MN_PY" "$MAILSTAGE_SRC/tests/lib/acme-fault.py" $ACME4 14002 "$T/pebble.crt" \
	"$T/pebble.key" https://$ACME4:14000 "$T/pebble.crt" --ari "$T/ari.json"
mn_wait_port acme 14002
ARI_URL=https://$ACME4:14002/dir
sed -i "s|^acme_directory = .*|acme_directory = $ARI_URL|" "$R/etc/mailstage/mailstage.conf"
# The CertID of $CRT computed here, from openssl's text (not mailstage's code):
# base64url(AKI keyIdentifier) "." base64url(the serial's DER INTEGER content)
certid() {
	"$MN_PY" - "$(openssl x509 -in "$CRT" -noout -ext authorityKeyIdentifier | sed -n 2p)" \
		"$(openssl x509 -in "$CRT" -noout -serial)" <<-'EOF'
	import base64, sys
	aki = bytes.fromhex(sys.argv[1].strip().replace("keyid:", "").replace(":", ""))
	n = int(sys.argv[2].split("=", 1)[1], 16)
	b = n.to_bytes((n.bit_length() + 8) // 8, "big")  # minimal, a leading 0 when the high bit is set
	e = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
	print(e(aki) + "." + e(b))
	EOF
}
window() {	# START END (epoch seconds) into $T/ari.json
	printf '{"suggestedWindow":{"start":"%s","end":"%s"}}\n' "$(date -u -d @"$1" +%FT%TZ)" \
		"$(date -u -d @"$2" +%FT%TZ)" >"$T/ari.json"
}
na=$(date -d "$(openssl x509 -in "$CRT" -noout -enddate | cut -d= -f2)" +%s)
id=$(certid)
[ -n "$id" ] || die "no CertID for $CRT (no Authority Key Identifier?)"
# the window later than the 30-day rule: 20 days left, the window opens in 5 days: nothing to do
export MAILSTAGE_TEST_NOW=$((na - 20 * 86400))
window $((MAILSTAGE_TEST_NOW + 5 * 86400)) $((MAILSTAGE_TEST_NOW + 6 * 86400))
rc=0
msa --only tls plan >"$T/ari1.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat "$T/ari1.out" "$T/ari.log"; die "ARI window in 5 days, 20 days left: plan exited $rc, expected 0"; }
grep -q "ari: GET $id\$" "$T/ari.log" || { cat "$T/ari.log"; die "mailstage did not ask for renewalInfo/$id"; }
grep -q "renewal window (ARI) is" "$T/ari1.out" || { cat "$T/ari1.out"; die "plan does not say that ARI postpones the renewal"; }
ok "ARI window in 5 days, 20 days left: no renewal (CertID $id): $(grep -o 'the certificate has fewer.*' "$T/ari1.out")"
# the window open while more than 30 days are left: renewal, the order replaces the certificate
export MAILSTAGE_TEST_NOW=$((na - 50 * 86400))
window $((MAILSTAGE_TEST_NOW - 2 * 86400)) $((MAILSTAGE_TEST_NOW - 86400))
rc=0
msa --only tls plan >"$T/ari2.out" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/ari2.out"; die "ARI window open, 50 days left: plan exited $rc, expected 2"; }
grep -q "renew certificate for $HOST from $ARI_URL: the CA's renewal window (ARI) opened" "$T/ari2.out" ||
	{ cat "$T/ari2.out"; die "plan does not say the ARI window opened"; }
old_serial=$(openssl x509 -in "$CRT" -noout -serial)
msa apply >"$T/ari3.out" 2>&1 || { cat "$T/ari3.out" "$T/ari.log"; die "ARI renewal apply failed"; }
[ "$(openssl x509 -in "$CRT" -noout -serial)" != "$old_serial" ] || die "the ARI renewal kept the old certificate"
grep -q "ari: newOrder replaces=$id\$" "$T/ari.log" || { cat "$T/ari.log"; die "the new order does not say it replaces $id"; }
openssl verify -CAfile "$T/root.pem" -untrusted "$CRT" "$CRT" >/dev/null 2>&1 || die "the ARI-renewed chain does not verify"
ok "ARI window open, 50 days left: renewed, newOrder replaces=$id: $(grep -o 'renew certificate for [^;]*' "$T/ari2.out" | head -1 | cut -c1-200)"
# renewalInfo failing: the 30-day rule, with a note
na=$(date -d "$(openssl x509 -in "$CRT" -noout -enddate | cut -d= -f2)" +%s)
echo 500 >"$T/ari.json"
export MAILSTAGE_TEST_NOW=$((na - 50 * 86400))
rc=0
msa --only tls plan >"$T/ari4.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { cat "$T/ari4.out"; die "renewalInfo failing, 50 days left: plan exited $rc, expected 0"; }
grep -q "renewal information of $ARI_URL could not be read" "$T/ari4.out" || { cat "$T/ari4.out"; die "no note for the failed renewalInfo"; }
export MAILSTAGE_TEST_NOW=$((na - 20 * 86400))
rc=0
msa --only tls plan >"$T/ari5.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "renew certificate for $HOST from $ARI_URL: fewer than 30 days left" "$T/ari5.out" ||
	{ cat "$T/ari5.out"; die "renewalInfo failing, 20 days left: plan exited $rc, no renewal by the 30-day rule"; }
ok "renewalInfo answering 500: the 30-day rule (50 days: nothing; 20 days: renewal): $(grep -o 'the renewal information.*' "$T/ari5.out" | head -1 | cut -c1-200)"
# within 7 days of expiry the CA is not asked
window $((na + 86400)) $((na + 2 * 86400))
asked=$(grep -c "^ari: GET" "$T/ari.log")
export MAILSTAGE_TEST_NOW=$((na - 3 * 86400))
rc=0
msa --only tls plan >"$T/ari6.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "renew certificate for $HOST from $ARI_URL: it expires within 7 days" "$T/ari6.out" ||
	{ cat "$T/ari6.out"; die "3 days left: plan exited $rc, no urgent renewal"; }
[ "$(grep -c "^ari: GET" "$T/ari.log")" = "$asked" ] || die "3 days before expiry mailstage still asked for renewalInfo"
ok "3 days left: renewal without asking renewalInfo"
sed -i "s|^acme_directory = .*|acme_directory = $DIR_URL|" "$R/etc/mailstage/mailstage.conf"
before=$(sha)

# ---- the ACME server down ----
pebble_stop
rc=0
msa apply >"$T/apply7.out" 2>&1 || rc=$?
[ $rc -eq 3 ] || { cat "$T/apply7.out"; die "apply without the ACME server exited $rc, expected 3"; }
[ "$(sha)" = "$before" ] || die "a failed order changed the pair"
ok "ACME server down: exit $rc, pair byte-identical: $(grep -o 'no certificate.*' "$T/apply7.out" | head -1)"
unset MAILSTAGE_TEST_NOW
