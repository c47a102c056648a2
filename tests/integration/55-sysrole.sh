#!/bin/bash
# 55-sysrole.sh - the re-run as a system service (installer/sysrole.c) on a
# real systemd: the Debian 12 systemd-nspawn test host of tests/hosts/.
#
# On an enforcing SELinux host whose root login may not enter system_mail_t
# (Debian's reference policy: unconfined_r), apply, plan, rollback, verify
# and dkim run themselves again under `systemd-run --wait`, in system_r.
# make check-vm shows the kernel's side.  This container has no SELinux, so
# the test build's MAILSTAGE_TEST_SYSROLE=ROLE stands for the policy's
# refusal of ROLE; everything else is real: PID 1 starts the unit, opens its
# output files, and the caller copies them.  Proves:
#  - the command runs as a transient unit of PID 1 (its journal names it);
#  - in the caller's working directory (a relative -c ./mailstage.conf);
#  - stdout and stderr stay apart and are the same bytes a direct run
#    prints, and the exit code is the service's: 2 (plan: changes pending)
#    and 78 (a configuration file that is not there);
#  - nothing is left under /run (the output directory) nor as a unit;
#  - a command that starts no system program (status) is not re-run.
# Not covered: the interrupt passed on to the service (systemctl kill).
. "$(dirname "$0")/lib.sh"
. "$MAILSTAGE_SRC/tests/hosts/nspawn.sh"

[ "$(id -u)" = 0 ] || die "needs root (systemd-nspawn)"
[ -x "$MAILSTAGE_TESTBIN" ] || die "no $MAILSTAGE_TESTBIN: run make test-build"
ct_image
ct_start
ct_in mkdir -p /etc/mailstage
ct_in sh -c 'cat >/etc/mailstage/mailstage.conf' <"$MAILSTAGE_SRC/payload/mailstage.conf"
units() { ct_in journalctl -q --no-pager _PID=1 | grep -c 'mailstage (as a system service' || true; }
# run NAME ENV... -- ARGS...: in /etc/mailstage, stdout, stderr and exit code into /root/NAME.{out,err,rc}
run() {
	local name=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	ct_in env "${envs[@]}" sh -c 'cd /etc/mailstage && /opt/mailstage/mailstage-test "$@" >/root/'"$name"'.out 2>/root/'"$name"'.err; echo $? >/root/'"$name"'.rc' sh "$@"
}
same() {	# same A B: the two runs printed the same stdout and stderr and exited alike
	local f
	for f in out err rc; do
		cmp -s <(ct_in cat /root/$1.$f) <(ct_in cat /root/$2.$f) || {
			diff -u <(ct_in cat /root/$1.$f) <(ct_in cat /root/$2.$f) | head -20
			die "$2: its $f differs from the direct run's"
		}
	done
}

n0=$(units)
run direct X=1 -- -c ./mailstage.conf plan
run service MAILSTAGE_TEST_SYSROLE=unconfined_r -- -c ./mailstage.conf plan
n1=$(units)
[ "$n1" -gt "$n0" ] || die "plan did not run as a transient unit (PID 1's journal: $n0 before, $n1 after)"
[ "$(ct_in cat /root/direct.rc)" = 2 ] || { ct_in cat /root/direct.err; die "the direct plan exited $(ct_in cat /root/direct.rc), expected 2"; }
ct_in grep -q . /root/service.out || die "the service's plan printed nothing on stdout"
same direct service
ok "plan re-run as a transient unit of PID 1: relative -c found, the same stdout ($(ct_in wc -l /root/service.out | cut -d" " -f1) lines) and stderr, exit 2"

run direct78 X=1 -- -c ./missing.conf plan
run service78 MAILSTAGE_TEST_SYSROLE=unconfined_r -- -c ./missing.conf plan
[ "$(ct_in cat /root/direct78.rc)" = 78 ] || die "the direct plan with a missing config exited $(ct_in cat /root/direct78.rc), expected 78"
ct_in grep -q missing.conf /root/service78.err || die "the service's error does not name the file"
same direct78 service78
ok "a missing configuration through the service: exit 78 and the same message on stderr ($(ct_in head -c 70 /root/service78.err)...)"

left=$(ct_in sh -c 'ls -d /run/mailstage-sysrole.* 2>/dev/null; systemctl list-units --all --no-legend "mailstage-sysrole-*"')
[ -z "$left" ] || die "left behind: $left"
ok "nothing left: no /run/mailstage-sysrole.*, no mailstage-sysrole-* unit"

n2=$(units)
run status MAILSTAGE_TEST_SYSROLE=unconfined_r -- -c ./mailstage.conf status
[ "$(units)" = "$n2" ] || die "status was re-run as a service"
ok "status (no system program) is not re-run"
