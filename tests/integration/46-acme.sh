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
# Requires: pebble, nsd, openssl, curl, postfix (tests/deps test).
. "$(dirname "$0")/lib.sh"
. "$MAILSTAGE_SRC/tests/lib/mailnet.sh"
for p in pebble nsd openssl curl; do
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
