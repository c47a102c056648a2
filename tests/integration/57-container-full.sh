#!/bin/bash
# 57-container-full.sh - `mailstage apply` with ALL stages (no --only) on a
# real systemd host: the Debian 12 systemd-nspawn test host of tests/hosts/
# (systemd as PID 1, real D-Bus, firewalld 1.3 running inside with nftables,
# apt/dpkg installing real .debs from a local repository).  The container's
# network is a veth pair whose host end is in a network namespace of this
# test's own (CT_VETH=1, tests/hosts/nspawn.sh): connections come from OUTSIDE
# the container through its firewalld, and nothing touches the host's network.
#
# Proves, for the debian12 profile (configuration: the shipped example,
# port25_probe at the host end of the veth, no RBL: nothing leaves the test):
#  - a fresh apply (the image's package lists were never fetched: mailstage
#    refreshes them itself, nothing is done for it) installs the packages for
#    real, leaves postfix, opendkim,
#    saslauthd enabled and active, smtp/smtps/smtp-submission open in
#    firewalld (runtime and permanent), and port 587 answers "220" from
#    outside afterwards; before, a listener on 587 was filtered by firewalld
#    (EHOSTUNREACH, while port 22 of the same address was reachable);
#  - a second apply changes nothing and restarts nothing (InvocationIDs);
#  - drift (opendkim stopped, smtps removed from firewalld, main.cf's
#    smtpd_tls_auth_only flipped by hand): plan lists exactly those three,
#    apply repairs exactly those (saslauthd untouched);
#  - a failure in each system stage rolls back (exit 3; packages the run
#    installed purged, units and firewalld as before, /etc byte-identical):
#      packages: a package missing from the repository (fresh host);
#      firewall: firewalld stopped mid-run, between check and apply (fresh
#                host; the packages the run installed are purged again);
#      services: postfix unable to start, on a host that had drifted in every
#                system stage (a package removed, smtps closed, main.cf
#                changed, opendkim disabled): all of it back as it was.
# SELinux is not enabled in this kernel: the selinux stage only reports here
# (62-selinux.sh covers it against a copied policy store).
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
. "$MAILSTAGE_SRC/tests/hosts/nspawn.sh"

[ "$(id -u)" = 0 ] || die "needs root (systemd-nspawn)"
[ -x "$MAILSTAGE_BIN" ] || die "no $MAILSTAGE_BIN: run make"
ct_image

PKGS="postfix opendkim opendkim-tools sasl2-bin libsasl2-modules bsd-mailx"
UNITS="saslauthd.service opendkim.service postfix.service"
FW="smtp smtps smtp-submission"
# The stages an apply runs: provider only runs with the Sakura API keys.
NSTAGES=$("$MAILSTAGE_BIN" stages | grep -vc " provider ")

