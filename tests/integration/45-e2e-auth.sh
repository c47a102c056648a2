#!/bin/bash
# 45-e2e-auth.sh - `make check-e2e`: mail from a server `mailstage apply`
# configured, judged by real receivers (tests/lib/e2e.sh: nsd serving the
# zone `mailstage dns --format zone` printed; the sender dual-stack with this
# machine's Postfix 3.7, OpenDKIM 2.11 and saslauthd started from the applied
# debian12 root; receivers = Postfix + postfix-policyd-spf-python + OpenDKIM
# in verify mode + OpenDMARC, one reached over IPv4, one whose MX has only an
# AAAA record).  Asserted on the stored messages' Authentication-Results,
# written by the receivers:
#   - spf=pass, dkim=pass header.d=example.com, dmarc=pass for every route:
#     to the IPv4 and to the IPv6 receiver, each submitted on 587 with
#     STARTTLS and AUTH from a remote client, through `mailstage verify
#     --send-test --auth` (libcurl, 587 on the server itself), and through
#     `sendmail`;
#   - `mailstage verify --resolver` against the test's nsd: every DNS check
#     ok (A, AAAA, MX, SPF for both addresses, DKIM, DMARC, PTR of both
#     addresses forward-confirmed); the whole report is printed;
#   - the "sender requirements" group of that report (Gmail, Yahoo, Outlook
#     high-volume): every check ok and the summary "meets the requirements for
#     bulk senders" with the List-Unsubscribe caveat; the message format check
#     ok on the --send-test runs and deferred to --send-test without it;
#   - negatives: with the DKIM record removed from the zone, the receiver's
#     DKIM verdict is no longer pass and verify fails on the DKIM record
#     (the sender group then warns on SPF and DKIM, and its summary falls to
#     "all senders");
#     an unauthenticated outside client cannot relay (25 and 587); 587 does
#     not offer AUTH before STARTTLS;
#   - port 25 hardening (E8): no AUTH on 25 even after STARTTLS, VRFY refused
#     (502 5.5.1), TLS 1.0/1.1 accepted on 25 but refused on 587 and 465
#     (see that section for the OpenSSL 3 security level).
# Not here: EL7 (Postfix 2.10, EPEL's OpenDKIM with libresolv): no CentOS 7
# host can run here; the el7 configuration is checked by the golden plans.
. "$(dirname "$0")/lib.sh"
E2E_MS=$MAILSTAGE_BIN
E2E_DIR=$T/e2e
. "$MAILSTAGE_SRC/tests/lib/e2e.sh"
e2e_fail() { die "$*"; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

e2e_up
grep -q '"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ' "$E2E_DIR/example.com.zone" ||
	die "the zone's SPF record does not list both addresses: $(grep spf1 "$E2E_DIR/example.com.zone")"

# ---- the messages: 3 routes to each receiver ----
t0=$(now)
declare -A MSG=()
rc=0
e2e_submit client --port 587 --starttls --auth "$E2E_USER:$E2E_PASS" --subject "e2e 587 v4" $E2E_SRV4 \
	alice@example.com bob@example.net >"$T/sub4.out" 2>&1 || rc=$?
cat "$T/sub4.out"
[ $rc -eq 0 ] || die "authenticated submission on 587 (to example.net) failed"
grep '^ehlo-before-tls:' "$T/sub4.out" | grep -q STARTTLS || die "587 does not offer STARTTLS"
grep '^ehlo-before-tls:' "$T/sub4.out" | grep -qw AUTH && die "587 offers AUTH before STARTTLS"
grep '^ehlo:' "$T/sub4.out" | grep -qw AUTH || die "587 does not offer AUTH after STARTTLS"
ok "587: AUTH not offered before STARTTLS, offered after it: $(sed -n 's/^ehlo-before-tls: 250 //p' "$T/sub4.out")"
e2e_submit client --port 587 --starttls --auth "$E2E_USER:$E2E_PASS" --subject "e2e 587 v6" $E2E_SRV4 \
	alice@example.com carol@example.org >"$T/sub6.out" 2>&1 || die "587 to example.org failed: $(cat "$T/sub6.out")"
e2e_sendmail bob@example.net "e2e sendmail v4" || die "sendmail to example.net failed"
e2e_sendmail carol@example.org "e2e sendmail v6" || die "sendmail to example.org failed"
MSG[587-v4]=$(e2e_wait mx4 "e2e 587 v4 1")
MSG[587-v6]=$(e2e_wait mx6 "e2e 587 v6 1")
MSG[sendmail-v4]=$(e2e_wait mx4 "e2e sendmail v4")
MSG[sendmail-v6]=$(e2e_wait mx6 "e2e sendmail v6")
# verify --send-test: the server's own libcurl submission on 587 (STARTTLS, AUTH).
for rx in v4:bob@example.net v6:carol@example.org; do
	rc=0
	e2e_verify --send-test "${rx#*:}" --auth "$E2E_DIR/auth" || rc=$?
	grep -E '^ *(ok|WARN|FAIL) +(test message|DKIM signature logged)' "$E2E_DIR/verify.out"
	grep -Eq '^ *ok +test message +queued as [0-9A-F]+' "$E2E_DIR/verify.out" ||
		die "verify --send-test ${rx#*:}: $(cat "$E2E_DIR/verify.out")"
	grep -Eq '^ *ok +DKIM signature logged' "$E2E_DIR/verify.out" ||
		die "verify --send-test did not see OpenDKIM sign its message: $(grep -A2 'DKIM signature' "$E2E_DIR/verify.out")"
	grep -Eq '^  ok +message format +the test message, with Date and Message-ID, was accepted$' "$E2E_DIR/verify.out" ||
		die "verify --send-test: no ok message format check: $(grep -A2 'message format' "$E2E_DIR/verify.out")"
	[ "${rx%%:*}" = v4 ] && h=mx4 || h=mx6
	MSG[verify-${rx%%:*}]=$(e2e_wait $h "mailstage verify test")
done
echo "6 messages delivered: $(took "$t0")"

# ---- the receivers' verdicts ----
for route in 587-v4 sendmail-v4 verify-v4 587-v6 sendmail-v6 verify-v6; do
	f=${MSG[$route]}
	case $route in *v4) mx=mx.example.net peer=$E2E_SRV4 ;; *) mx=mx.example.org peer=$E2E_SRV6 ;; esac
	echo "--- $route: $(e2e_verdict "$f")"
	e2e_ar "$f" | tee "$T/ar"
	# The route: the receiver's own Received line names the sender's address.
	grep -Eq "^Received: from mail\.example\.com \(mail\.example\.com \[(IPv6:)?$peer\]\)" "$f" ||
		die "$route: not received from [$peer]: $(grep -m1 -A1 '^Received:' "$f")"
	grep -Eq "^Authentication-Results: $mx;.* spf=pass .*smtp\.mailfrom=([^ ;]*@)?example\.com[ ;]" "$T/ar" ||
		die "$route: the receiver's SPF verdict is not pass"
	grep -Eq "^Authentication-Results: $mx;.* dkim=pass .*header\.d=example\.com" "$T/ar" ||
		die "$route: the receiver's DKIM verdict is not pass with header.d=example.com"
	grep -Eq "^Authentication-Results: $mx;.* dmarc=pass .*header\.from=example\.com" "$T/ar" ||
		die "$route: the receiver's DMARC verdict is not pass"
	ok "$route: spf=pass dkim=pass (header.d=example.com) dmarc=pass at $mx, received from [$peer]"
