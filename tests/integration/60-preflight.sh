#!/bin/bash
# Stage preflight: refusals before anything changes, and its reports.
# The host checks (port 25 owner, outbound probe, DNS) run with --root / in a
# private network namespace (loopback only) with real listening sockets: the
# "other MTA" is a real process named exim4 bound to 127.0.0.1:25, found
# through NETLINK_SOCK_DIAG and /proc/PID/fd like on a real host; the outbound
# probe connects to a loopback listener (never a real host).
. "$(dirname "$0")/lib.sh"

if [ -n "${MS_PF_NETNS:-}" ]; then
	# ---- inside the network namespace ----
	conf=$T/ms.conf
	cp "$MAILSTAGE_SRC/payload/mailstage.conf" "$conf"
	listen() {	# listen NAME PORT: a process called NAME listening on 127.0.0.1:PORT
		mkdir -p "$T/bin-$1"
		cp "$(python3 -c "import os,sys; print(os.path.realpath(sys.executable))")" "$T/bin-$1/$(basename "$1")"
		"$T/bin-$1/$(basename "$1")" -c "import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $2)); s.listen(5); time.sleep(120)" &
		pids+=($!)
		for i in $(seq 1 100); do
			python3 -c "import socket; socket.create_connection(('127.0.0.1', $2), 1)" 2>/dev/null && return 0
			sleep 0.1
		done
		die "listener $1 on $2 did not start"
	}
	stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
	pids=()
	trap 'stop_all; rm -rf "$T"' EXIT

	# Outbound probe to a loopback listener that answers: no "blocked" report.
	listen probe-ok 2525
	echo "port25_probe = 127.0.0.1:2525" >>"$conf"
	ms --root / -c "$conf" --only preflight plan >"$T/ok" 2>&1 || { cat "$T/ok"; die "preflight refused a clean host"; }
	grep -q "looks blocked" "$T/ok" && die "probe to a listening port reported blocked"
	grep -q "mail.example.com does not resolve" "$T/ok" || { cat "$T/ok"; die "no DNS report"; }
	ok "clean host: preflight passes; the unresolvable hostname is reported, not refused"

	# Nothing listens on the probe port: reported, not refused.
	sed -i 's/^port25_probe = .*/port25_probe = 127.0.0.1:2526/' "$conf"
	ms --root / -c "$conf" --only preflight plan >"$T/blocked" 2>&1 || die "blocked port 25 refused"
	grep -q "outbound TCP port 25 looks blocked (connect to 127.0.0.1 port 2526" "$T/blocked" || { cat "$T/blocked"; die "blocked probe not reported"; }
	ok "outbound port 25 unreachable: reported as a warning"

	# Another MTA owns port 25: refused with its name, exit 78.
	listen exim4 25
	rc=0; ms --root / -c "$conf" --only preflight plan >"$T/mta" 2>&1 || rc=$?
	cat "$T/mta"
	[ $rc -eq 78 ] || die "other MTA: exit $rc, expected 78"
	grep -q "another program owns TCP port 25: exim4 (pid" "$T/mta" || die "other MTA not named"
	stop_all
	ok "exim4 listening on port 25: refused (78) with its name"

	# Postfix's own master on port 25 (a re-run) is not a conflict.
	listen postfix/master 25
	ms --root / -c "$conf" --only preflight plan >"$T/pf" 2>&1 || { cat "$T/pf"; die "postfix master refused"; }
	stop_all
	ok "postfix master on port 25: accepted"
	exit 0
fi

R=$T/r
mkroot "$R" debian12
expect_rc 0 ms --root "$R" --only preflight plan
ok "scratch root: preflight passes"

# Not an FQDN (configuration refuses first; preflight says the same).
sed -i 's/^hostname = .*/hostname = mail/' "$R/etc/mailstage/mailstage.conf"
expect_rc 78 ms --root "$R" --only preflight plan
mkroot "$R" debian12
ok "hostname without a domain: 78"

