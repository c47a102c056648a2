#!/bin/bash
# 51-dnf-packages.sh - the packages stage for el8 and el9 with real dnf:
# small RPMs built here with rpmbuild, indexed with createrepo_c, installed
# by `dnf --installroot` into a scratch root (mailstage --root), with real
# `dnf history` transactions.  The RPMs stand in for the real packages (same
# names, one dependency, a release package for $releasever); what is real is
# dnf, rpm, the rpm database, the history and its undo.
#
# Proves: one `rpm -q` decides; missing packages are installed (dependencies
# too); a second apply changes nothing; rollback (`dnf history undo` of the
# run's own transaction) removes exactly what the run installed and keeps a
# package that was there before; a failure injected in a later stage rolls
# the installation back; a package missing from the repository fails with
# dnf's message and installs nothing.
# EL7 facts, with the nearest real thing (EL7's yum cannot run here: it is not
# packaged for Debian; its argv, checked against yum 3.4.3's options, and its
# `history undo` output are covered by tests/unit/test_packages.c):
#  - E3: yum skips a name it cannot find and exits 0.  dnf does the same with
#    strict=False in the root's dnf.conf: the install "succeeds", and
#    mailstage's `rpm -q` afterwards must fail the apply (exit 3) naming the
#    missing package and roll the partial install back.
#  - E5: `history undo` of the run would also remove (yum) or refuse for (dnf)
#    a package installed later that depends on the run's: rollback refuses,
#    naming it, and leaves both installed; once it is gone, rollback removes
#    the run's packages.
. "$(dirname "$0")/lib.sh"
# A command failing under set -e says which (instead of a silent exit 1).
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
for p in rpmbuild createrepo_c dnf rpm; do
	command -v $p >/dev/null || die "$p missing: apt-get install rpm createrepo-c dnf"
done

# ---- the repository ----
build_rpm() {	# NAME [REQUIRES] [PROVIDES]
	cat >"$T/spec" <<EOF
Name: $1
Version: 1.0
Release: 1
Summary: mailstage test stand-in for $1
License: MIT
BuildArch: noarch
${2:+Requires: $2}
${3:+Provides: $3}
%description
Test stand-in.
%install
mkdir -p %{buildroot}/usr/share/mailstage-test
echo $1 >%{buildroot}/usr/share/mailstage-test/$1
%files
/usr/share/mailstage-test/$1
EOF
	rpmbuild -bb --quiet --define "_topdir $T/rpmbuild" "$T/spec" >"$T/rpmbuild.log" 2>&1 ||
		{ cat "$T/rpmbuild.log"; die "rpmbuild $1 failed"; }
}
for n in postfix mailx s-nail cyrus-sasl cyrus-sasl-plain epel-release opendkim-tools libopendkim; do
	build_rpm $n