# A repository without bsd-mailx, for the missing-package case.
mkdir -p "$T/partial"
for d in "$CT_IMAGE"/repo/*.deb; do
	case $(basename "$d") in bsd-mailx_*) ;; *) ln -s "$d" "$T/partial/" ;; esac
done
(cd "$T/partial" && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null)
# ln -s targets must resolve inside the container too: bind at the same path.
PARTIAL_BIND=(--bind-ro="$T/partial:/srv/repo-partial" --bind-ro="$CT_IMAGE/repo:$CT_IMAGE/repo")

cp "$MAILSTAGE_SRC/payload/mailstage.conf" "$T/ms.conf"
printf 'port25_probe = %s:25\nrbl =\n' "$CT_HOST_ADDR" >>"$T/ms.conf"

boot() {
	ct_start "${PARTIAL_BIND[@]}"
	ct_in mkdir -p /etc/mailstage
	ct_in sh -c 'cat >/etc/mailstage/mailstage.conf' <"$T/ms.conf"
	}
cms() { ct_in /opt/mailstage/mailstage "$@"; }
installed() {	# the wanted packages dpkg has installed, one line
	ct_in dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null | awk '$2 == "ii" { print $1 }' |
		sort | tr '\n' ' '
}
states() {	# "unit enabled active" per line
	local u
	for u in $UNITS; do
		echo "$u $(ct_in systemctl is-enabled "$u" 2>/dev/null | tail -1) $(ct_in systemctl is-active "$u" 2>/dev/null)"
	done
}
invocations() { ct_in systemctl show -p InvocationID --value $UNITS | grep .; }
words() { tr ' ' '\n' | grep . | sort | tr '\n' ' '; }
fw_rt() { ct_in firewall-cmd --list-services | words; }
fw_pm() { ct_in firewall-cmd --permanent --list-services | words; }
# /etc of the container, byte for byte (content, mode, owner, xattrs), read
# through its PID 1's root.  Excluded with reason by the callers only.
etc_snap() { snapshot "/proc/$CT_LEADER/root/etc"; }
# probe PORT: how a TCP connect from the host end of the veth ends (open,
# ECONNREFUSED, EHOSTUNREACH (firewalld's reject), timeout).
probe() {
	ct_host python3 - "$CT_ADDR" "$1" <<'EOF'
import errno, socket, sys
s = socket.socket()
s.settimeout(5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print('open')
except socket.timeout:
    print('timeout')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
}
changes() {	# "stage: what" of every change an `apply --json` output made
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    if l.startswith("{"):
        o = json.loads(l)
        if o["status"] == "changed":
            for c in o["changes"]: print("%s: %s" % (o["stage"], c["what"]))' "$1"
}
banner() {	# the first line port 587 sends to a client outside
	ct_host python3 - "$CT_ADDR" 587 <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print(s.makefile('rb').readline().decode().strip())
EOF
}

# ======== container 1: fresh apply, no-op apply, drift, services failing ========
CT_VETH=1 boot
[ -z "$(installed)" ] || die "the base image already has mail packages: $(installed)"
[ "$(ct_in systemctl is-active firewalld)" = active ] || die "firewalld is not running in the container"

# Before: a listener on 587 exists, but firewalld filters it from outside.
ct_in systemd-run -q --unit=listen587 python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 587)); s.listen(5); time.sleep(600)'
for i in $(seq 1 50); do ct_in ss -Hltn 'sport = :587' | grep -q . && break; sleep 0.1; done
ct_in ss -Hltn 'sport = :587' | grep -q . || die "the test listener on 587 did not start"
[ "$(probe 22)" = ECONNREFUSED ] || die "the container is not reachable from the host end: port 22 gave $(probe 22)"
[ "$(probe 587)" = EHOSTUNREACH ] || die "before apply, port 587 from outside gave $(probe 587), expected firewalld's reject"
ct_in systemctl stop listen587
ok "before apply: a listener on 587 is filtered by firewalld from outside (EHOSTUNREACH; port 22 refused = reachable)"

expect_rc 2 cms plan >"$T/plan0" 2>&1
grep -q "install postfix opendkim opendkim-tools sasl2-bin libsasl2-modules bsd-mailx with apt-get" "$T/plan0" ||
	die "fresh plan does not list the install: $(cat "$T/plan0")"
rc=0; cms apply >"$T/apply1" 2>&1 || rc=$?
[ $rc = 0 ] || { cat "$T/apply1"; die "fresh apply exited $rc"; }
[ "$(installed)" = "bsd-mailx libsasl2-modules opendkim opendkim-tools postfix sasl2-bin " ] || die "packages after apply: $(installed)"
[ "$(states)" = "saslauthd.service enabled active
opendkim.service enabled active
postfix.service enabled active" ] || die "units after apply: $(states)"
[ "$(fw_rt)" = "dhcpv6-client smtp smtp-submission smtps ssh " ] || die "firewalld runtime after apply: $(fw_rt)"
[ "$(fw_pm)" = "dhcpv6-client smtp smtp-submission smtps ssh " ] || die "firewalld permanent after apply: $(fw_pm)"
ok "fresh apply of all $NSTAGES stages: packages $(installed), units enabled+active, firewalld $FW open (runtime, permanent)"
b=$(banner) || die "port 587 not reachable from outside after apply: $(probe 587)"
case $b in "220 mail.example.com ESMTP"*) ;; *) die "port 587 from outside: '$b'" ;; esac
ok "after apply: port 587 reached from outside the container: $b"

# No-op: nothing changes, nothing restarts.
before=$(invocations)
expect_rc 0 cms plan >"$T/plan1" 2>&1 || { cat "$T/plan1"; die "plan after apply is not empty"; }
expect_rc 0 cms apply >"$T/apply2" 2>&1
grep -q "apply: 0 of $NSTAGES stages changed, 0 changes" "$T/apply2" || die "second apply changed something: $(cat "$T/apply2")"
[ "$(invocations)" = "$before" ] || die "a no-op apply restarted a service"
ok "second apply: $(grep -o "apply: 0 of.*" "$T/apply2"), no restart (same InvocationIDs)"

# Drift in three stages.
ct_in systemctl stop opendkim
ct_in firewall-cmd -q --remove-service=smtps
ct_in firewall-cmd -q --permanent --remove-service=smtps
[ "$(ct_in postconf -h smtpd_tls_auth_only)" = yes ] || die "smtpd_tls_auth_only is not yes after apply"
ct_in sed -i 's/^smtpd_tls_auth_only = yes$/smtpd_tls_auth_only = no/' /etc/postfix/main.cf
[ "$(ct_in postconf -h smtpd_tls_auth_only)" = no ] || die "could not flip smtpd_tls_auth_only by hand"
sasl_inv=$(ct_in systemctl show -p InvocationID --value saslauthd)
expect_rc 2 cms plan >"$T/plan2" 2>/dev/null
[ "$(grep -c '^  [^ ]' "$T/plan2")" = 3 ] &&
	grep -qx '  update /etc/postfix/main.cf' "$T/plan2" &&
	grep -q '^    -smtpd_tls_auth_only = no$' "$T/plan2" && grep -q '^    +smtpd_tls_auth_only = yes$' "$T/plan2" &&
	[ "$(grep -c '^    [-+][^-+]' "$T/plan2")" = 2 ] &&
	grep -qx '  open firewalld service smtps in zone public (runtime and permanent)' "$T/plan2" &&
	grep -qx '  start opendkim.service (now inactive)' "$T/plan2" ||
	die "drift plan is not exactly the three changes: $(cat "$T/plan2")"
ok "plan lists exactly the drift: $(grep '^  [^ ]' "$T/plan2" | sed 's/^  //' | paste -sd';')"
expect_rc 0 cms --json apply >"$T/apply3" 2>/dev/null
changes "$T/apply3" >"$T/changes3"
[ "$(cat "$T/changes3")" = "postfix-main: update /etc/postfix/main.cf
firewall: open firewalld service smtps in zone public (runtime and permanent)
services: start opendkim.service (now inactive)
services: restart postfix.service (this run changed /etc/postfix/)" ] ||
	die "the repair did more or less than the drift: $(cat "$T/changes3")"
[ "$(ct_in systemctl is-active opendkim)" = active ] || die "opendkim not started again"
[ "$(fw_rt)" = "dhcpv6-client smtp smtp-submission smtps ssh " ] && [ "$(fw_pm)" = "$(fw_rt)" ] ||
	die "smtps not open again: runtime $(fw_rt) permanent $(fw_pm)"
[ "$(ct_in postconf -h smtpd_tls_auth_only)" = yes ] || die "smtpd_tls_auth_only not repaired"
[ "$(ct_in systemctl show -p InvocationID --value saslauthd)" = "$sasl_inv" ] || die "saslauthd was restarted"
expect_rc 0 cms plan >/dev/null 2>&1
ok "apply repaired exactly those (and restarted postfix for its main.cf, the handler); saslauthd untouched; plan empty"

# ---- services: postfix cannot start, on a host drifted in every system stage.
# The run must install bsd-mailx, open smtps, rewrite main.cf, enable and
# start opendkim, then fails starting postfix: all of it is undone.
ct_in apt-get purge -q -y bsd-mailx >/dev/null 2>&1
ct_in firewall-cmd -q --remove-service=smtps
ct_in firewall-cmd -q --permanent --remove-service=smtps
ct_in sed -i 's/^smtpd_tls_auth_only = yes$/smtpd_tls_auth_only = no/' /etc/postfix/main.cf
ct_in systemctl disable -q --now opendkim
ct_in systemctl stop postfix
ct_in mkdir -p /etc/systemd/system/postfix.service.d
ct_in sh -c 'printf "[Service]\nExecStartPre=/bin/false\n" >/etc/systemd/system/postfix.service.d/fail.conf'
ct_in systemctl daemon-reload
pk0=$(installed) st0=$(states) rt0=$(fw_rt) pm0=$(fw_pm) inv0=$(ct_in systemctl show -p InvocationID --value saslauthd)
etc_snap >"$T/etc-c0"
grep -q '^/postfix/main.cf f 0644 0:0 [0-9a-f]\{64\} ' "$T/etc-c0" || die "the /etc snapshot is not what it should be: $(head -3 "$T/etc-c0")"
rc=0; cms --json apply >"$T/apply4" 2>"$T/apply4.err" || rc=$?
[ $rc = 3 ] || { cat "$T/apply4" "$T/apply4.err"; die "apply with postfix unable to start exited $rc, expected 3"; }
grep -q 'systemctl start postfix.service` failed' "$T/apply4.err" || die "the failure is not explained: $(cat "$T/apply4.err")"
changes "$T/apply4" | grep -q '^packages: install bsd-mailx' || die "the run did not install bsd-mailx first: $(cat "$T/apply4")"
[ "$(installed)" = "$pk0" ] || die "packages after the rollback: $(installed), before: $pk0"
[ "$(states)" = "$st0" ] || die "units after the rollback: $(states), before: $st0"
[ "$(fw_rt)" = "$rt0" ] && [ "$(fw_pm)" = "$pm0" ] || die "firewalld after the rollback: runtime $(fw_rt) permanent $(fw_pm)"
[ "$(ct_in systemctl show -p InvocationID --value saslauthd)" = "$inv0" ] || die "saslauthd was restarted"
etc_snap >"$T/etc-c1"
diff "$T/etc-c0" "$T/etc-c1" >"$T/etc-cdiff" || die "/etc differs after the rollback: $(cat "$T/etc-cdiff")"
ok "services: postfix unable to start -> exit 3; bsd-mailx purged again, smtps closed, main.cf and units as before, /etc byte-identical"
ct_stop

# ======== container 2: failures on a fresh host ========
boot
fw_off() { ct_in firewall-offline-cmd --list-services | words; }
rt0=$(fw_rt) pm0=$(fw_pm)
nounits() {
	local u
	for u in $UNITS; do
		[ "$(ct_in systemctl show -p LoadState --value $u)" = not-found ] || die "$u still exists"
	done
}

# ---- packages: bsd-mailx is not in the repository.
ct_in sh -c 'echo "deb [trusted=yes] file:/srv/repo-partial ./" >/etc/apt/sources.list'
ct_in apt-get update -q >/dev/null 2>&1
etc_snap >"$T/etc-a0"
rc=0; cms apply >"$T/apply5" 2>&1 || rc=$?
[ $rc = 3 ] || { cat "$T/apply5"; die "apply with a package missing exited $rc, expected 3"; }
grep -q "Unable to locate package bsd-mailx" "$T/apply5" || die "apt's reason not shown: $(cat "$T/apply5")"
[ -z "$(installed)" ] || die "packages installed although apt failed: $(installed)"
nounits
[ "$(fw_rt)" = "$rt0" ] && [ "$(fw_pm)" = "$pm0" ] || die "firewalld changed: runtime $(fw_rt) permanent $(fw_pm)"
etc_snap >"$T/etc-a1"
diff "$T/etc-a0" "$T/etc-a1" >"$T/etc-adiff" || die "/etc differs after the rollback: $(cat "$T/etc-adiff")"
ok "packages: a package missing from the repository -> exit 3, apt's message shown, nothing installed, firewalld and /etc as before"

# ---- firewall: firewalld stops between the stage's check and its first
# change.  A shim found before /usr/bin/firewall-cmd (mailstage runs tools
# from /usr/sbin first) stops the real daemon on the first --add-service and
# then runs the real firewall-cmd, which fails with NOT_RUNNING (252).
ct_in sh -c 'echo "deb [trusted=yes] file:/srv/repo ./" >/etc/apt/sources.list'
ct_in apt-get update -q >/dev/null 2>&1
printf '%s\n' '#!/bin/sh' '# test shim (57-container-full.sh): firewalld stops mid-run' \
	'case " $* " in *" --add-service="*)' \
	'	if [ ! -e /run/fw-stopped ]; then : >/run/fw-stopped; systemctl stop firewalld; fi ;;' \
	'esac' 'exec /usr/bin/firewall-cmd "$@"' >"$T/shim"
ct_in sh -c 'cat >/usr/sbin/firewall-cmd && chmod 0755 /usr/sbin/firewall-cmd' <"$T/shim"
etc_snap >"$T/etc-b0"
for f in passwd group shadow gshadow passwd- group- shadow- gshadow-; do
	ct_in sh -c "cat /etc/$f" >"$T/acct-before-$f"
done
rc=0; cms apply >"$T/apply6" 2>&1 || rc=$?
[ $rc = 3 ] || { cat "$T/apply6"; die "apply with firewalld stopping mid-run exited $rc, expected 3"; }
ct_in test -e /run/fw-stopped || die "the shim did not stop firewalld"
grep -q "firewalld is not running" "$T/apply6" || die "the failure is not explained: $(cat "$T/apply6")"
grep -q "removed the packages this run installed" "$T/apply6" || die "packages not removed: $(cat "$T/apply6")"
[ -z "$(installed)" ] || die "packages still installed after the rollback: $(installed)"
ct_in dpkg -l | awk '$1 != "ii" && /^[a-z][a-z] / { print }' | grep . && die "packages left half-removed"
nounits
[ "$(ct_in systemctl is-active firewalld)" = inactive ] || die "firewalld is running again: who started it?"
[ "$(fw_off)" = "$pm0" ] || die "firewalld's permanent zone after the rollback: $(fw_off), before: $pm0"
ct_in rm /usr/sbin/firewall-cmd
ct_in systemctl start firewalld
[ "$(fw_rt)" = "$rt0" ] && [ "$(fw_pm)" = "$pm0" ] || die "firewalld restarted: runtime $(fw_rt) permanent $(fw_pm)"
# Two known differences, both Debian's packages' own doing, not mailstage's:
#  - postfix's postinst creates /etc/aliases(.db) and /etc/mailname, and its
#    purge leaves them (they are not conffiles);
#  - the maintainer scripts create system accounts (postfix, opendkim, ...)
#    and, as Debian policy wants, a purge never deletes them: passwd, group,
#    shadow, gshadow (and their "-" backups) differ exactly by added lines of
#    those accounts (the "-" backups useradd writes may also hold accounts
#    the file held before), checked line by line below.
ACCOUNTS="postfix postdrop opendkim sasl ssl-cert"
for f in passwd group shadow gshadow passwd- group- shadow- gshadow-; do
	ct_in sh -c "cat /etc/$f" >"$T/acct-after-$f"
	added=$(diff "$T/acct-before-$f" "$T/acct-after-$f" | sed -n 's/^> \([^:]*\):.*/\1/p' | sort | tr '\n' ' ')
	diff "$T/acct-before-$f" "$T/acct-after-$f" | grep -q '^<' && die "/etc/$f lost lines in the rollback"
	# A "-" backup may also hold what the file itself held before.
	known=" $ACCOUNTS $(cut -d: -f1 "$T/acct-before-${f%-}" | tr '\n' ' ') "
	for n in $added; do
		case $known in *" $n "*) ;; *) die "/etc/$f: account $n added and left by the run" ;; esac
	done
done
etc_snap | grep -v -e '^/aliases ' -e '^/aliases.db ' -e '^/mailname ' \
	-e '^/passwd-\? ' -e '^/group-\? ' -e '^/shadow-\? ' -e '^/gshadow-\? ' >"$T/etc-b1"
grep -v -e '^/passwd-\? ' -e '^/group-\? ' -e '^/shadow-\? ' -e '^/gshadow-\? ' "$T/etc-b0" >"$T/etc-b0x"
diff "$T/etc-b0x" "$T/etc-b1" >"$T/etc-bdiff" || die "/etc differs after the rollback: $(cat "$T/etc-bdiff")"
ok "firewall: firewalld stopped mid-run -> exit 3; the run's packages purged, firewalld's zone as before (runtime too, once started), /etc byte-identical but Debian's aliases, aliases.db, mailname and the system accounts its packages created: $(cat "$T/acct-after-passwd" | cut -d: -f1 | grep -xF -f <(tr ' ' '\n' <<<"$ACCOUNTS") | paste -sd' ')"
ct_stop