# Less than 200 MB free on the target: 74, nothing changed (a small tmpfs as the root).
rc=0
unshare -m --propagation private bash -c '
	mkdir -p "$1/small" && mount -t tmpfs -o size=50m tmpfs "$1/small" &&
	"$2/tests/lib/mkroot" "$1/small/r" debian12 &&
	python3 "$2/tests/lib/snapshot.py" "$1/small/r" >"$1/small.before" &&
	{ "$3" --root "$1/small/r" apply >"$1/small.out" 2>&1; rc=$?; } &&
	python3 "$2/tests/lib/snapshot.py" "$1/small/r" >"$1/small.after" && exit $rc' \
	-- "$T" "$MAILSTAGE_SRC" "$MAILSTAGE_BIN" || rc=$?
cat "$T/small.out"
[ $rc -eq 74 ] || die "50 MB free: exit $rc, expected 74"
grep -q "only [0-9]* MB free" "$T/small.out" || die "free space message"
diff -u "$T/small.before" "$T/small.after" || die "the root changed despite the refusal"
ok "50 MB free: apply refused with 74, nothing written"

# firewalld older than 0.4.4 (CentOS 7 never updated past 7.3: 0.4.3) has no
# smtp-submission service: refused before anything changes, naming the
# missing definition and the fixes.  The service directory is written here
# with the definitions that firewalld 0.4.3 does have (smtp, smtps, ssh);
# firewalld 0.4.3 itself cannot run on this machine.
F=$T/fw043
mkroot "$F" el7
mkdir -p "$F/usr/sbin" "$F/usr/lib/firewalld/services"
printf '#!/usr/bin/python -Es\n# firewalld 0.4.3 (stand-in: only its presence is read)\n' >"$F/usr/sbin/firewalld"
for s in smtp:25 smtps:465 ssh:22; do
	printf '<?xml version="1.0" encoding="utf-8"?>\n<service>\n  <short>%s</short>\n  <port protocol="tcp" port="%s"/>\n</service>\n' \
		"${s%:*}" "${s#*:}" >"$F/usr/lib/firewalld/services/${s%:*}.xml"
done
snapshot "$F" >"$T/fw.before"
rc=0; ms --root "$F" apply >"$T/fw043.out" 2>&1 || rc=$?
cat "$T/fw043.out"
[ $rc -eq 78 ] || die "firewalld without smtp-submission: exit $rc, expected 78"
grep -q 'this firewalld has no service definition "smtp-submission" (/usr/lib/firewalld/services/smtp-submission.xml): firewalld has it since 0.4.4' "$T/fw043.out" ||
	die "the missing definition is not named"
grep -q 'yum update firewalld' "$T/fw043.out" && grep -q 'firewall-cmd --permanent --add-port=587/tcp' "$T/fw043.out" ||
	die "the fixes (yum update firewalld, port 587/tcp) are not named"
grep -q 'did you mean' "$T/fw043.out" && die "a did-you-mean guess instead of the firewalld version"
snapshot "$F" | diff -u "$T/fw.before" - || die "the root changed despite the refusal"
# With the definition present (firewalld >= 0.4.4) preflight passes.
cp "$F/usr/lib/firewalld/services/smtp.xml" "$F/usr/lib/firewalld/services/smtp-submission.xml"
expect_rc 0 ms --root "$F" --only preflight plan
ok "firewalld < 0.4.4 (no smtp-submission.xml): refused with 78 naming the definition, yum update firewalld and 587/tcp; nothing changed"

# Not root: refused (77) unless --root is the user's own directory.
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	P=$(mktemp -d /tmp/mailstage-pf.XXXXXX)
	trap 'rm -rf "$T" "$P"' EXIT
	chmod 0755 "$P"
	cp "$MAILSTAGE_BIN" "$P/mailstage"
	"$MAILSTAGE_SRC/tests/lib/mkroot" "$P/r" debian12
	chmod -R a+rX "$P/r"
	asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$P/mailstage" "$@"; }
	expect_rc 77 asnobody --root "$P/r" --only preflight plan
	chown -R nobody "$P/r"
	expect_rc 0 asnobody --root "$P/r" --only preflight plan
	expect_rc 77 asnobody -c "$P/r/etc/mailstage/mailstage.conf" --only preflight plan
	ok "not root: 77 on the host and on a root owned by someone else; own --root accepted"
fi

# The host checks, in a private network namespace.
MS_PF_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0"' "$0"
