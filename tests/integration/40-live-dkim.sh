#!/bin/bash
# 40-live-dkim.sh - the mail configuration mailstage writes, run by the real
# programs: `mailstage apply` on a debian12 scratch root (the packages and
# services stages skipped: Postfix 3.7, OpenDKIM 2.11 and saslauthd of this
# Debian 12 machine are used), then those daemons started from that root in
# network and mount namespaces (tests/lib/mailnet.sh) next to an nsd serving
# the zone `mailstage dns --format zone` printed, and:
#   - a message submitted on 587 with STARTTLS and AUTH (a PAM user through
#     saslauthd, smtpd chrooted as on Debian) leaves for the foreign domain's
#     MX (found through the test's nsd) with a DKIM-Signature that dkimverify
#     (python3-dkim) verifies against the published record; a tampered copy
#     does not verify; mail from `sendmail` (non_smtpd_milters) is signed too;
#   - opendkim-testkey accepts the key against that DNS server, and rejects a
#     different key;
#   - after a reload of opendkim (SIGUSR1, what `systemctl reload` sends) mail
#     is still signed and nothing is logged as an error (with the seed guide's
#     root:root 0600 key, opendkim terminates at that reload and mail leaves
#     unsigned: seen by hand with this harness);
#   - AUTH is not offered before STARTTLS (25 and 587), is offered after it,
#     works on 465 (wrapper mode), a wrong password gets 535;
#   - an unauthenticated client cannot relay (25, and 587 refuses it
#     outright), a client in the server's own /24 outside mynetworks cannot
#     relay while the server itself (mynetworks) can;
#   - the 31st message from one client outside mynetworks within a minute gets
#     a 4xx (smtpd_client_message_rate_limit = 30);
#   - Postfix and OpenDKIM log no warning or error but the provoked ones.
# Not here: EL7's Postfix 2.10 and Cyrus saslauthd from EPEL (no CentOS 7
# host can run here; the el7 configuration is checked by postconf/unit tests).
. "$(dirname "$0")/lib.sh"
. "$MAILSTAGE_SRC/tests/lib/mailnet.sh"
for p in postfix opendkim saslauthd nsd dkimverify opendkim-testkey; do
	command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin command -v "$p" >/dev/null ||
		die "$p is not installed (apt-get install postfix opendkim opendkim-tools sasl2-bin nsd python3-dkim)"
done
"$MN_PY" -c 'import dkim, dns.resolver' 2>/dev/null || die "python3-dkim and python3-dnspython are needed"
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# ---- the root: a Debian 12 target (mkroot's users; the daemons run from
# this machine's binaries, so the groups postdrop and mail are this machine's:
# tests/lib/host-daemon-users) ----
R=$T/root
t0=$(now)
mkroot "$R" debian12
host_daemon_users "$R" group:postdrop group:mail
# Postfix's package files (postfix-files, dynamicmaps.cf, ...: tests/lib/pfmeta,
# never this machine's /etc/postfix); main.cf and master.cf stay the packaged
# defaults mkroot put there.
"$MAILSTAGE_SRC/tests/lib/pfmeta" "$R/etc/postfix"
# rbl empty: this closed network has no blocklist to ask (every other value is the default).
cat >"$R/etc/mailstage/mailstage.conf" <<'EOF'
hostname = mail.example.com
domain = example.com
ipv4 = 192.0.2.10
rbl =
port25_probe = 198.51.100.25:25
EOF
ms "${SCRATCH[@]}" --root "$R" apply >"$T/apply.log" 2>&1 || { cat "$T/apply.log"; die "mailstage apply failed"; }
ms --root "$R" dns --format zone >"$T/example.com.zone"
grep -q '_domainkey.example.com.*TXT' "$T/example.com.zone" || die "the zone has no DKIM record after apply"
echo "apply and zone: $(took "$t0")"

# The foreign domain the messages go to.
cat >"$T/example.net.zone" <<'EOF'
$ORIGIN example.net.
$TTL 300
@	IN	SOA	ns.example.net. hostmaster.example.net. 1 3600 900 1209600 300
@	IN	NS	ns.example.net.
ns	IN	A	198.51.100.53
@	IN	MX	10 mx.example.net.
mx	IN	A	198.51.100.25
EOF

# ---- the network ----
t0=$(now)
mn_init "$T/net"
mn_host srv 192.0.2.10			# the mailstage server
mn_host dns 198.51.100.53		# nsd
mn_host mx 198.51.100.25		# example.net's MX: stores what it gets
mn_host client 198.51.100.20		# a remote user who submits with AUTH
mn_host outsider 198.51.100.21		# an internet client without AUTH
mn_host neighbour 192.0.2.20		# same /24 as the server, not in mynetworks
mn_host flood 198.51.100.30		# the rate-limit client
mn_dns_start dns 198.51.100.53 example.com="$T/example.com.zone" example.net="$T/example.net.zone"
mkdir "$T/sink"
mn_bg mx "$T/sink.log" "$MN_PY" "$MN_SRC/tests/lib/mn-smtp.py" sink 198.51.100.25 25 "$T/sink"
mn_wait_port mx 25
echo "network, nsd, sink: $(took "$t0")"
t0=$(now)
mn_add_user "$R" mstest 'S3cret-pw'
mn_mail_start srv "$R" || die "the daemons did not start from the root's configuration"
mn_wait_port srv 587
mn_wait_port srv 8891
echo "postfix, opendkim, saslauthd up: $(took "$t0")"

