#!/bin/bash
# 32-postfix-listeners.sh - master.cf shapes other than Debian's one wildcard
# `smtp inet ... smtpd`, applied by mailstage and then run by the real
# Postfix 3.7 of this machine in network namespaces of the test's own
# (tests/lib/mailnet.sh; the mail configuration of each root is
# bind-mounted there, nothing of this machine's is touched):
#   ps:    postscreen on port 25 (`smtp inet n - y - 1 postscreen`, `smtpd
#          pass`, dnsblog, tlsproxy: tests/cases/mastercf/030-postscreen-debian);
#   bound: port 25 bound to addresses (`203.0.113.10:smtp`, `[2001:db8::1]:smtp`)
#          and submission bound to one (`192.0.2.11:submission`);
#   psb:   postscreen on two bound addresses sharing one `smtpd pass`.
# For each: `postfix check` prints nothing; `postconf -M/-P/-F` show the
# limits on the smtpd that serves port 25 (the pass service behind
# postscreen, each bound listener) and not on postscreen, no wildcard smtp
# or submission beside bound ones, submission/smtps with maxproc "-" (not
# postscreen's 1); master starts and listens exactly on the expected
# addresses; a second apply changes nothing.  Then what the limit does:
# with smtpd_client_connection_count_limit = 1 (a master.cf-only setting:
# postscreen's own postscreen_client_connection_count_limit follows main.cf,
# 50), a second simultaneous connection from one client is refused with 421
# by smtpd itself ("for service smtpd": the pass service), after the first
# one went through postscreen to smtpd (PASS NEW, then smtpd's EHLO).
# The bound host also runs another server on 192.0.2.11:25 (the usual reason
# to bind Postfix to some addresses: another MTA or instance on the others).
# Before the fix a wildcard smtp was added beside the bound entries and
# master could not start there ("mail start in bound failed": the wildcard's
# bind, EADDRINUSE; without the other server it listened on 0.0.0.0:25 too),
# and with postscreen the limits sat on postscreen (postconf -P check).
. "$(dirname "$0")/lib.sh"
. "$MAILSTAGE_SRC/tests/lib/mailnet.sh"
for p in postconf postfix script ss; do
	command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin command -v "$p" >/dev/null ||
		die "$p is not installed (apt-get install postfix util-linux iproute2)"
done

conf() {	# conf ROOT: the root's mailstage.conf (dual stack; no blocklist in this closed network)
	cat >"$1/etc/mailstage/mailstage.conf" <<-'EOF'
	hostname = mail.example.com
	domain = example.com
	ipv4 = 192.0.2.10
	ipv6 = 2001:db8::10
	rbl =
	smtpd_client_connection_count_limit = 1
	EOF
}
newroot() {	# newroot ROOT MASTER.CF
	mkroot "$1" debian12
	# mkroot's users, plus the two groups this machine's Postfix needs as its own
	# (set-gid postdrop, /var/mail's group: tests/lib/host-daemon-users)
	host_daemon_users "$1" group:postdrop group:mail
	"$MAILSTAGE_SRC/tests/lib/pfmeta" "$1/etc/postfix"
	cp "$2" "$1/etc/postfix/master.cf"
	conf "$1"
	ms "${SCRATCH[@]}" --root "$1" apply >"$1.apply" 2>&1 || { cat "$1.apply"; die "$1: mailstage apply failed"; }
	ms "${SCRATCH[@]}" --root "$1" apply 2>"$1.apply2" >/dev/null || { cat "$1.apply2"; die "$1: second apply failed"; }
	grep -Eq "apply: 0 of [0-9]+ stages changed" "$1.apply2" || { cat "$1.apply2"; die "$1: second apply changed something"; }
}
pfcheck() {	# pfcheck CONFIGDIR [control]: postfix check's output, in a private queue/data directory (as 30)
	local d=$1
	rm -rf "$T/pf"
	mkdir -p "$T/pf/spool" "$T/pf/data"
	cp -a "$d" "$T/pf/etc"
	postconf -c "$T/pf/etc" -e "queue_directory=$T/pf/spool" "data_directory=$T/pf/data" "meta_directory=$T/pf/etc"
	[ "${2:-}" = control ] || chown postfix "$T/pf/data"
	script -qec "postfix -c $T/pf/etc check" /dev/null | tr -d '\r'
}
P() { postconf -c "$1/etc/postfix" -P; }
F() { postconf -c "$1/etc/postfix" -Fh "$2"; }
has() {	# has ROOT SERVICE/TYPE/NAME VALUE
	grep -qxF "$2 = $3" "$T/$(basename "$1").P" || die "$(basename "$1"): postconf -P lacks $2 = $3"
}
hasnt() {	# hasnt ROOT REGEX
	! grep -Eq "$2" "$T/$(basename "$1").P" || die "$(basename "$1"): postconf -P has $(grep -E "$2" "$T/$(basename "$1").P" | head -1)"
}
limits() {	# limits ROOT SERVICE/TYPE: the managed port-25 limits are on that entry
	has "$1" "$2/smtpd_client_connection_count_limit" 1
	has "$1" "$2/smtpd_client_connection_rate_limit" 10
	has "$1" "$2/smtpd_client_message_rate_limit" 30
	has "$1" "$2/smtpd_error_sleep_time" 1s
}