done

# ---- verify against the test's DNS server ----
rc=0
e2e_verify || rc=$?
echo "--- mailstage verify --resolver $E2E_DNS4:53 (exit $rc)"
cat "$E2E_DIR/verify.out"
dnsl=$(sed -n '/^dns$/,/^$/p' "$E2E_DIR/verify.out" | grep -E '^  (ok|WARN|FAIL) ' || true)
[ -n "$dnsl" ] || die "verify printed no DNS checks"
printf '%s\n' "$dnsl" | grep -v '^  ok ' && die "verify: a DNS check is not ok against the test's nsd"
for c in "A mail.example.com" "AAAA mail.example.com" "MX" "SPF authorises $E2E_SRV4" \
	"SPF authorises $E2E_SRV6" "DKIM record" "DMARC record" "PTR $E2E_SRV4" "PTR $E2E_SRV6"; do
	printf '%s\n' "$dnsl" | grep -q "^  ok    $c " || die "verify has no ok check \"$c\""
done
printf '%s\n' "$dnsl" | grep 'PTR' | grep -vq 'forward-confirmed' && die "a PTR is not forward-confirmed"
grep -Eq '^  ok +outbound port 25 +connected to 198\.51\.100\.25:25' "$E2E_DIR/verify.out" ||
	die "verify's port 25 probe did not reach the receiver"