smtp() { local h=$1; shift; mn_in "$h" "$MN_PY" "$MN_SRC/tests/lib/mn-smtp.py" send "$@"; }
# wait_msg N: the sink's N-th message, waited for (Postfix delivers asynchronously).
wait_msg() {
	local i
	for i in $(seq 1 300); do
		[ -f "$T/sink/$1.eml" ] && return 0
		sleep 0.1
	done
	mn_log srv | tail -20 >&2
	die "message $1 never reached example.net's MX"
}
t0=$(now)

# ---- submission on 587: STARTTLS, AUTH, DKIM ----
rc=0
smtp client --port 587 --starttls --auth 'mstest:S3cret-pw' 192.0.2.10 alice@example.com bob@example.net \
	>"$T/sub.out" 2>&1 || rc=$?
cat "$T/sub.out"
[ $rc -eq 0 ] || die "authenticated submission on 587 failed"
grep '^ehlo-before-tls:' "$T/sub.out" | grep -q STARTTLS || die "587 does not offer STARTTLS"
grep '^ehlo-before-tls:' "$T/sub.out" | grep -qw AUTH && die "587 offers AUTH before STARTTLS"
grep '^ehlo:' "$T/sub.out" | grep -qw AUTH || die "587 does not offer AUTH after STARTTLS"
grep -q '^starttls: 220 TLSv1\.[23]$' "$T/sub.out" || die "STARTTLS did not negotiate TLS 1.2 or 1.3"
ok "587: STARTTLS ($(sed -n 's/^starttls: 220 //p' "$T/sub.out")), AUTH only after it, PAM user through saslauthd accepted"
wait_msg 1
grep -q '^DKIM-Signature:.*d=example.com;' "$T/sink/1.eml" || grep -A1 '^DKIM-Signature:' "$T/sink/1.eml" |
	grep -q 'd=example.com;' || die "the message left without a DKIM-Signature for example.com: $(head -20 "$T/sink/1.eml")"
grep -q 'DKIM-Signature field added (s=default, d=example.com)' "$T/net/srv/syslog" ||
	die "opendkim did not log the signature"
# dkimverify asks the resolver: the client host's resolv.conf is the test's nsd.
mn_in client dkimverify <"$T/sink/1.eml" >"$T/verify.out" 2>&1 || {
	cat "$T/verify.out"
	die "dkimverify does not verify the signature against the published record"
}
cat "$T/verify.out"
grep -q 'signature ok' "$T/verify.out" || die "dkimverify: $(cat "$T/verify.out")"
sed 's/A test message/A tampered message/' "$T/sink/1.eml" >"$T/tampered.eml"
mn_in client dkimverify <"$T/tampered.eml" >"$T/verify-bad.out" 2>&1 && die "dkimverify accepted a tampered body"
ok "587 message left signed (d=example.com s=default); dkimverify against nsd: $(tail -1 "$T/verify.out"); tampered copy: $(tail -1 "$T/verify-bad.out")"

# sendmail (cron, PHP mail()): signed through non_smtpd_milters
printf 'From: alice@example.com\nTo: bob@example.net\nSubject: from sendmail\n\nlocal submission\n' |
	mn_in srv sendmail -f alice@example.com bob@example.net || die "sendmail failed"
wait_msg 2
mn_in client dkimverify <"$T/sink/2.eml" >"$T/verify2.out" 2>&1 || die "sendmail mail not verified: $(cat "$T/verify2.out")"
ok "sendmail mail left signed and verifies: $(tail -1 "$T/verify2.out")"

# opendkim-testkey against the test's DNS server.  Debian's libopendkim
# resolves with libunbound (its own recursion from the root, DNSSEC with
# /usr/share/dns/root.key), which a closed network cannot do: a configuration
# naming the test's nsd as the only name server replaces /etc/opendkim.conf.
key=$R/etc/opendkim/keys/example.com/default.private
printf 'Nameservers\t198.51.100.53\n' >"$T/testkey.conf"
mn_in client opendkim-testkey -x "$T/testkey.conf" -d example.com -s default -k "$key" -vvv >"$T/testkey.out" 2>&1 || {
	cat "$T/testkey.out"
	die "opendkim-testkey rejects the key against the published record"
}
cat "$T/testkey.out"
grep -q 'key OK' "$T/testkey.out" || die "opendkim-testkey did not say key OK"
mn_in client opendkim-testkey -x "$T/testkey.conf" -d example.com -s default -k "$MAILSTAGE_SRC/tests/data/dkim-test.private" \
	>"$T/testkey-bad.out" 2>&1 && die "opendkim-testkey accepted a key that is not the published one"
ok "opendkim-testkey: $(grep -o 'key OK' "$T/testkey.out"); another key: $(tail -1 "$T/testkey-bad.out")"