# ---- the three roots ----
PS=$T/ps BOUND=$T/bound PSB=$T/psb
newroot "$PS" "$MAILSTAGE_SRC/tests/cases/mastercf/030-postscreen-debian/input"
# Debian's packaged master.cf with port 25 and submission bound to addresses
sed -e 's/^smtp      inet  n       -       y       -       -       smtpd$/203.0.113.10:smtp inet n - y - - smtpd\n[2001:db8::1]:smtp inet n - y - - smtpd/' \
	-e 's/^#submission inet n       -       y       -       -       smtpd$/&\n192.0.2.11:submission inet n - y - - smtpd/' \
	"$MAILSTAGE_SRC/tests/data/debian12/master.cf" >"$T/bound.master.cf"
grep -q '^\[2001:db8::1\]:smtp inet' "$T/bound.master.cf" && grep -q '^192.0.2.11:submission inet' "$T/bound.master.cf" ||
	die "setup: the bound master.cf was not made"
newroot "$BOUND" "$T/bound.master.cf"
sed -e 's/^smtp      inet  n       -       y       -       -       smtpd$/#&/' \
	-e 's/^#smtp      inet  n       -       y       -       1       postscreen$/203.0.113.30:smtp inet n - y - 1 postscreen\n[2001:db8::30]:smtp inet n - y - 1 postscreen/' \
	-e 's/^#\(smtpd     pass\)/\1/' -e 's/^#\(dnsblog\)/\1/' -e 's/^#\(tlsproxy\)/\1/' \
	"$MAILSTAGE_SRC/tests/data/debian12/master.cf" >"$T/psb.master.cf"
grep -q '^\[2001:db8::30\]:smtp inet' "$T/psb.master.cf" && grep -q '^smtpd     pass' "$T/psb.master.cf" ||
	die "setup: the bound postscreen master.cf was not made"
newroot "$PSB" "$T/psb.master.cf"
ok "three roots applied; a second apply changes nothing on each"

# ---- postfix check ----
out=$(pfcheck "$PS/etc/postfix" control)
case $out in *"warning: not owned by postfix"*) ;; *) die "control: postfix check's warning not seen: $out" ;; esac
for r in "$PS" "$BOUND" "$PSB"; do
	out=$(pfcheck "$r/etc/postfix") || die "$(basename "$r"): postfix check failed: $out"
	[ -z "$out" ] || die "$(basename "$r"): postfix check warned: $out"
	P "$r" >"$T/$(basename "$r").P"
	postconf -c "$r/etc/postfix" -M >"$T/$(basename "$r").M"
done
ok "postfix check: no warning on any root"

