#!/bin/bash
# 56-container-converge.sh - mailstage-converge.service and .timer on a real
# systemd host (the Debian 12 systemd-nspawn test host of tests/hosts/).
#
# The units are the shipped ones, written out by `mailstage payload
# --extract` inside the container and installed unchanged in
# /usr/lib/systemd/system (/usr/sbin/mailstage is the host-built binary).
# Proves:
#  - they ship disabled; `systemctl enable --now mailstage-converge.timer`
#    arms a daily, persistent timer with a randomized delay;
#  - starting the service converges the host (all stages, `apply --json`);
#  - with drift introduced in two stages (the DKIM key's mode, opendkim
#    stopped), starting the service repairs exactly those, and the journal
#    has one stage-changed entry for each (MAILSTAGE_STAGE=dkim-keys,
#    services), found by the command mailstage(8) gives;
#  - with a DMARC report of the last day in root's mailbox, the service logs
#    the digest (MAILSTAGE_ACTION=dmarc-digest: pass rate, failing sources);
#  - a run that fails (postfix made unable to start) is rolled back (opendkim
#    back to stopped), the unit fails with exit status 3 and shows in
#    `systemctl --failed`, and the journal has the failed/rolled-back entries.
# The timer is not waited for (no timing in tests): its schedule is read back.
. "$(dirname "$0")/lib.sh"
. "$MAILSTAGE_SRC/tests/hosts/nspawn.sh"

[ "$(id -u)" = 0 ] || die "needs root (systemd-nspawn)"
[ -x "$MAILSTAGE_BIN" ] || die "no $MAILSTAGE_BIN: run make"
ct_image
ct_start
ct_in mkdir -p /etc/mailstage
ct_in sh -c 'cat >/etc/mailstage/mailstage.conf' <"$MAILSTAGE_SRC/payload/mailstage.conf"
ct_in ln -s /opt/mailstage/mailstage /usr/sbin/mailstage
ct_in mailstage payload --extract /root/payload 2>/dev/null
for u in mailstage-converge.service mailstage-converge.timer; do
	ct_in cp "/root/payload/units/$u" /usr/lib/systemd/system/
	cmp <(ct_in cat "/usr/lib/systemd/system/$u") "$MAILSTAGE_SRC/payload/units/$u" || die "$u differs from payload/units"
done
ct_in systemctl daemon-reload
prop() { ct_in systemctl show -p "$2" --value "$1"; }

# ---- shipped disabled; enabling the timer arms it
for u in mailstage-converge.service mailstage-converge.timer; do
	[ "$(prop $u LoadState)" = loaded ] || die "$u does not load: $(ct_in systemctl status $u 2>&1)"
done
[ "$(ct_in systemctl is-enabled mailstage-converge.timer 2>&1)" = disabled ] || die "the timer is not shipped disabled"
[ "$(ct_in systemctl is-active mailstage-converge.timer 2>&1)" = inactive ] || die "the timer runs before it is enabled"
ct_in systemctl enable --now mailstage-converge.timer >/dev/null 2>&1 || die "systemctl enable --now mailstage-converge.timer failed"
[ "$(ct_in systemctl is-active mailstage-converge.timer)" = active ] || die "the timer is not active after enable --now"
[ "$(ct_in systemctl is-enabled mailstage-converge.timer)" = enabled ] || die "the timer is not enabled"
[ "$(prop mailstage-converge.timer Persistent)" = yes ] || die "the timer is not Persistent"
[ "$(prop mailstage-converge.timer RandomizedDelayUSec)" = 1h ] || die "RandomizedDelaySec is not 1h: $(prop mailstage-converge.timer RandomizedDelayUSec)"
prop mailstage-converge.timer TimersCalendar | grep -qF 'OnCalendar=*-*-* 00:00:00 ;' || die "not daily: $(prop mailstage-converge.timer TimersCalendar)"
[ "$(prop mailstage-converge.timer Unit)" = mailstage-converge.service ] || die "the timer starts another unit"
[ -n "$(prop mailstage-converge.timer NextElapseUSecRealtime)" ] || die "the timer has no next elapse time"
ok "shipped disabled; enable --now arms a daily persistent timer with RandomizedDelaySec=1h"
# Stop the timer again so that it cannot start a run while the test starts them.
ct_in systemctl stop mailstage-converge.timer

