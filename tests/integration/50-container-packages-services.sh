#!/bin/bash
# 50-container-packages-services.sh - the packages and services stages on a
# real systemd host: a Debian 12 systemd-nspawn container (systemd as PID 1,
# real D-Bus, apt and dpkg installing real .debs from a local repository, no
# network), booted with --volatile=overlay so each boot starts clean.
#
# Proves, for the debian12 profile:
#  - a fresh apply (package lists never fetched: mailstage refreshes them)
#    installs postfix, opendkim, opendkim-tools, sasl2-bin, bsd-mailx for real and leaves postfix, opendkim, saslauthd enabled and
#    active; the services touched by the run's files are restarted (handlers);
#  - a second apply changes nothing and restarts nothing (InvocationIDs);
#  - drift (opendkim stopped): plan lists exactly that, apply repairs only it;
#  - a unit that fails to start: apply exits 3 and each unit is back in its
#    previous enabled/active state;
#  - a failure injected in the services stage of a fresh apply: exit 3, the
#    packages this run installed are purged again, the files are gone;
#  - a package missing from the repository: exit 3, apt's message shown,
#    nothing installed;
#  - rollback refuses to purge packages a later-installed package depends on.
# Stages used: packages, tls, dkim-keys, services (the others have their
# own tests; --only keeps this one independent of them).
. "$(dirname "$0")/lib.sh"
# A command failing under set -e says which (instead of a silent exit 1).
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
. "$MAILSTAGE_SRC/tests/hosts/nspawn.sh"

[ "$(id -u)" = 0 ] || die "needs root (systemd-nspawn)"
[ -x "$MAILSTAGE_TESTBIN" ] || die "no $MAILSTAGE_TESTBIN: run make test-build"
ct_image

STAGES=packages,tls,dkim-keys,services
PKGS="postfix opendkim opendkim-tools sasl2-bin libsasl2-modules bsd-mailx"
UNITS="saslauthd.service opendkim.service postfix.service"

