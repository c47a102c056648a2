#!/bin/bash
# 53-services-el7.sh - the services stage against EL7's systemctl (systemd
# 219): every systemctl command line mailstage runs is one 219 accepts, and
# rolling back a fresh install works once the packages are gone (the units
# are then not-found).
# systemd 219 cannot run on this Debian 12 machine: tests/lib/systemctl-219
# stands in for it, accepting exactly the options and verbs of 219's
# systemctl.c (RHEL 7.9 build; the list and its source are in that file) and
# printing `show` as NAME=value lines, as 219 does (it has no `show --value`,
# added in 230).  The test build runs it instead of systemctl and treats the
# scratch root as a running system (MAILSTAGE_TEST_SYSTEMCTL, test builds only).
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR

R=$T/root
mkroot "$R" el7
mkdir -p "$T/bin"
cp "$MAILSTAGE_SRC/tests/lib/systemctl-219" "$T/bin/systemctl"
SC=$T/bin/systemctl
# After `yum install`: units loaded, disabled (RHEL presets) and stopped.
fresh() {
	printf '{"saslauthd.service": {"load": "loaded", "active": "inactive", "enabled": "disabled"},
 "opendkim.service": {"load": "loaded", "active": "inactive", "enabled": "disabled"},
 "postfix.service": {"load": "loaded", "active": "inactive", "enabled": "disabled"}}\n' >"$SC.state"
}
state() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s:%s:%s" % (u, d[u]["active"], d[u]["enabled"]) for u in sorted(d)))' "$SC.state"; }
m() { MAILSTAGE_TEST_SYSTEMCTL=$SC mst --root "$R" "$@"; }

# The stand-in itself refuses what 219 refuses (else the test could not fail).
fresh
rc=0; "$SC" show -p LoadState --value postfix.service >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "^REJECTED .*option --value" "$SC.log" || die "the 219 stand-in accepted show --value"
rc=0; "$SC" list-automounts >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || die "the 219 stand-in accepted a verb 219 does not have"
[ "$("$SC" show -p LoadState nosuch.service)" = "LoadState=not-found" ] || die "stand-in: show of a missing unit"
rm -f "$SC.log"
ok "the systemd 219 stand-in rejects show --value and unknown verbs"
: >"$T/calls"

# 1. Fresh install: enable and start all three.
fresh
expect_rc 2 m --only services plan >"$T/plan" 2>&1
grep -q '^  enable and start postfix.service (now disabled, inactive)$' "$T/plan" || { cat "$T/plan"; die "plan"; }
m --only services apply >"$T/apply" 2>&1 || { cat "$T/apply"; die "apply failed"; }
[ "$(state)" = "opendkim.service:active:enabled postfix.service:active:enabled saslauthd.service:active:enabled" ] ||
	die "after apply: $(state)"
expect_rc 0 m --only services plan >/dev/null 2>&1
ok "apply: enabled and started through 219's command line; plan converged"

# 2. Rollback with the packages still there: stopped and disabled again.
m rollback >"$T/rb1" 2>&1 || { cat "$T/rb1"; die "rollback failed"; }
[ "$(state)" = "opendkim.service:inactive:disabled postfix.service:inactive:disabled saslauthd.service:inactive:disabled" ] ||
	die "after rollback: $(state)"
cat "$SC.log" >>"$T/calls"; rm -f "$SC.log"
ok "rollback: stopped and disabled again"

# 3. Rollback of a fresh install after the packages were removed (the packages
#    stage undoes its install before the services undo runs): units are
#    not-found, which 219 only says as "LoadState=not-found".
fresh
m --only services apply >/dev/null 2>&1
cat "$SC.log" >>"$T/calls"; rm -f "$SC.log"
echo '{}' >"$SC.state"	# yum history undo removed postfix, opendkim, cyrus-sasl
m rollback >"$T/rb2" 2>&1 || { cat "$T/rb2"; cat "$SC.log"; die "rollback after the packages were removed failed"; }
grep -q '^ok show -p LoadState postfix.service$' "$SC.log" || die "unit_gone did not ask LoadState"
grep -Eq '^ok (stop|disable|restart) ' "$SC.log" && die "stop/disable run on a removed unit: $(cat "$SC.log")"
cat "$SC.log" >>"$T/calls"
ok "rollback after the packages are gone: units found not-found, left alone, exit 0"

# 4. A file of opendkim changed by this run: restart (and again on rollback,
#    so it runs on its restored configuration).
active() {
	printf '{"saslauthd.service": {"load": "loaded", "active": "active", "enabled": "enabled"%s},
 "opendkim.service": {"load": "loaded", "active": "active", "enabled": "enabled"%s},
 "postfix.service": {"load": "loaded", "active": "active", "enabled": "enabled"}}\n' "${1:-}" "${2:-}" >"$SC.state"
}
active
m --only opendkim,services apply >"$T/apply4" 2>&1 || { cat "$T/apply4"; die "apply with a changed opendkim.conf"; }
grep -qx 'ok restart opendkim.service' "$SC.log" || die "opendkim not restarted: $(cat "$SC.log")"
m rollback >/dev/null 2>&1
[ "$(grep -cx 'ok restart opendkim.service' "$SC.log")" = 2 ] || die "not restarted on the restored file: $(cat "$SC.log")"
cat "$SC.log" >>"$T/calls"; rm -f "$SC.log"
ok "a changed opendkim.conf restarts opendkim, and the rollback restarts it on the restored file"

# 5. A unit that fails to start: the error carries `systemctl status`.
fresh
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["opendkim.service"]["fail_start"]=1; json.dump(d,open(sys.argv[1],"w"))' "$SC.state"
rc=0; m --only services apply >"$T/apply5" 2>&1 || rc=$?
[ $rc -ne 0 ] || die "a failing start was not reported"
grep -q 'systemctl start opendkim.service` failed (exit 1)' "$T/apply5" || { cat "$T/apply5"; die "start failure: message"; }
grep -q '^ok status --no-pager -n 10 opendkim.service$' "$SC.log" || die "no status call: $(cat "$SC.log")"
cat "$SC.log" >>"$T/calls"; rm -f "$SC.log"
ok "a failing start: reported with systemctl status"

# Every call of the whole test, as 219 would parse it.
C=$T/calls
[ -s "$C" ] || die "no systemctl call logged"
! grep '^REJECTED' "$C" || die "systemctl command lines systemd 219 does not accept (above)"
echo "verbs used: $(awk '{for (i = 2; i <= NF; i++) if ($i !~ /^-/ && $(i-1) != "-p" && $(i-1) != "-n") {print $i; break}}' "$C" | sort | uniq -c | awk '{print $2 "(" $1 ")"}' | paste -sd' ' -)"
ok "every systemctl command line ($(grep -c '^ok ' "$C") calls) is one systemd 219 accepts"