done
build_rpm opendkim libopendkim
build_rpm site-dkim opendkim	# installed later, depends on what a run installed
build_rpm test-release "" "system-release, system-release(releasever) = 9"
mkdir -p "$T/repo"
cp "$T"/rpmbuild/RPMS/noarch/*.rpm "$T/repo/"
createrepo_c -q "$T/repo" || die "createrepo_c failed"
# The same without opendkim-tools.
mkdir -p "$T/repo-partial"
cp "$T/repo"/*.rpm "$T/repo-partial/"
rm "$T/repo-partial"/opendkim-tools-*.rpm
createrepo_c -q "$T/repo-partial"

# A root with the release package and postfix already installed (dnf transaction 1).
newroot() {	# DIR PROFILE REPO
	rm -rf "$1"
	mkroot "$1" "$2"
	mkdir -p "$1/etc/yum.repos.d"
	printf '[local]\nname=local test repository\nbaseurl=file://%s\ngpgcheck=0\nenabled=1\n' "$3" \
		>"$1/etc/yum.repos.d/local.repo"
	dnf -y -q --installroot="$1" install test-release postfix >"$T/dnf.log" 2>&1 ||
		{ cat "$T/dnf.log"; die "preparing $1 with dnf failed"; }
}
installed() { rpm --root "$1" -qa --qf '%{NAME}\n' | sort | tr '\n' ' '; }
history_ids() { dnf -q --installroot="$1" history list 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -n | tr '\n' ' '; }

for prof in el8 el9; do
	R=$T/root-$prof
	newroot "$R" $prof "$T/repo"
	before=$(installed "$R")
	[ "$before" = "postfix test-release " ] || die "$prof: unexpected start: $before"

	expect_rc 2 ms --root "$R" --only packages plan >"$T/plan" 2>&1
	case $prof in
	el8) want="mailx cyrus-sasl cyrus-sasl-plain epel-release opendkim" ;;
	el9) want="s-nail cyrus-sasl cyrus-sasl-plain epel-release opendkim opendkim-tools" ;;
	esac
	grep -q "install $want with dnf --installroot=$R" "$T/plan" ||
		die "$prof: plan does not install exactly the missing ones ($want): $(cat "$T/plan")"

	expect_rc 0 ms --root "$R" --only packages apply >"$T/apply" 2>&1
	for p in $want libopendkim postfix; do
		rpm --root "$R" -q $p >/dev/null || die "$prof: $p not installed after apply"
	done
	[ "$(history_ids "$R")" = "1 2 " ] || die "$prof: dnf history is not 1 2: $(history_ids "$R")"
	ok "$prof: apply installed $want (+ libopendkim) in one dnf transaction"

	expect_rc 0 ms --root "$R" --only packages apply >"$T/apply2" 2>&1
	grep -q "0 of 1 stage changed" "$T/apply2" || die "$prof: second apply changed something: $(cat "$T/apply2")"
	[ "$(history_ids "$R")" = "1 2 " ] || die "$prof: the no-op apply made a dnf transaction"
	ok "$prof: second apply changes nothing (no new dnf transaction)"

	expect_rc 0 ms --root "$R" rollback >"$T/rb" 2>&1
	[ "$(installed "$R")" = "$before" ] || die "$prof: after rollback: $(installed "$R") (want $before)"
	dnf -q --installroot="$R" history list 2>/dev/null | grep -q "^ *3 .*|" || die "$prof: no undo transaction in the dnf history"
	ok "$prof: rollback undid the run's dnf transaction; postfix (there before) kept"
done

# A failure after the packages stage rolls the installation back (el9).
R=$T/root-el9
newroot "$R" el9 "$T/repo"
rm -f "$T/hooks"
# Learn the mutation points on a copy, then fail at the first one after the install.
cp -a "$R" "$T/probe"
MAILSTAGE_HOOK_LOG="$T/hooks" "$MAILSTAGE_TESTBIN" --root "$T/probe" --only packages,tls apply >/dev/null 2>&1 ||
	die "probe apply failed"
fail_at=$(awk '$2 != "action" { print $1; exit }' "$T/hooks")
[ -n "$fail_at" ] || die "no mutation point after the packages action: $(cat "$T/hooks")"
expect_rc 3 env MAILSTAGE_FAIL_AT=$fail_at "$MAILSTAGE_TESTBIN" --root "$R" --only packages,tls apply >"$T/apply" 2>&1
grep -q "injected failure" "$T/apply" || die "no injected failure: $(cat "$T/apply")"
[ "$(installed "$R")" = "postfix test-release " ] || die "after the rolled-back run: $(installed "$R")"
ok "el9: a failure in tls after the install: exit 3, the run's packages removed, postfix kept"

# A package the repository lacks: dnf refuses the whole transaction.
R=$T/root-partial
newroot "$R" el9 "$T/repo-partial"
expect_rc 3 ms --root "$R" --only packages apply >"$T/apply" 2>&1
grep -q "opendkim-tools" "$T/apply" && grep -qi "no match for argument\|unable to find a match" "$T/apply" ||
	die "dnf's reason is not shown: $(cat "$T/apply")"
[ "$(installed "$R")" = "postfix test-release " ] || die "something was installed: $(installed "$R")"
ok "a package missing from the repository: exit 3, dnf's message shown, nothing installed"


# E3: a package manager that exits 0 although a name does not exist (EL7's
# yum; here dnf with strict=False, read from the root's own dnf.conf).
R=$T/root-skip
newroot "$R" el9 "$T/repo-partial"
mkdir -p "$R/etc/dnf"
printf '[main]\nstrict=False\n' >"$R/etc/dnf/dnf.conf"
rc=0; dnf -y -q --installroot="$R" install mailstage-no-such-package >"$T/dnf-skip" 2>&1 || rc=$?
[ $rc = 0 ] || die "dnf with strict=False did not skip a missing name (exit $rc): $(cat "$T/dnf-skip")"
expect_rc 3 ms --root "$R" --only packages apply >"$T/apply" 2>&1
grep -q "exited 0, but opendkim-tools still not installed" "$T/apply" ||
	die "an install that skipped a name is not a failure naming it: $(cat "$T/apply")"
[ "$(installed "$R")" = "postfix test-release " ] || die "the partial install was not rolled back: $(installed "$R")"
ok "E3: dnf skipped opendkim-tools and exited 0; rpm -q afterwards failed the apply naming it (exit 3), the partial install rolled back"

# E5: a package installed after the run that depends on the run's packages.
R=$T/root-dep
newroot "$R" el9 "$T/repo"
expect_rc 0 ms --root "$R" --only packages apply >"$T/apply" 2>&1
dnf -y -q --installroot="$R" install site-dkim >"$T/dnf.log" 2>&1 || { cat "$T/dnf.log"; die "installing site-dkim failed"; }
with=$(installed "$R")
case $with in *" opendkim "*site-dkim*) ;; *) die "opendkim and site-dkim not both installed: $with" ;; esac
expect_rc 1 ms --root "$R" rollback >"$T/rb" 2>&1
grep -q "would also remove site-dkim" "$T/rb" || die "rollback does not name the dependent package: $(cat "$T/rb")"
[ "$(installed "$R")" = "$with" ] || die "rollback removed packages although site-dkim depends on them: $(installed "$R")"
ok "E5: rollback refuses (exit 1) naming site-dkim, installed later and depending on opendkim; everything stays installed"
dnf -y -q --installroot="$R" remove site-dkim >"$T/dnf.log" 2>&1 || { cat "$T/dnf.log"; die "removing site-dkim failed"; }
expect_rc 0 ms --root "$R" rollback >"$T/rb" 2>&1 || { cat "$T/rb"; die "rollback without the dependent failed"; }
[ "$(installed "$R")" = "postfix test-release " ] || die "after the rollback: $(installed "$R")"
ok "E5: without it, rollback removes the run's packages (opendkim, libopendkim, ...), postfix kept"

# EL7: yum is not on this machine, so the stage refuses clearly (exit 69)
# before anything changes; `rpm -q` against the root still decides what is missing.
if ! command -v yum >/dev/null; then
	R=$T/root-el7
	mkroot "$R" el7
	expect_rc 69 ms --root "$R" --only packages apply >"$T/apply" 2>&1
	grep -q "postfix mailx cyrus-sasl cyrus-sasl-plain epel-release opendkim not installed and yum is missing" "$T/apply" ||
		die "el7 without yum: $(cat "$T/apply")"
	grep -q "nothing was changed" "$T/apply" || die "el7 refusal does not say nothing changed"
	ok "el7 without yum: exit 69, the missing packages named, nothing changed"
fi

# plan changes nothing, not even on a root without an rpm database: rpm --root there created one
# (ROOT/root/.rpmdb, Debian rpm's default dbpath) - now no database means nothing installed.
rm -rf "$T/nodb" && mkroot "$T/nodb" el7
snapshot "$T/nodb" >"$T/before"
find "$T/nodb" | sort >"$T/files-before"
ms --root "$T/nodb" --only packages plan >"$T/out" 2>"$T/err" || true
find "$T/nodb" | sort | diff "$T/files-before" - || die "plan created files in a root without an rpm database"
snapshot "$T/nodb" | diff "$T/before" - || die "plan changed the root"
grep -q 'postfix' "$T/err" || { cat "$T/err"; die "plan does not list postfix as missing"; }
ok "plan on a root without an rpm database: nothing created, every package missing"