# A repository without bsd-mailx, for the missing-package case.
mkdir -p "$T/partial"
for d in "$CT_IMAGE"/repo/*.deb; do
	case $(basename "$d") in bsd-mailx_*) ;; *) ln -s "$d" "$T/partial/" ;; esac
done
(cd "$T/partial" && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null)
# ln -s targets must resolve inside the container too: bind at the same path.
PARTIAL_BIND=(--bind-ro="$T/partial:/srv/repo-partial" --bind-ro="$CT_IMAGE/repo:$CT_IMAGE/repo")

boot() {
	ct_start "${PARTIAL_BIND[@]}"
	ct_in mkdir -p /etc/mailstage
	ct_in sh -c 'cat >/etc/mailstage/mailstage.conf' <"$MAILSTAGE_SRC/payload/mailstage.conf"
	}
# mailstage inside the container (the host-built binaries, bind-mounted).
cms() { ct_in /opt/mailstage/mailstage "$@"; }
installed() {	# prints the wanted packages dpkg has installed
	ct_in dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null | awk '$2 == "ii" { print $1 }'
}
states() {	# "unit enabled active" per line
	local u
	for u in $UNITS; do
		echo "$u $(ct_in systemctl is-enabled "$u" 2>/dev/null | tail -1) $(ct_in systemctl is-active "$u" 2>/dev/null)"
	done
}
invocations() { ct_in systemctl show -p InvocationID --value $UNITS | grep .; }

# ---- container 1: fresh apply, no-op apply, drift, a unit failing to start ----
boot
[ -z "$(installed)" ] || die "the base image already has mail packages: $(installed)"
ct_in dpkg-query -W postfix >/dev/null 2>&1 && die "postfix in the base image"

expect_rc 2 cms --only $STAGES plan >"$T/plan0" 2>&1
grep -q "install postfix opendkim opendkim-tools sasl2-bin libsasl2-modules bsd-mailx with apt-get" "$T/plan0" ||
	die "fresh plan does not list the install: $(cat "$T/plan0")"

expect_rc 0 ct_in env MAILSTAGE_HOOK_LOG=/root/hooks /opt/mailstage/mailstage-test --json --only $STAGES apply \
	>"$T/apply1" 2>&1 || { cat "$T/apply1"; die "fresh apply failed"; }
[ "$(installed | sort | tr '\n' ' ')" = "bsd-mailx libsasl2-modules opendkim opendkim-tools postfix sasl2-bin " ] ||
	die "packages not installed after apply: $(installed)"
ok "fresh apply installed the packages: $(installed | tr '\n' ' ')"
[ "$(states)" = "saslauthd.service enabled active
opendkim.service enabled active
postfix.service enabled active" ] || die "units after apply: $(states)"
ok "postfix, opendkim, saslauthd enabled and active"
# Handlers: tls wrote the certificate postfix uses, dkim-keys the key opendkim uses.
grep -q 'restart postfix.service (this run changed /etc/ssl/' "$T/apply1" || die "postfix not restarted for its TLS files: $(cat "$T/apply1")"
grep -q 'restart opendkim.service (this run changed /etc/opendkim/' "$T/apply1" || die "opendkim not restarted for its key"
grep -q 'enable and start saslauthd.service (now disabled, inactive)' "$T/apply1" || die "saslauthd not enabled and started"
ok "the run restarted postfix and opendkim because it changed their files"
# The failure point for the fresh-host case below: the first services action.
FAIL_AT=$(ct_in cat /root/hooks | awk '/ action .*saslauthd.service/ { print $1; exit }')
[ -n "$FAIL_AT" ] || die "no services action in the hook log: $(ct_in cat /root/hooks)"

# No-op: nothing changes, nothing restarts.
before=$(invocations)
expect_rc 0 cms --only $STAGES plan >"$T/plan1" 2>&1
expect_rc 0 cms --only $STAGES apply >"$T/apply2" 2>&1
grep -q "apply: 0 of 4 stages changed, 0 changes" "$T/apply2" || die "second apply changed something: $(cat "$T/apply2")"
[ "$(invocations)" = "$before" ] || die "a no-op apply restarted a service"
ok "second apply: no change, no restart (same InvocationIDs): $(grep -o 'apply: 0 of 4.*' "$T/apply2")"

# Drift: opendkim stopped.
ct_in systemctl stop opendkim
before=$(invocations | sed -n '1p;3p')
expect_rc 2 cms --only $STAGES plan >"$T/plan2" 2>/dev/null
[ "$(grep -c '^  ' "$T/plan2")" = 1 ] && grep -q '^  start opendkim.service (now inactive)$' "$T/plan2" ||
	die "drift plan is not exactly 'start opendkim': $(cat "$T/plan2")"
ok "plan lists exactly the drift: $(grep '^  ' "$T/plan2")"
expect_rc 0 cms --only $STAGES apply >"$T/apply3" 2>&1
[ "$(ct_in systemctl is-active opendkim)" = active ] || die "opendkim not repaired"
[ "$(invocations | sed -n '1p;3p')" = "$before" ] || die "repairing opendkim restarted saslauthd or postfix"
expect_rc 0 cms --only $STAGES plan >/dev/null 2>&1
ok "apply repaired only opendkim"

# A unit that fails to start: opendkim disabled and stopped, postfix stopped and made to fail.
ct_in systemctl disable --now opendkim >/dev/null 2>&1
ct_in systemctl stop postfix
ct_in mkdir -p /etc/systemd/system/postfix.service.d
ct_in sh -c 'printf "[Service]\nExecStartPre=/bin/false\n" >/etc/systemd/system/postfix.service.d/fail.conf'
ct_in systemctl daemon-reload
sasl_inv=$(ct_in systemctl show -p InvocationID --value saslauthd)
expect_rc 3 cms --only $STAGES apply >"$T/apply4" 2>&1
grep -q 'systemctl start postfix.service` failed' "$T/apply4" || die "the failure is not explained: $(cat "$T/apply4")"
[ "$(states)" = "saslauthd.service enabled active
opendkim.service disabled inactive
postfix.service enabled inactive" ] || die "units not back to their previous state: $(states)"
[ "$(ct_in systemctl show -p InvocationID --value saslauthd)" = "$sasl_inv" ] || die "saslauthd was touched"
ok "a unit failing to start: exit 3, opendkim back to disabled+inactive, postfix inactive"
ct_in rm -r /etc/systemd/system/postfix.service.d
ct_in systemctl daemon-reload
expect_rc 0 cms --only $STAGES apply >/dev/null 2>&1
[ "$(states | awk '{print $2 $3}' | sort -u)" = enabledactive ] || die "not converged after the fix: $(states)"
ok "converged again once the unit can start"
ct_stop

# ---- container 2: failures on a fresh host ----
boot
ct_in find /etc -xdev | sort >"$T/etc-before"
expect_rc 3 ct_in env MAILSTAGE_FAIL_AT="$FAIL_AT" /opt/mailstage/mailstage-test --only $STAGES apply >"$T/apply5" 2>&1
grep -q "injected failure" "$T/apply5" || die "no injected failure: $(cat "$T/apply5")"
grep -q "removed the packages this run installed" "$T/apply5" || die "packages not removed: $(cat "$T/apply5")"
[ -z "$(installed)" ] || die "packages still installed after the rollback: $(installed)"
ct_in dpkg -l | awk '$1 != "ii" && /^[a-z][a-z] / { print }' | grep . && die "packages left half-removed"
# Debian's postfix postinst creates /etc/aliases(.db) and /etc/mailname, and its
# purge leaves them (they are not conffiles): the one known difference.
ct_in find /etc -xdev | grep -vx -e /etc/aliases -e /etc/aliases.db -e /etc/mailname | sort >"$T/etc-after"
diff "$T/etc-before" "$T/etc-after" >"$T/etc-diff" || die "files left in /etc after the rollback: $(cat "$T/etc-diff")"
for u in $UNITS; do
	[ "$(ct_in systemctl show -p LoadState --value $u)" = not-found ] || die "$u still exists"
done
ok "failure in services on a fresh host: exit 3, every package the run installed purged, /etc as before"

# A package the repository does not have.
ct_in sh -c 'echo "deb [trusted=yes] file:/srv/repo-partial ./" >/etc/apt/sources.list'
ct_in apt-get update -q >/dev/null 2>&1
expect_rc 3 cms --only $STAGES apply >"$T/apply6" 2>&1
grep -q "Unable to locate package bsd-mailx" "$T/apply6" || die "apt's reason not shown: $(cat "$T/apply6")"
[ -z "$(installed)" ] || die "packages installed although apt failed: $(installed)"
ok "a package missing from the repository: exit 3, apt's message shown, nothing installed"

# Rollback never takes along a package installed since that depends on ours.
ct_in sh -c 'echo "deb [trusted=yes] file:/srv/repo ./" >/etc/apt/sources.list'
ct_in apt-get update -q >/dev/null 2>&1
expect_rc 0 cms --only $STAGES apply >"$T/apply7" 2>&1
mkdir -p "$T/dep/DEBIAN"
printf 'Package: mailstage-test-dependent\nVersion: 1\nArchitecture: all\nMaintainer: test <t@example.com>\nDepends: opendkim-tools\nDescription: depends on a package mailstage installed\n' >"$T/dep/DEBIAN/control"
dpkg-deb -b "$T/dep" "$T/dep.deb" >/dev/null
ct_in sh -c 'cat >/root/dep.deb' <"$T/dep.deb"
ct_in dpkg -i /root/dep.deb >/dev/null
expect_rc 1 cms rollback >"$T/rb" 2>&1
grep -q "would also remove mailstage-test-dependent" "$T/rb" || die "rollback does not name the dependent package: $(cat "$T/rb")"
[ "$(installed | wc -l)" = "$(echo $PKGS | wc -w)" ] || die "packages removed although a later package depends on them: $(installed | tr "\n" " ")"
ct_in dpkg-query -W mailstage-test-dependent >/dev/null || die "the dependent package was removed"
ok "rollback refuses to remove packages a later package depends on, and says which"
ct_stop