[ $rc -eq 0 ] || die "verify exited $rc with every DNS check ok: $(grep FAIL "$E2E_DIR/verify.out")"
ok "verify: $(printf '%s\n' "$dnsl" | wc -l) DNS checks, all ok; exit 0"
# The certificate as clients see it: Postfix serves the file's very
# certificate on 25, 465 and 587, and verify says it is self-signed.  Then the
# file is replaced (a renewal) while Postfix keeps the old one loaded: verify
# fails on each port until `postfix reload`.
for port in 25 465 587; do
	grep -Eq "^  WARN +TLS served on $port +the self-signed certificate for mail\.example\.com; mail clients will warn\$" \
		"$E2E_DIR/verify.out" || die "verify: no self-signed finding for port $port: $(grep 'TLS served' "$E2E_DIR/verify.out")"
done
crt=$E2E_ROOT/etc/ssl/certs/mail.example.com.crt
cp -p "$crt" "$T/old.crt"
openssl req -x509 -new -key "$E2E_ROOT/etc/ssl/private/mail.example.com.key" -subj /CN=mail.example.com \
	-addext subjectAltName=DNS:mail.example.com -days 400 -out "$crt.new" 2>/dev/null || die "openssl req failed"
chmod 0644 "$crt.new" && mv "$crt.new" "$crt"
rc=0
e2e_verify || rc=$?
[ $rc -eq 1 ] || die "verify exited $rc while Postfix serves an older certificate, expected 1"
[ "$(grep -Ec '^  FAIL +TLS served on (25|465|587) +another certificate than the one in the certificate file$' \
	"$E2E_DIR/verify.out")" = 3 ] || die "verify does not see the older served certificate: $(grep -A1 'TLS served' "$E2E_DIR/verify.out")"
grep -A1 'TLS served on 25' "$E2E_DIR/verify.out"
mn_in srv postfix reload >/dev/null 2>&1 || die "postfix reload failed"
sleep 1
rc=0
e2e_verify || rc=$?
[ $rc -eq 0 ] || die "verify exited $rc after postfix reload: $(grep FAIL "$E2E_DIR/verify.out")"
[ "$(grep -Ec '^  WARN +TLS served on (25|465|587) +the self-signed certificate' "$E2E_DIR/verify.out")" = 3 ] ||
	die "after postfix reload, verify does not see the new certificate served: $(grep 'TLS served' "$E2E_DIR/verify.out")"
ok "verify: Postfix serves the certificate file on 25, 465, 587 (self-signed: WARN); an older one still served after a renewal: FAIL on each until postfix reload"
# The sender requirements: every check ok in this setup (both PTRs
# forward-confirmed, SPF and DKIM pass for example.com, DMARC p=quarantine with a
# rua, a 2048-bit key, smtp_tls_security_level = may, HELO mail.example.com
# resolving to the server), the message format left to --send-test.
grep -Eq '^  ok +DMARC pass rate \(7 days\) +no reports yet' "$E2E_DIR/verify.out" ||
	die "verify: no informational DMARC pass rate line: $(grep -A2 'DMARC pass rate' "$E2E_DIR/verify.out")"
srl=$(sed -n '/^sender requirements$/,/^$/p' "$E2E_DIR/verify.out" | grep -E '^  (ok|WARN|FAIL) ' || true)
[ -n "$srl" ] || die "verify printed no sender requirements group"
printf '%s\n' "$srl" | grep -v '^  ok ' && die "verify: a sender requirement is not ok in the e2e setup"
for c in "forward-confirmed PTR +$E2E_SRV4: mail.example.com \(forward-confirmed\); $E2E_SRV6: mail.example.com" \
	"SPF and DKIM aligned +SPF passes, DKIM passes; both for example.com" \
	"DMARC p= and rua +v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com" "DKIM key size +2048-bit RSA key" \
	"TLS outbound +smtp_tls_security_level = may" "HELO name +HELO mail.example.com resolves to $E2E_SRV4" \
	"message format +checked with --send-test ADDRESS" \
	"summary +meets the requirements for bulk senders \(Gmail 5,000\+/day, Yahoo, Outlook high-volume\) \(message format: with --send-test\); bulk senders must also send List-Unsubscribe and List-Unsubscribe-Post with one-click unsubscribe \(RFC 8058\)"; do
	printf '%s\n' "$srl" | grep -Eq "^  ok    $c" || die "verify has no ok sender requirement matching \"$c\""
done
[ "$(printf '%s\n' "$srl" | wc -l)" = 8 ] || die "the sender requirements group has not 8 lines: $srl"
ok "verify: sender requirements, 7 checks and the summary ok: $(printf '%s\n' "$srl" | tail -1 | sed 's/^  ok *summary *//; s/;.*//')"

