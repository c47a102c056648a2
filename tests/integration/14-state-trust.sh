#!/bin/bash
# The state directory is a trust boundary (issue 10): mailstage replays its
# journal as root, so ROOT/var/lib/mailstage is used only when nobody but
# root could have written it.  One case per hostile state directory:
#   - mailstage/ (or runs/, checkpoints/) writable by group or others, or
#     owned by another user: apply, rollback and status refuse (77), naming
#     the path and the fix;
#   - var/lib/mailstage a symlink to a directory outside the root: refused,
#     and nothing is written there (before: lock, journal, backups and
#     checkpoints landed outside);
#   - a run directory or a journal that is not root's, a symlinked or
#     hard-linked journal: refused;
#   - the planted-journal attack: an "interrupted" run whose undo is
#     /usr/bin/touch, in a world-writable state directory - rollback refuses
#     and the planted command never runs;
# and in each case the root is exactly as before (snapshot).
. "$(dirname "$0")/lib.sh"
id nobody >/dev/null 2>&1 || die "setup: no user nobody on this host"
NOBODY=$(id -u nobody)

fresh() {	# a root with one good apply done, so there is a state directory and a run
	rm -rf "$T/r"
	tests/lib/mkroot "$T/r" debian12
	ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null || die "setup: apply failed"
}
# refused WHAT PATTERN: apply, rollback and status all exit 77 naming the path; the root is unchanged.
refused() {
	local what=$1 pat=$2 cmd
	snapshot "$T/r" >"$T/before"
	for cmd in "${SCRATCH[*]} apply" "rollback" "status"; do
		rc=0
		# shellcheck disable=SC2086
		ms --root "$T/r" $cmd >"$T/out" 2>"$T/err" || rc=$?
		[ $rc = 77 ] || { cat "$T/err"; die "$what: \`$cmd\` exited $rc, expected 77"; }
		grep -q -- "$pat" "$T/err" || { cat "$T/err"; die "$what: \`$cmd\` does not say: $pat"; }
		[ "$(grep -c 'error:' "$T/err")" = 1 ] || { cat "$T/err"; die "$what: \`$cmd\`: not one message"; }
	done
	snapshot "$T/r" | diff -u "$T/before" - || die "$what: the root changed"
	ok "$what: refused (77) by apply, rollback and status; root unchanged"
}
S=var/lib/mailstage

fresh
chmod 0777 "$T/r/$S"
refused "state directory mode 0777" "$T/r/$S is owned by uid 0 with mode 0777: the state directory must be owned by root"
grep -q 'chown root:root .* chmod go-w' "$T/err" || die "the fix is not named"

fresh
chown "$NOBODY" "$T/r/$S/runs"
refused "runs/ owned by nobody" "$T/r/$S/runs is owned by uid $NOBODY"

fresh
chmod g+w "$T/r/$S/checkpoints"
refused "checkpoints/ group-writable" "$T/r/$S/checkpoints is owned by uid 0 with mode 0720"

fresh
chmod 0777 "$T/r/var/lib"
refused "var/lib world-writable" "$T/r/var/lib is owned by uid 0 with mode 0777"

fresh
chown "$NOBODY" "$T/r/$S/runs/1"
refused "a run directory owned by nobody" "$T/r/$S/runs/1 is owned by uid $NOBODY"

fresh
chmod 0666 "$T/r/$S/runs/1/journal"
refused "a world-writable journal" "$T/r/$S/runs/1/journal is owned by uid 0 with mode 0666"

fresh
mv "$T/r/$S/runs/1/journal" "$T/r/journal.elsewhere"
ln -s /journal.elsewhere "$T/r/$S/runs/1/journal"
refused "a symlinked journal" "$T/r/$S/runs/1/journal is not a regular file"

fresh
ln "$T/r/$S/runs/1/journal" "$T/r/journal.link"
refused "a hard-linked journal" "$T/r/$S/runs/1/journal has 2 hard links"