# ---- the first run converges the host
cursor() { ct_in journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'; }
run_service() {	# start the oneshot; prints its exit status
	ct_in systemctl reset-failed mailstage-converge.service 2>/dev/null || true
	ct_in systemctl start mailstage-converge.service >/dev/null 2>&1 || true
	prop mailstage-converge.service ExecMainStatus
}
# CURSOR ACTION: the MAILSTAGE_STAGE values the unit logged with MAILSTAGE_ACTION=ACTION
# since CURSOR.  Filtered here, not by journalctl: systemd 252's journalctl
# --after-cursor with field matches skips the first matching entry when the
# cursor's own entry does not match.
stages_logged() {
	ct_in journalctl -q --after-cursor="$1" -o verbose | awk -v act="$2" '
		function flush() { if (unit && a == act) print st; unit = 0; a = ""; st = "" }
		/^[^ ]/ { flush(); next }
		/^ *_SYSTEMD_UNIT=mailstage-converge.service$/ { unit = 1 }
		/^ *MAILSTAGE_ACTION=/ { sub(/^ *MAILSTAGE_ACTION=/, ""); a = $0 }
		/^ *MAILSTAGE_STAGE=/ { sub(/^ *MAILSTAGE_STAGE=/, ""); st = $0 }
		END { flush() }' | sort | tr '\n' ' '
}
c0=$(cursor)
[ -n "$c0" ] || die "no journal cursor"
st=$(run_service)
[ "$st" = 0 ] || die "the first converge run exited $st: $(ct_in journalctl -q -u mailstage-converge --no-pager | tail -30)"
[ "$(prop mailstage-converge.service Result)" = success ] || die "the unit did not succeed"
ct_in journalctl -q -u mailstage-converge -o cat --after-cursor="$c0" | grep -q '^{"stage":"services","status":"changed"' ||
	die "no --json result on the unit's output: $(ct_in journalctl -q -u mailstage-converge -o cat --after-cursor="$c0" | tail)"
logged=$(stages_logged "$c0" stage-changed)
case " $logged" in *" dkim-keys "*" services "*) ;; *) die "first run: stages logged as changed: $logged" ;; esac
ok "the first run converged the host (journal: changed $logged)"

# A converged host: a run changes nothing and logs no stage.
c1=$(cursor)
[ "$(run_service)" = 0 ] || die "a run on a converged host failed"
[ -z "$(stages_logged "$c1" stage-changed)" ] || die "a run on a converged host changed $(stages_logged "$c1" stage-changed)"
ok "a run on the converged host changed nothing"

# ---- the DMARC digest: a report of the last day in root's mailbox (dmarc: root), logged before the apply
now=$(date +%s)
sed -e "s|<begin>[0-9]*</begin>|<begin>$((now - 86400))</begin>|" -e "s|<end>[0-9]*</end>|<end>$((now - 60))</end>|" \
	"$MAILSTAGE_SRC/tests/data/dmarc/report-7489.xml" >"$T/recent.xml"
{ echo "From noreply-dmarc@receiver-one.example $(date -u '+%a %b %e %T %Y')"; printf 'Content-Type: text/xml\n\n'
  cat "$T/recent.xml"; echo; } | ct_in sh -c 'cat >>/var/mail/root'
c1b=$(cursor)
[ "$(run_service)" = 0 ] || die "the run with a DMARC report in the mailbox failed"
ct_in journalctl -q -u mailstage-converge --after-cursor="$c1b" -o verbose | awk '
	/^[^ ]/ { if (d) print m; d = 0; m = "" }
	/^ *MAILSTAGE_ACTION=dmarc-digest$/ { d = 1 }
	/^ *MESSAGE=/ { sub(/^ *MESSAGE=/, ""); m = $0 }
	END { if (d) print m }' >"$T/digest"