# ---- where the options are ----
# postscreen: limits on smtpd pass, none on postscreen; postscreen's fields untouched
limits "$PS" smtpd/pass
hasnt "$PS" '^smtp/inet/smtpd_'
[ "$(F "$PS" smtp/inet/command)" = postscreen ] && [ "$(F "$PS" smtp/inet/process_limit)" = 1 ] || die "ps: the postscreen entry changed"
[ "$(grep -c '^smtp  *inet ' "$T/ps.M")" = 1 ] || die "ps: not exactly one smtp inet"
# bound: limits on each bound listener; no wildcard smtp or submission; the bound submission edited
limits "$BOUND" 203.0.113.10:smtp/inet
limits "$BOUND" '[2001:db8::1]:smtp/inet'
has "$BOUND" 192.0.2.11:submission/inet/smtpd_tls_security_level encrypt
has "$BOUND" 192.0.2.11:submission/inet/smtpd_sasl_auth_enable yes
has "$BOUND" smtps/inet/smtpd_tls_wrappermode yes
grep -Eq '^(smtp|submission) +inet ' "$T/bound.M" && die "bound: a wildcard smtp or submission was added: $(grep -E '^(smtp|submission) +inet ' "$T/bound.M")"
# postscreen on bound addresses: one smtpd pass with the limits, nothing on either postscreen
limits "$PSB" smtpd/pass
hasnt "$PSB" '^(203\.0\.113\.30|\[2001:db8::30\]):smtp/inet/smtpd_'
grep -Eq '^smtp +inet ' "$T/psb.M" && die "psb: a wildcard smtp was added"
# new submission/smtps: smtpd fields, never postscreen's maxproc 1
for r in "$PS" "$PSB"; do
	for s in submission smtps; do
		[ "$(F "$r" $s/inet/process_limit)" = - ] || die "$(basename "$r"): $s maxproc is $(F "$r" $s/inet/process_limit), not -"
		[ "$(F "$r" $s/inet/command | cut -d' ' -f1)" = smtpd ] || die "$(basename "$r"): $s runs $(F "$r" $s/inet/command)"
		[ "$(F "$r" $s/inet/chroot)" = y ] || die "$(basename "$r"): $s not chrooted"
		has "$r" $s/inet/smtpd_sasl_auth_enable yes
	done
done
[ "$(F "$BOUND" smtps/inet/process_limit)" = - ] || die "bound: smtps maxproc"
ok "postconf -M/-P/-F: limits on smtpd pass (postscreen untouched) and on each bound listener; no wildcard beside bound ones; submission/smtps maxproc -, smtpd, chroot y"

# ---- the real master ----
mn_init "$T/net"
mn_host ps 192.0.2.10 2001:db8::10
mn_host bound 192.0.2.11 203.0.113.10 2001:db8::1
mn_host psb 192.0.2.12 203.0.113.30 2001:db8::30
mn_host outsider 198.51.100.21 2001:db8:0:1::21
# another server on port 25 of the bound host's other address (no SO_REUSEADDR: a wildcard cannot bind beside it)
mn_bg bound "$T/other25.log" "$MN_PY" -c 'import socket, time
s = socket.socket()
s.bind(("192.0.2.11", 25))
s.listen(1)
time.sleep(3600)'
for _ in $(seq 1 100); do mn_in bound ss -Hltn 'sport = :25' | grep -q 192.0.2.11 && break; sleep 0.05; done
for h in ps bound psb; do
	mn_mail_start "$h" "$T/$h" || die "$h: the daemons did not start"
	mn_in "$h" postfix status >/dev/null 2>&1 || die "$h: master is not running: $(mn_log "$h" | tail -5)"
done
# listening sockets: "ADDR:PORT" of each, sorted
listens() { mn_in "$1" ss -Hltn | awk '{print $4}' | grep -E ':(25|587|465)$' | sort | paste -sd' ' -; }
want_ps="0.0.0.0:25 0.0.0.0:465 0.0.0.0:587 [::]:25 [::]:465 [::]:587"
want_bound="0.0.0.0:465 192.0.2.11:25 192.0.2.11:587 203.0.113.10:25 [2001:db8::1]:25 [::]:465"
want_psb="0.0.0.0:465 0.0.0.0:587 203.0.113.30:25 [2001:db8::30]:25 [::]:465 [::]:587"
for h in ps bound psb; do
	want=want_$h
	for _ in $(seq 1 100); do [ "$(listens "$h")" = "${!want}" ] && break; sleep 0.05; done
	[ "$(listens "$h")" = "${!want}" ] || die "$h listens on \"$(listens "$h")\", expected \"${!want}\""