# ---- negatives ----
# An unauthenticated client on the outside cannot relay, on 25 nor on 587.
rc=0
e2e_submit outsider $E2E_SRV4 mallory@example.net victim@example.org >"$T/relay.out" 2>&1 || rc=$?
grep -q '^rcpt 1: 5[0-9][0-9] .*Relay access denied' "$T/relay.out" ||
	die "an unauthenticated client could relay on 25: $(cat "$T/relay.out")"
rc=0
e2e_submit outsider --port 587 --starttls $E2E_SRV4 mallory@example.net victim@example.org >"$T/relay587.out" 2>&1 || rc=$?
grep -Eq '^(rcpt|mail|refused) 1: 5[0-9][0-9] ' "$T/relay587.out" || die "587 accepted mail without AUTH: $(cat "$T/relay587.out")"
grep '^ehlo-before-tls:' "$T/relay587.out" | grep -qw AUTH && die "587 offered AUTH before STARTTLS to the outsider"
ok "outsider: relay refused on 25 ($(sed -n 's/^rcpt 1: //p' "$T/relay.out")) and on 587 ($(grep -Eo '^(rcpt|mail|refused) 1: .*' "$T/relay587.out" | cut -d' ' -f3-))"

# Port 25 (E8): no AUTH there even after STARTTLS (SASL is enabled on 587 and
# 465 only; 587 offers it after STARTTLS, checked above), and VRFY refused.
rc=0
e2e_submit outsider --starttls $E2E_SRV4 mallory@example.net victim@example.org >"$T/tls25.out" 2>&1 || rc=$?
grep -q '^ehlo: 250 ' "$T/tls25.out" || die "no EHLO answer after STARTTLS on 25: $(cat "$T/tls25.out")"
grep '^ehlo:' "$T/tls25.out" | grep -qw AUTH && die "25 offers AUTH after STARTTLS: $(grep '^ehlo:' "$T/tls25.out")"
grep '^ehlo-before-tls:' "$T/tls25.out" | grep -qw AUTH && die "25 offers AUTH before STARTTLS"
mn_in outsider "$MN_PY" -c 'import smtplib, sys
s = smtplib.SMTP(sys.argv[1], 25, local_hostname="outsider.example.net", timeout=30)
s.ehlo()
code, msg = s.verify("root")
print(code, msg.decode())
s.quit()' $E2E_SRV4 >"$T/vrfy.out" 2>&1 || die "VRFY session on 25 failed: $(cat "$T/vrfy.out")"
grep -qx '502 5.5.1 VRFY command is disabled' "$T/vrfy.out" || die "VRFY on 25 is not refused: $(cat "$T/vrfy.out")"
ok "25: no AUTH after STARTTLS ($(sed -n 's/^ehlo: 250 //p' "$T/tls25.out")); VRFY: $(cat "$T/vrfy.out")"

# The DKIM record removed from the zone: the receiver no longer passes DKIM,
# and verify names the DNS mismatch.
e2e_zone_drop_dkim
e2e_sendmail bob@example.net "e2e no dkim record" || die "sendmail failed"
f=$(e2e_wait mx4 "e2e no dkim record")
echo "--- without the DKIM record: $(e2e_verdict "$f")"
e2e_ar "$f" | tee "$T/ar"
grep -Eq '^Authentication-Results: mx\.example\.net;.* dkim=' "$T/ar" || die "the receiver wrote no DKIM verdict"
grep -Eq '^Authentication-Results: mx\.example\.net;.* dkim=pass' "$T/ar" &&
	die "the receiver still says dkim=pass without the DKIM record"
grep -q 'DKIM-Signature:' "$f" || die "the message was not signed (the negative would prove nothing)"
rc=0
e2e_verify || rc=$?
grep -E '^  (ok|WARN|FAIL) +DKIM record' -A2 "$E2E_DIR/verify.out"
[ $rc -eq 1 ] || die "verify exited $rc with the DKIM record missing, expected 1"
grep -Eq '^  FAIL +DKIM record +no such record' "$E2E_DIR/verify.out" || die "verify does not fail on the DKIM record"
[ "$(grep -c '^  FAIL' "$E2E_DIR/verify.out")" = 1 ] || die "verify fails on more than the DKIM record: $(grep FAIL "$E2E_DIR/verify.out")"
grep -Eq '^  WARN +SPF and DKIM aligned +SPF passes, DKIM fails' "$E2E_DIR/verify.out" ||
	die "without the DKIM record, the sender group does not warn on SPF and DKIM: $(grep -A2 'aligned' "$E2E_DIR/verify.out")"