# Reload (systemctl reload opendkim sends SIGUSR1): opendkim re-reads its
# configuration and the key after dropping privileges, so a key it cannot
# read as its own user is lost here (the seed guide's root:root 0600 key).
# OpenDKIM reloads at the next connection after the signal; the message
# on 465 below is that connection.
kill -USR1 "$(mn_in srv cat /run/opendkim/opendkim.pid)" || die "cannot signal opendkim"
# ---- 465 (wrapper mode) and a wrong password ----
smtp client --port 465 --ssl --auth 'mstest:S3cret-pw' 192.0.2.10 alice@example.com bob@example.net \
	>"$T/smtps.out" 2>&1 || { cat "$T/smtps.out"; die "authenticated submission on 465 failed"; }
wait_msg 3
mn_in client dkimverify <"$T/sink/3.eml" >"$T/verify3.out" 2>&1 || die "mail after opendkim's reload not verified: $(cat "$T/verify3.out")"
grep -q 'opendkim.*configuration reloaded from /etc/opendkim.conf' "$T/net/srv/syslog" || die "opendkim did not reload"
grep -Ei 'opendkim.*(permission denied|can.t load key|error)' "$T/net/srv/syslog" && die "opendkim reported an error after its reload"
rc=0
smtp client --port 587 --starttls --auth 'mstest:wrong' 192.0.2.10 alice@example.com bob@example.net \
	>"$T/badpw.out" 2>&1 || rc=$?
grep -q '^refused 1: 535' "$T/badpw.out" || die "a wrong password was not refused with 535: $(cat "$T/badpw.out")"
ok "465 with TLS from the first byte and AUTH works, signed after opendkim's reload; a wrong password gets $(sed -n 's/^refused 1: //p' "$T/badpw.out")"

# ---- relaying ----
rc=0
smtp outsider 192.0.2.10 mallory@example.net victim@example.org >"$T/relay.out" 2>&1 || rc=$?
cat "$T/relay.out"
grep '^ehlo-before-tls:' "$T/relay.out" | grep -qw AUTH && die "port 25 offers AUTH before STARTTLS"
grep -q '^rcpt 1: 5[0-9][0-9] .*Relay access denied' "$T/relay.out" ||
	die "an unauthenticated internet client could relay (or was not refused for relaying)"
rc=0
smtp outsider --port 587 --starttls 192.0.2.10 mallory@example.net victim@example.org >"$T/relay587.out" 2>&1 || rc=$?
grep -Eq '^(rcpt|mail|refused) 1: 5[0-9][0-9] ' "$T/relay587.out" || die "587 accepted mail without AUTH: $(cat "$T/relay587.out")"
ok "no AUTH before STARTTLS on 25; unauthenticated relay refused on 25 ($(sed -n 's/^rcpt 1: //p' "$T/relay.out")) and 587"
rc=0
smtp neighbour 192.0.2.10 neighbour@example.net victim@example.org >"$T/nb.out" 2>&1 || rc=$?
grep -q '^rcpt 1: 5[0-9][0-9] .*Relay access denied' "$T/nb.out" ||
	die "a client in the server's own /24 could relay (mynetworks too wide): $(cat "$T/nb.out")"
# The control: the server itself is in mynetworks and may relay.
smtp srv 127.0.0.1 root@mail.example.com bob@example.net >"$T/self.out" 2>&1 ||
	die "the server itself (mynetworks) could not relay: $(cat "$T/self.out")"
ok "192.0.2.20 (same /24, outside mynetworks) cannot relay; 127.0.0.1 (mynetworks) can"

# ---- rate limit: 31 messages from one outside client within a minute ----
rc=0
smtp flood --count 31 --one-connection 192.0.2.10 sender@example.net postmaster@example.com >"$T/flood.out" 2>&1 || rc=$?
n_ok=$(grep -c '^data [0-9]*: 250 ' "$T/flood.out" || true)
[ "$n_ok" = 30 ] || die "expected 30 accepted messages before the limit, got $n_ok: $(tail -5 "$T/flood.out")"
grep -Eq '^(mail|refused) 31: 4[0-9][0-9] ' "$T/flood.out" || die "the 31st message was not refused with 4xx: $(tail -3 "$T/flood.out")"
ok "rate limit: 30 accepted, the 31st got $(grep -E '^(mail|refused) 31: ' "$T/flood.out" | cut -d' ' -f3-)"

echo "checks: $(took "$t0")"
# Nothing else went wrong: no warning, error, fatal or panic from Postfix or
# OpenDKIM but the refusals this test provoked.
if grep -Ei '(postfix|opendkim)[^:]*: .*(warning|error|fatal|panic)' "$T/net/srv/syslog" |
	grep -Ev 'SASL (LOGIN|PLAIN) authentication failed|SASL authentication failure: Password verification failed|rate limit exceeded' >"$T/unexpected"; then
	cat "$T/unexpected"
	die "the daemons logged unexpected warnings or errors"
fi
ok "no unexpected warning or error in the server's log ($(wc -l <"$T/net/srv/syslog") lines)"
exit 0