done
for h in ps bound psb; do
	if mn_log "$h" | grep -E 'postfix/master.*(fatal|error|warning)|Address already in use'; then
		die "$h: master logged the above"
	fi
done
ok "master runs and listens: ps $want_ps; bound $want_bound; psb $want_psb"

# ---- the count limit, enforced by the smtpd behind postscreen ----
# twice ADDR PORT: connection A (greeting, EHLO) held open while B connects; prints both.
twice() {
	mn_in outsider "$MN_PY" - "$1" "$2" <<-'EOF'
	import socket, sys
	def reply(f):
	    out = []
	    while True:
	        l = f.readline().decode("latin-1")
	        if not l:
	            break
	        out.append(l.rstrip("\r\n"))
	        if len(l) >= 4 and l[3] == " ":
	            break
	    return " | ".join(out)
	host, port = sys.argv[1], int(sys.argv[2])
	a = socket.create_connection((host, port), timeout=30)
	fa = a.makefile("rwb", buffering=0)
	print("a-greeting:", reply(fa))
	fa.write(b"EHLO client.example.net\r\n")
	print("a-ehlo:", reply(fa))
	b = socket.create_connection((host, port), timeout=30)
	fb = b.makefile("rwb", buffering=0)
	print("b-greeting:", reply(fb))
	fa.write(b"QUIT\r\n")
	print("a-quit:", reply(fa))
	EOF
}
check_twice() {	# check_twice HOST ADDR SERVICE POSTSCREEN(0|1)
	local h=$1 addr=$2 svc=$3 screened=$4 out
	out=$(twice "$addr" 25) || die "$h: the SMTP sessions to $addr failed: $out"
	echo "$out"
	grep -q '^a-greeting: 220.*ESMTP' <<<"$out" || die "$h $addr: no greeting on the first connection"
	grep -q '^a-ehlo: 250-mail.example.com.*PIPELINING.*STARTTLS' <<<"$out" || die "$h $addr: EHLO not answered by smtpd"
	grep -q '^b-greeting: 421 4.7.0 .*too many connections' <<<"$out" || die "$h $addr: the second connection was not refused (421)"
	# smtpd's own warning, naming the master.cf service that enforced the limit (its last word)
	limit_logged() {
		mn_log "$h" | awk -v s="$svc" '/postfix\/smtpd\[[0-9]+\]: warning: Connection concurrency limit exceeded: 2 from / && $NF == s' | grep -q .
	}
	for _ in $(seq 1 40); do limit_logged && break; sleep 0.05; done
	limit_logged || die "$h $addr: smtpd did not log the limit for service $svc: $(mn_log "$h" | grep -i 'limit exceeded')"
	if [ "$screened" = 1 ]; then
		mn_log "$h" | grep -Eq 'postfix/postscreen\[[0-9]+\]: PASS NEW \[?(198\.51\.100\.21|2001:db8:0:1::21)\]?' ||
			die "$h $addr: postscreen did not pass the client: $(mn_log "$h" | grep postscreen | tail -3)"
		mn_log "$h" | grep -q 'postfix/postscreen.*too many connections' && die "$h: postscreen itself refused (the limit is on postscreen)"
	fi
	return 0
}
check_twice ps 192.0.2.10 smtpd 1
ok "ps: through postscreen (PASS NEW) to smtpd; the 2nd simultaneous connection refused by smtpd (for service smtpd)"
check_twice bound 203.0.113.10 203.0.113.10:smtp 0
check_twice bound 2001:db8::1 '[2001:db8::1]:smtp' 0
ok "bound: each bound listener's smtpd enforces the limit (203.0.113.10:smtp, [2001:db8::1]:smtp)"
check_twice psb 2001:db8::30 smtpd 1
ok "psb: postscreen on [2001:db8::30]:smtp hands off to smtpd pass, which enforces the limit"
