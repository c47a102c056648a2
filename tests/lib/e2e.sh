# tests/lib/e2e.sh - the end-to-end scenario: mail from a mailstage server
# judged by real receivers.  Sourced by tests/integration/45-e2e-auth.sh
# (which asserts) and tests/demo (which prints); both run as root.
#
# Hosts (network namespaces, tests/lib/mailnet.sh; documentation addresses
# only, nothing leaves the machine):
#   dns      198.51.100.53      nsd, authoritative for example.com (the zone
#                               `mailstage dns --format zone` printed), the
#                               receivers' zones and the reverse zones (PTR)
#   srv      192.0.2.10 2001:db8::10   mail.example.com: `mailstage apply`
#                               (debian12 profile) on a scratch root, then this
#                               machine's Postfix, OpenDKIM and saslauthd
#                               started from it (mn_mail_start)
#   mx4      198.51.100.25      mx.example.net (MX with an A record only)
#   mx6      2001:db8:6::25     mx.example.org (MX with an AAAA record only:
#                               where the guide's IPv4-only SPF failed); its
#                               Postfix listens on that address only.  (It has
#                               an unpublished IPv4 address too, to reach nsd.)
#   client   203.0.113.20       a remote user submitting on 587
#   outsider 203.0.113.66       an internet client without credentials
# Each receiver is a real Postfix that checks mail with real verifiers:
# postfix-policyd-spf-python (SPF, policy service), OpenDKIM in verify mode
# and OpenDMARC (milters), all writing Authentication-Results with the
# receiver's authserv-id, and stores it in a Maildir (virtual delivery).
#
# Interface (globals are E2E_*):
#   E2E_MS        the mailstage binary (required)
#   E2E_DIR       a scratch directory, removed by the caller
#   E2E_CONF_EXTRA  lines added to the sender's mailstage.conf (optional)
#   e2e_fail      called with a message when a step cannot go on (default:
#                 print it and exit 1); the caller may redefine it
#   e2e_up        everything above, up and listening
#   e2e_submit HOST ARGS...   mn-smtp.py send, run in HOST
#   e2e_sendmail TO SUBJECT   a message through srv's sendmail (From alice@example.com)
#   e2e_wait RX SUBJECT       path of the stored message in RX (mx4|mx6) with that
#                 subject, waited for (60 s)
#   e2e_ar FILE   the message's Authentication-Results headers, unfolded, one a line
#   e2e_verdict FILE   "spf=X dkim=X dmarc=X" as the receiver judged
#   e2e_verify ARGS...   `mailstage verify --resolver DNS:53 ARGS` in srv; output
#                 in $E2E_DIR/verify.out, returns its exit code
#   e2e_zone_drop_dkim   remove the DKIM record from the served zone, reload nsd,
#                 wait until it is gone; restart the receivers' OpenDKIM
#                 (libunbound caches the key for its TTL)
# Cleanup is mailnet's mn_cleanup (EXIT trap): every process by pid, then
# the namespaces.
#
# Requires: postfix, opendkim, opendkim-tools, sasl2-bin, nsd, opendmarc,
# postfix-policyd-spf-python, python3, iproute2, util-linux, openssl.

# shellcheck source=tests/lib/mailnet.sh
. "$(dirname "${BASH_SOURCE[0]}")/mailnet.sh"

E2E_DNS4=198.51.100.53
E2E_SRV4=192.0.2.10
E2E_SRV6=2001:db8::10
E2E_MX4=198.51.100.25
E2E_MX6=2001:db8:6::25
E2E_MX6_V4=198.51.100.26
E2E_CLIENT=203.0.113.20
E2E_OUTSIDER=203.0.113.66
E2E_USER=mstest
E2E_PASS='E2e-S3cret-pw'
E2E_ROOT=""

e2e_fail() { echo "FAIL: $*" >&2; exit 1; }
_e2e_now() { date +%s.%N; }
_e2e_took() { awk -v a="$1" -v b="$(_e2e_now)" 'BEGIN { printf "%.1f s", b - a }'; }

