#!/bin/bash
# 52-services-offline.sh - the services stage on a root that is not a running
# system (--root DIR): enablement is read and set for real with the
# machine's own `systemctl --root` (offline, no service manager), starting
# is impossible there and the stage says so instead of pretending; rollback
# disables what the run enabled and nothing else.  The unit files are small
# stand-ins written here; systemctl's handling of them is the real thing.
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
command -v systemctl >/dev/null || die "systemctl missing (package systemd)"

R=$T/root
mkroot "$R" debian12
mkdir -p "$R/lib/systemd/system" "$R/etc/systemd/system/multi-user.target.wants"
for u in saslauthd opendkim postfix; do
	printf '[Unit]\nDescription=%s stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' \
		$u >"$R/lib/systemd/system/$u.service"
done
# postfix is enabled already (as its package leaves it).
ln -s /lib/systemd/system/postfix.service "$R/etc/systemd/system/multi-user.target.wants/postfix.service"
enabled() { systemctl --root="$R" is-enabled saslauthd.service opendkim.service postfix.service | tr '\n' ' '; }
[ "$(enabled)" = "disabled disabled enabled " ] || die "unexpected start: $(enabled)"

expect_rc 2 ms --root "$R" --only services plan >"$T/plan" 2>&1
[ "$(grep -c '^  ' "$T/plan")" = 2 ] || die "plan is not exactly two enables: $(cat "$T/plan")"
grep -q '^  enable saslauthd.service (now disabled)$' "$T/plan" || die "plan: $(cat "$T/plan")"
grep -q '^  enable opendkim.service (now disabled)$' "$T/plan" || die "plan: $(cat "$T/plan")"
grep -q "is not a running system: enablement is set offline.*cannot be started from here" "$T/plan" ||
	die "no note about starting: $(cat "$T/plan")"
ok "plan on an offline root: enable saslauthd and opendkim, a note that nothing can be started"

expect_rc 0 ms --root "$R" --only services apply >"$T/apply" 2>&1
[ "$(enabled)" = "enabled enabled enabled " ] || die "after apply: $(enabled)"
[ -L "$R/etc/systemd/system/multi-user.target.wants/opendkim.service" ] || die "no wants link for opendkim"
expect_rc 0 ms --root "$R" --only services plan >/dev/null 2>&1
ok "apply enabled them offline (systemctl --root); plan converged"

expect_rc 0 ms --root "$R" rollback >"$T/rb" 2>&1
[ "$(enabled)" = "disabled disabled enabled " ] || die "after rollback: $(enabled)"
ok "rollback disabled what the run enabled; postfix (enabled before) stays enabled"

# A masked unit is a clear refusal before anything changes.
ln -sf /dev/null "$R/etc/systemd/system/opendkim.service"
expect_rc 3 ms --root "$R" --only services apply >"$T/apply" 2>&1
grep -q "opendkim.service is masked.*systemctl unmask opendkim.service" "$T/apply" || die "masked: $(cat "$T/apply")"
[ "$(systemctl --root="$R" is-enabled saslauthd.service)" = disabled ] || die "something changed despite the refusal"
ok "a masked unit: refused with the fix named, nothing changed"