grep -Eq '^  ok +summary +meets the requirements for all senders, not yet those for bulk senders' "$E2E_DIR/verify.out" ||
	die "without the DKIM record, the summary is not \"all senders\": $(grep 'summary' "$E2E_DIR/verify.out")"
ok "without the DKIM record: receiver $(e2e_verdict "$f" | cut -d' ' -f2), verify FAIL on the DKIM record (exit 1)"

# ---- TLS protocol versions per port (E8) ----
# Port 25 is opportunistic TLS: a peer that offers only TLS 1.0 or 1.1 must
# still get TLS there (refused, it would send in plaintext); 587 and 465
# require TLS and get TLS 1.2+ (Postfix uses smtpd_tls_mandatory_protocols
# where TLS is enforced: security level encrypt, wrapper mode).
# This machine's OpenSSL 3 refuses TLS < 1.2 below security level 0 by
# itself, on either end (EL7's OpenSSL 1.0.2, the case E8 is about, does
# not): so the client asks for @SECLEVEL=0, and the sender's Postfix gets
# :@SECLEVEL=0 appended to its two cipher lists (tls_medium_cipherlist for
# 25, tls_high_cipherlist for 587/465 with smtpd_tls_mandatory_ciphers =
# high; test-only, parameters mailstage does not manage) and is restarted.
# What then decides is the protocol lists mailstage wrote: 587 and 465 must
# refuse with a protocol_version alert (a refusal for the security level is
# an internal_error alert and would prove nothing).  Last in the test: the
# sender runs with the lowered security level from here on.
pc() { postconf -c "$E2E_ROOT/etc/postfix" "$@"; }
pc -e "tls_medium_cipherlist=$(pc -dh tls_medium_cipherlist):@SECLEVEL=0" \
	"tls_high_cipherlist=$(pc -dh tls_high_cipherlist):@SECLEVEL=0"
mn_in srv postfix stop >/dev/null 2>&1 || die "the sender's Postfix did not stop"
for i in $(seq 1 100); do
	mn_in srv postfix status >/dev/null 2>&1 || break
	sleep 0.1
done
mn_in srv postfix start >/dev/null 2>&1 || die "the sender's Postfix did not start again: $(tail -5 "$MN_DIR/srv/syslog")"
mn_wait_port srv 25 && mn_wait_port srv 587 && mn_wait_port srv 465 || die "the sender's Postfix is not listening again"
tlsv() {	# tlsv PORT -tls1|-tls1_1|-tls1_2: openssl s_client's transcript, from the client host
	local port=$1 v=$2 st=()
	[ "$port" = 465 ] || st=(-starttls smtp)
	mn_in client timeout 30 openssl s_client -connect "$E2E_SRV4:$port" "${st[@]}" "$v" \
		-cipher 'DEFAULT:@SECLEVEL=0' -servername mail.example.com </dev/null 2>&1 || true
}
# s_client's session block names the protocol (TLSv1 is 1.0); its "New, X, Cipher
# is Y" line names the cipher's version, not the session's.  A failed handshake
# says "New, (NONE), Cipher is (NONE)" and Cipher 0000.
declare -A TLSV=([-tls1]=TLSv1 [-tls1_1]=TLSv1.1 [-tls1_2]=TLSv1.2)
tls_ok() { grep -qx "    Protocol  : $2" "$1" && grep -Eq '^    Cipher    : [A-Z]' "$1" && ! grep -q '^New, (NONE)' "$1"; }
for v in -tls1 -tls1_1 -tls1_2; do
	tlsv 25 "$v" >"$T/tls.out"
	tls_ok "$T/tls.out" "${TLSV[$v]}" ||
		die "25 refuses ${TLSV[$v]} (an old peer would send in plaintext): $(grep -Ei 'alert|error|^New' "$T/tls.out")"
done
for port in 587 465; do
	for v in -tls1 -tls1_1; do
		tlsv $port "$v" >"$T/tls.out"
		tls_ok "$T/tls.out" "${TLSV[$v]}" && die "$port accepts ${TLSV[$v]}"
		grep -q 'alert protocol version' "$T/tls.out" ||
			die "$port: ${TLSV[$v]} not refused for its protocol version: $(grep -Ei 'alert|error|^New' "$T/tls.out")"
	done
	tlsv $port -tls1_2 >"$T/tls.out"
	tls_ok "$T/tls.out" TLSv1.2 || die "$port refuses TLS 1.2: $(grep -Ei 'alert|error|^New' "$T/tls.out")"
done
ok "TLS: 25 accepts TLS 1.0, 1.1 and 1.2 (opportunistic); 587 and 465 refuse 1.0 and 1.1 (protocol version alert), accept 1.2"
exit 0