e2e_need() {
	local p missing=()
	for p in postfix opendkim saslauthd nsd opendmarc policyd-spf ip nsenter openssl; do
		PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] || e2e_fail "missing programs: ${missing[*]} (apt-get install postfix opendkim" \
		"opendkim-tools sasl2-bin nsd opendmarc postfix-policyd-spf-python iproute2; or tests/deps demo)"
}

# ---- the sender: mailstage apply on a scratch Debian 12 root ----
_e2e_sender_root() {
	local R=$E2E_DIR/root
	"$MN_SRC/tests/lib/mkroot" "$R" debian12 >/dev/null
	# The daemons run from this machine's binaries: mkroot's users plus the
	# two groups this machine's Postfix needs as its own (set-gid postdrop,
	# /var/mail's group: tests/lib/host-daemon-users), and Postfix's package
	# files (postfix-files, dynamicmaps.cf: tests/lib/pfmeta, never this
	# machine's /etc/postfix); main.cf and master.cf stay the packaged
	# defaults mkroot put there.
	"$MN_SRC/tests/lib/host-daemon-users" "$R" group:postdrop group:mail ||
		e2e_fail "the sender root's daemon groups could not be added"
	"$MN_SRC/tests/lib/pfmeta" "$R/etc/postfix"
	# Dual-stack; port25_probe is a receiver in the test network, rbl empty
	# (no blocklist is reachable here).
	cat >"$R/etc/mailstage/mailstage.conf" <<-EOF
	hostname = mail.example.com
	domain = example.com
	ipv4 = $E2E_SRV4
	ipv6 = $E2E_SRV6
	rbl =
	port25_probe = $E2E_MX4:25
	${E2E_CONF_EXTRA:-}
	EOF
	local skip
	skip=$("$E2E_MS" stages | awk '$2 == "packages" || $2 == "services" {print $2}' | paste -sd, -)
	"$E2E_MS" --root "$R" ${skip:+--skip "$skip"} apply >"$E2E_DIR/apply.log" 2>&1 ||
		{ cat "$E2E_DIR/apply.log" >&2; e2e_fail "mailstage apply failed"; }
	"$E2E_MS" --root "$R" dns --format zone >"$E2E_DIR/example.com.zone" ||
		e2e_fail "mailstage dns --format zone failed"
	E2E_ROOT=$R
}

_e2e_rev() { "$MN_PY" -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer + ".")' "$1"; }