want="DMARC digest: 1 reports, 50 messages, 80.0% passed DMARC; failing sources: 198.51.100.23 (7), 2001:db8::10 (3)"
[ "$(cat "$T/digest")" = "$want" ] || die "journal MAILSTAGE_ACTION=dmarc-digest: [$(cat "$T/digest")], expected [$want]"
ok "journal: dmarc-digest logged by the converge service ($want)"

# ---- drift in two stages: repaired, and the journal names them
key=$(ct_in find /etc/opendkim -name '*.private' | head -1)
[ -n "$key" ] || die "no DKIM private key under /etc/opendkim"
mode=$(ct_in stat -c %a "$key")
ct_in chmod 0644 "$key"
ct_in systemctl stop opendkim
c2=$(cursor)
[ "$(run_service)" = 0 ] || die "the repair run failed: $(ct_in journalctl -q -u mailstage-converge --no-pager --after-cursor="$c2" | tail -30)"
[ "$(ct_in stat -c %a "$key")" = "$mode" ] || die "the key's mode was not repaired"
[ "$(ct_in systemctl is-active opendkim)" = active ] || die "opendkim was not started again"
logged=$(stages_logged "$c2" stage-changed)
[ "$logged" = "dkim-keys services " ] || die "journal stages for the repair: [$logged], expected [dkim-keys services ]"
# The command the manual page gives finds them too (this run's entries).
run=$(ct_in ls /var/lib/mailstage/runs | sort -n | tail -1)
ct_in journalctl -q -u mailstage-converge MAILSTAGE_ACTION=stage-changed MAILSTAGE_RUN="$run" -o cat >"$T/j"
grep -q '^stage dkim-keys changed' "$T/j" && grep -q '^stage services changed' "$T/j" && [ "$(wc -l <"$T/j")" = 2 ] ||
	die "journalctl -u mailstage-converge MAILSTAGE_ACTION=stage-changed MAILSTAGE_RUN=$run: $(cat "$T/j")"
ok "drift repaired by the service; journal: stage-changed for $logged"

# ---- a failing run: rolled back, the unit fails
ct_in systemctl stop opendkim
ct_in systemctl stop postfix
ct_in mkdir -p /etc/systemd/system/postfix.service.d
ct_in sh -c 'printf "[Service]\nExecStartPre=/bin/false\n" >/etc/systemd/system/postfix.service.d/fail.conf'
ct_in systemctl daemon-reload
c3=$(cursor)
st=$(run_service)
[ "$st" = 3 ] || die "the failing run exited $st, expected 3 (rolled back)"
[ "$(ct_in systemctl is-failed mailstage-converge.service)" = failed ] || die "the unit is not failed"
ct_in systemctl --failed --no-legend --plain | grep -q '^mailstage-converge.service' ||
	die "systemctl --failed does not list mailstage-converge.service"
[ "$(ct_in systemctl is-active opendkim)" = inactive ] || die "the rollback did not stop opendkim again"
[ -n "$(stages_logged "$c3" failed)" ] || die "no MAILSTAGE_ACTION=failed entry in the journal"
[ -n "$(stages_logged "$c3" rolled-back)" ] || die "no MAILSTAGE_ACTION=rolled-back entry in the journal"
ok "a failing run was rolled back (opendkim stopped again), exit 3, unit failed and in systemctl --failed"

# Fixed, the next run converges and clears the failure.
ct_in rm -r /etc/systemd/system/postfix.service.d
ct_in systemctl daemon-reload
[ "$(run_service)" = 0 ] || die "the run after the fix failed"
[ "$(ct_in systemctl is-active postfix)" = active ] && [ "$(ct_in systemctl is-active opendkim)" = active ] ||
	die "not converged after the fix"
ok "converged again after the fix"
ct_stop