# The state directory a symlink out of the root: nothing may be written there.
rm -rf "$T/r" "$T/outside"
tests/lib/mkroot "$T/r" debian12
mkdir -m 0700 "$T/outside"
ln -s "$T/outside" "$T/r/$S"
refused "state directory symlinked out of the root" "$T/r/$S is not a directory (a symlink or another file)"
[ -z "$(ls -A "$T/outside")" ] || { ls -laR "$T/outside"; die "something was written outside the root"; }
ok "nothing written through the symlink"

# The planted journal (measured: rollback ran its argv as root).
rm -rf "$T/r"
tests/lib/mkroot "$T/r" debian12
mkdir -p "$T/r/$S/runs/1" "$T/r/$S/checkpoints"
chmod 0777 "$T/r/$S" "$T/r/$S/runs" "$T/r/$S/runs/1"
printf 'begin run=1 cmd=apply time=1 pid=1 profile=debian12\nstage name=tls\ncmd seq=1 argv=/bin/true undo=/usr/bin/touch;%s/PWNED\ndone seq=1\n' \
	"$T" >"$T/r/$S/runs/1/journal"
refused "planted journal in a world-writable state directory" "$T/r/$S is owned by uid 0 with mode 0777"
[ ! -e "$T/PWNED" ] || die "the planted undo command ran"
ok "planted undo command never ran"

# Fresh root: the state directory is created root-only (0700), and a second run accepts it.
rm -rf "$T/r"
tests/lib/mkroot "$T/r" debian12
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null || die "apply on a fresh root failed"
[ "$(stat -c '%a %u' "$T/r/$S" "$T/r/$S/runs" "$T/r/$S/checkpoints" | sort -u)" = "700 0" ] ||
	die "state directories not 0700 root: $(stat -c '%n %a %u' "$T/r/$S" "$T/r/$S/runs" "$T/r/$S/checkpoints")"
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null || die "second apply refused its own state directory"
ms --root "$T/r" -q rollback || die "rollback refused its own state directory"
ok "own state directory: created 0700 root, accepted by apply and rollback"

# Defense in depth, inside a trusted (root-only) state directory: the journal's own fields are
# checked before they are acted on.  A temp= that is not the temporary name mailstage gives the
# file is left alone (measured: it deleted any file of the root); an ar= that is not backup-N.tar
# is refused (measured: ar=../../../../etc/passwd was opened as a tar).
rm -rf "$T/r"
tests/lib/mkroot "$T/r" debian12
mkdir -p -m 0700 "$T/r/$S/runs/1" "$T/r/$S/checkpoints"
chmod 0700 "$T/r/$S" "$T/r/$S/runs"
cp "$T/r/etc/passwd" "$T/passwd.orig"
printf 'begin run=1 cmd=apply time=1 pid=1 profile=debian12\nstage name=postfix-main\nfile seq=1 path=/etc/postfix/main.cf temp=/etc/passwd prior=backup ar=../../../../etc/passwd\n' \
	>"$T/r/$S/runs/1/journal"
chmod 0600 "$T/r/$S/runs/1/journal"
rc=0
ms --root "$T/r" rollback >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] || { cat "$T/err"; die "tampered journal fields: rollback exited $rc, expected 1"; }
grep -q 'names /etc/passwd as the temporary file of /etc/postfix/main.cf, which mailstage never makes' "$T/err" ||
	{ cat "$T/err"; die "planted temp= not reported"; }
grep -q 'names "../../../../etc/passwd" as the backup of /etc/postfix/main.cf, which is not a backup archive' "$T/err" ||
	{ cat "$T/err"; die "planted ar= not refused"; }
cmp -s "$T/passwd.orig" "$T/r/etc/passwd" || die "the planted temp= removed /etc/passwd"
ok "planted temp= and ar= fields: not acted on (rollback exits 1, /etc/passwd intact)"