_e2e_zones() {
	local z=$E2E_DIR/zones
	mkdir -p "$z"
	cp "$E2E_DIR/example.com.zone" "$z/example.com"
	_soa() { printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.example.net. hostmaster.example.net. 1 3600 900 1209600 300\n@ IN NS ns.example.net.\n' "$1"; }
	{ _soa example.net
	  printf 'ns IN A %s\n@ IN MX 10 mx.example.net.\nmx IN A %s\n' "$E2E_DNS4" "$E2E_MX4"; } >"$z/example.net"
	# example.org's MX has only an AAAA record: the sender must use IPv6.
	{ _soa example.org
	  printf '@ IN MX 10 mx.example.org.\nmx IN AAAA %s\n' "$E2E_MX6"; } >"$z/example.org"
	# Reverse zones: what the provider would publish for each address.
	{ _soa 2.0.192.in-addr.arpa
	  printf '%s IN PTR mail.example.com.\n' "$(_e2e_rev $E2E_SRV4)"; } >"$z/2.0.192.in-addr.arpa"
	{ _soa 100.51.198.in-addr.arpa
	  printf '%s IN PTR mx.example.net.\n' "$(_e2e_rev $E2E_MX4)"; } >"$z/100.51.198.in-addr.arpa"
	{ _soa 8.b.d.0.1.0.0.2.ip6.arpa
	  printf '%s IN PTR mail.example.com.\n%s IN PTR mx.example.org.\n' "$(_e2e_rev $E2E_SRV6)" \
		"$(_e2e_rev $E2E_MX6)"; } >"$z/8.b.d.0.1.0.0.2.ip6.arpa"
}

# ---- a receiver: Postfix + policyd-spf + OpenDKIM (verify) + OpenDMARC ----
# _e2e_rx HOST DOMAIN MXNAME ADDR: SMTP on ADDR only (and loopback for the milters)
_e2e_rx() {
	local h=$1 dom=$2 mx=$3 addr=$4 d=$MN_DIR/$1 c
	c=$d/conf
	mkdir -p "$c/postfix" "$d/spool" "$d/lib-postfix" "$d/mail/vhosts"
	# Postfix's package files (tests/lib/pfmeta), the packaged master.cf, our main.cf.
	"$MN_SRC/tests/lib/pfmeta" "$c/postfix"
	cp /usr/share/postfix/master.cf.dist "$c/postfix/master.cf"
	cat >>"$c/postfix/master.cf" <<-EOF
	policyd-spf  unix  -       n       n       -       0       spawn
	  user=policyd-spf argv=/usr/bin/policyd-spf /etc/postfix/policyd-spf.conf
	EOF
	cat >"$c/postfix/main.cf" <<-EOF
	# $mx: the receiving end of the e2e test (tests/lib/e2e.sh)
	compatibility_level = 3.6
	myhostname = $mx
	mydomain = $dom
	myorigin = \$myhostname
	mydestination = localhost
	inet_interfaces = $addr
	inet_protocols = all
	mynetworks = 127.0.0.0/8 [::1]/128
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	virtual_mailbox_domains = $dom
	virtual_mailbox_base = /var/mail/vhosts
	virtual_mailbox_maps = static:inbox/
	virtual_uid_maps = static:5000
	virtual_gid_maps = static:5000
	smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
	smtpd_recipient_restrictions = check_policy_service unix:private/policyd-spf
	policyd-spf_time_limit = 3600
	smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8893
	non_smtpd_milters =
	milter_default_action = tempfail
	EOF
	cat >"$c/postfix/policyd-spf.conf" <<-EOF
	debugLevel = 1
	TestOnly = 1
	HELO_reject = False
	Mail_From_reject = False
	PermError_reject = False
	TempError_Defer = False
	skip_addresses = 127.0.0.0/8,::ffff:127.0.0.0/104,::1
	Header_Type = AR
	Authserv_Id = $mx
	EOF
	# libopendkim resolves with libunbound, which would recurse from the
	# root: Nameservers makes it ask the test's nsd (no trust anchor: the
	# test zones are unsigned, as most are).
	cat >"$c/postfix/opendkim-verify.conf" <<-EOF
	Syslog			yes
	SyslogSuccess		yes
	LogWhy			yes
	Mode			v
	AlwaysAddARHeader	yes
	AuthservID		$mx
	Socket			inet:8891@localhost
	PidFile			/run/opendkim/opendkim.pid
	UserID			opendkim
	UMask			007
	Nameservers		$E2E_DNS4
	EOF
	cat >"$c/postfix/opendmarc.conf" <<-EOF
	AuthservID		$mx
	TrustedAuthservIDs	$mx
	Socket			inet:8893@localhost
	PidFile			/run/opendmarc/opendmarc.pid
	UserID			opendmarc
	UMask			0002
	Syslog			true
	PublicSuffixList	/usr/share/publicsuffix/public_suffix_list.dat
	RejectFailures		false
	FailureReports		false
	SPFSelfValidate		false
	SPFIgnoreResults	false
	IgnoreAuthenticatedClients false
	EOF
	chown -R 5000:5000 "$d/mail/vhosts"
	local rc=0
	mn_in "$h" /bin/bash -es "$d" "$MN_SRC" "$MN_PY" >>"$d/start.log" 2>&1 <<-'EOF' || rc=$?
	d=$1 MN_SRC=$2 MN_PY=$3
	mount --bind "$d/conf/postfix" /etc/postfix
	mount --bind "$d/spool" /var/spool/postfix
	mount --bind "$d/lib-postfix" /var/lib/postfix
	mount --bind "$d/mail" /var/mail
	chown root:root /var/spool/postfix && chmod 0755 /var/spool/postfix
	chown postfix:postfix /var/lib/postfix && chmod 0755 /var/lib/postfix
	mkdir -p /var/spool/postfix/dev
	"$MN_PY" "$MN_SRC/tests/lib/mn-syslog.py" "$d/syslog" /var/spool/postfix/dev/log </dev/null >/dev/null 2>&1 &
	mkdir -p /run/opendkim /run/opendmarc
	chown opendkim:opendkim /run/opendkim
	chown opendmarc:opendmarc /run/opendmarc
	opendkim -x /etc/postfix/opendkim-verify.conf
	opendmarc -c /etc/postfix/opendmarc.conf
	/usr/lib/postfix/configure-instance.sh -
	postfix start
	EOF
	[ $rc -eq 0 ] || { cat "$d/start.log" >&2; e2e_fail "receiver $mx did not start"; }
	mn_wait_port "$h" 25 && mn_wait_port "$h" 8891 && mn_wait_port "$h" 8893 ||
		{ cat "$d/start.log" "$d/syslog" >&2; e2e_fail "receiver $mx: a daemon is not listening"; }
}

# _e2e_rx_restart_opendkim HOST
_e2e_rx_restart_opendkim() {
	local h=$1 pid i
	pid=$(mn_in "$h" cat /run/opendkim/opendkim.pid)
	mn_in "$h" kill "$pid"
	for i in $(seq 1 100); do
		mn_in "$h" kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	mn_in "$h" opendkim -x /etc/postfix/opendkim-verify.conf
	mn_wait_port "$h" 8891
}

e2e_up() {
	local t0
	e2e_need
	[ -n "${E2E_MS:-}" ] && [ -x "$E2E_MS" ] || e2e_fail "E2E_MS must name the mailstage binary"
	mkdir -p "$E2E_DIR"
	t0=$(_e2e_now)
	_e2e_sender_root
	_e2e_zones
	echo "sender root applied, zones written: $(_e2e_took "$t0")"
	t0=$(_e2e_now)
	mn_init "$E2E_DIR/net"
	mn_host dns $E2E_DNS4
	mn_host srv $E2E_SRV4 $E2E_SRV6
	mn_host mx4 $E2E_MX4
	mn_host mx6 $E2E_MX6 $E2E_MX6_V4
	mn_host client $E2E_CLIENT
	mn_host outsider $E2E_OUTSIDER
	local zargs=() f
	for f in "$E2E_DIR"/zones/*; do zargs+=("$(basename "$f")=$f"); done
	mn_dns_start dns $E2E_DNS4 "${zargs[@]}" 2>"$E2E_DIR/nsd-check.log" ||
		{ cat "$E2E_DIR/nsd-check.log" >&2; e2e_fail "nsd did not load the zones"; }
	echo "network and nsd (${#zargs[@]} zones): $(_e2e_took "$t0")"
	# The receivers and the sender start side by side (each Postfix start
	# takes a few seconds); a failure is reported by its own subshell.
	t0=$(_e2e_now)
	mn_add_user "$E2E_ROOT" "$E2E_USER" "$E2E_PASS"
	local p4 p6 ps bad=0
	_e2e_rx mx4 example.net mx.example.net $E2E_MX4 & p4=$!
	_e2e_rx mx6 example.org mx.example.org $E2E_MX6 & p6=$!
	( mn_mail_start srv "$E2E_ROOT" && mn_wait_port srv 587 && mn_wait_port srv 8891 ) & ps=$!
	wait $p4 || bad=1
	wait $p6 || bad=1
	wait $ps || { bad=1; echo "the sender's daemons did not start from the root's configuration" >&2; }
	[ $bad = 0 ] || e2e_fail "a mail host did not start"
	echo "receivers (Postfix, policyd-spf, OpenDKIM verify, OpenDMARC) and sender (Postfix," \
		"OpenDKIM, saslauthd from the applied root): $(_e2e_took "$t0")"
	# verify --send-test reads the mail log: srv's syslog, where Debian's
	# rsyslog would put it (inside srv's mount namespace only).
	mn_in srv /bin/sh -ec 'mount -t tmpfs -o mode=0755 e2e-log /var/log; touch /var/log/mail.log
		mount --bind "$1" /var/log/mail.log' e2e "$MN_DIR/srv/syslog"
	printf '%s\n%s\n' "$E2E_USER" "$E2E_PASS" >"$E2E_DIR/auth"
	chmod 0600 "$E2E_DIR/auth"
}

e2e_submit() { local h=$1; shift; mn_in "$h" "$MN_PY" "$MN_SRC/tests/lib/mn-smtp.py" send "$@"; }

e2e_sendmail() {
	printf 'From: Alice <alice@example.com>\nTo: <%s>\nSubject: %s\n\nA message from sendmail (cron, PHP mail()).\n' "$1" "$2" |
		mn_in srv sendmail -oi -f alice@example.com "$1"
}

e2e_wait() {
	local rx=$1 subj=$2 i f
	for i in $(seq 1 600); do
		for f in "$MN_DIR/$rx"/mail/vhosts/inbox/new/*; do
			[ -f "$f" ] && grep -qxF "Subject: $subj" "$f" && { echo "$f"; return 0; }
		done
		sleep 0.1
	done
	{ echo "--- sender log"; tail -25 "$MN_DIR/srv/syslog"; echo "--- $rx log"; tail -25 "$MN_DIR/$rx/syslog"; } >&2
	e2e_fail "\"$subj\" never reached $rx's Maildir"
}

e2e_ar() {
	# the header section, continuation lines joined
	sed -n '/^\r\{0,1\}$/q;p' "$1" | tr -d '\r' |
		awk '/^[ \t]/ { sub(/^[ \t]+/, " "); cur = cur $0; next } { if (cur != "") print cur; cur = $0 } END { if (cur != "") print cur }' |
		grep -i '^Authentication-Results:' || true
}

e2e_verdict() {
	local ar s="" k d
	ar=$(e2e_ar "$1")
	for k in spf dkim dmarc; do
		d=$(printf '%s\n' "$ar" | grep -o "[; ]$k=[a-z]*" | head -1 | sed 's/^[; ]//')
		s="$s${s:+ }${d:-$k=(none)}"
	done
	echo "$s"
}

e2e_verify() {
	local rc=0
	# The drift check skips what the apply skipped (packages and services: the
	# machine's own programs run the scratch root's configuration).
	local skip
	skip=$("$E2E_MS" stages | awk '$2 == "packages" || $2 == "services" {print $2}' | paste -sd, -)
	mn_in srv "$E2E_MS" --root "$E2E_ROOT" ${skip:+--skip "$skip"} verify --resolver "$E2E_DNS4:53" "$@" \
		>"$E2E_DIR/verify.out" 2>&1 || rc=$?
	return $rc
}

e2e_zone_drop_dkim() {
	local z=$MN_DIR/dns/nsd/example.com.zone i
	# The record spans lines ( ... ); drop it, then bump the SOA serial.
	awk '/^default\._domainkey\./ { skip = 1 } skip { if ($0 ~ /\)/) skip = 0; next } { print }' "$z" >"$z.new"
	awk '$3 == "SOA" || $4 == "SOA" { $(NF-4) = $(NF-4) + 1 } { print }' "$z.new" >"$z"
	rm -f "$z.new"
	grep -q '_domainkey' "$z" && e2e_fail "the DKIM record is still in $z"
	nsd-checkzone example.com "$z" >/dev/null || e2e_fail "the edited zone does not load"
	touch -d '+2 seconds' "$z"	# nsd reloads a zone whose mtime changed
	mn_in dns kill -HUP "$(cat "$MN_DIR/dns/nsd/nsd.pid")"
	for i in $(seq 1 100); do
		mn_in srv "$MN_PY" -c 'import dns.resolver, sys
r = dns.resolver.Resolver(configure=False); r.nameservers = [sys.argv[1]]
try:
    r.resolve("default._domainkey.example.com", "TXT"); sys.exit(1)
except dns.resolver.NXDOMAIN:
    sys.exit(0)' "$E2E_DNS4" 2>/dev/null && break
		sleep 0.1
	done
	[ "$i" -lt 100 ] || e2e_fail "nsd still serves the DKIM record after the reload"
	_e2e_rx_restart_opendkim mx4
	_e2e_rx_restart_opendkim mx6
}
