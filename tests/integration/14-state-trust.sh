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

# Defense in depth, inside a trusted (root-only) state directory: the journal is parsed strictly
# before anything is acted on, and one record that mailstage never writes makes apply, rollback
# and status refuse (77: the state is not safe), naming the journal, the line and the fix, with
# nothing undone and nothing run.  Each planted journal ends with a good record, the newest, whose
# undo would remove $MARK: undo runs newest first, so had any record been acted on before the whole
# journal was checked, $MARK would be gone.  (Measured before: a temp= deleted any file of the
# root; ar=../../../../etc/passwd was opened as a tar; `cmd ... undo=ARGV` ran ARGV as root.)
MARK=/etc/ms-a-marker
planted() {	# planted WHAT PATTERN RECORD: a run whose line 3 is RECORD is refused; nothing runs
	local what=$1 pat=$2 rec=$3 cmd
	rm -rf "$T/r" "$T/PWNED"
	tests/lib/mkroot "$T/r" debian12
	mkdir -p -m 0700 "$T/r/$S/runs/1" "$T/r/$S/checkpoints"
	chmod 0700 "$T/r/$S" "$T/r/$S/runs"
	echo marker >"$T/r$MARK"
	printf 'begin run=1 cmd=apply time=1 pid=1 profile=debian12\nstage name=postfix-main\n%s\nfile seq=9 path=%s prior=absent\n' \
		"$rec" "$MARK" >"$T/r/$S/runs/1/journal"
	chmod 0600 "$T/r/$S/runs/1/journal"
	snapshot "$T/r" >"$T/before"
	for cmd in rollback "rollback 1" status "${SCRATCH[*]} apply" "${SCRATCH[*]} apply --resume"; do
		rc=0
		# shellcheck disable=SC2086
		ms --root "$T/r" $cmd >"$T/out" 2>"$T/err" || rc=$?
		[ $rc = 77 ] || { cat "$T/err"; die "$what: \`$cmd\` exited $rc, expected 77"; }
		grep -qF -- "$T/r/$S/runs/1/journal:3: " "$T/err" && grep -qF -- "$pat" "$T/err" ||
			{ cat "$T/err"; die "$what: \`$cmd\` does not name line 3 and say: $pat"; }
		grep -q "nothing was undone or run.*move $T/r/$S/runs/1 out of the state directory" "$T/err" ||
			{ cat "$T/err"; die "$what: \`$cmd\`: the fix is not named"; }
		[ "$(grep -c 'error:' "$T/err")" = 1 ] || { cat "$T/err"; die "$what: \`$cmd\`: not one message"; }
	done
	[ ! -e "$T/PWNED" ] || die "$what: a planted command ran"
	[ -e "$T/r$MARK" ] || die "$what: a record was undone before the journal was checked"
	snapshot "$T/r" | diff -u "$T/before" - || die "$what: the root changed"
	ok "$what: refused (77) by rollback, status and apply, naming line 3; nothing undone or run"
}
planted "free undo argv (an older journal)" 'a command record with an undo command (undo=)' \
	"cmd seq=1 argv=/bin/true undo=/usr/bin/touch;$T/PWNED"
planted "unknown action type" 'unknown action type "shell"' \
	"action seq=1 type=shell arg=x undo=/usr/bin/touch%20$T/PWNED"
planted "package name that is an option" '"-oAPT::Update::Pre-Invoke::=touch" is not a package name' \
	'action seq=1 type=packages arg=postfix undo=apt%20postfix%20-oAPT::Update::Pre-Invoke::=touch'
planted "unit name that is an option" '"--root=/tmp" is not a systemd unit name' \
	'action seq=1 type=service arg=x undo=--root=/tmp%20enabled%20active%200%200'
planted "selinux boolean in another policy store" 'the policy store /elsewhere is not this target' \
	'action seq=1 type=selinux-boolean arg=x=on undo=httpd_can_sendmail%200%20-%20default%20/elsewhere'
planted "planted temp=" 'temp="/etc/passwd" is not the temporary name mailstage gives /etc/postfix/main.cf' \
	'file seq=1 path=/etc/postfix/main.cf temp=/etc/passwd prior=absent'
planted "planted ar=" 'ar="../../../../etc/passwd" is not a backup archive' \
	'file seq=1 path=/etc/postfix/main.cf prior=backup ar=../../../../etc/passwd'
planted "a path that climbs" 'path="/etc/../etc/passwd" is not an absolute, normalised path' \
	'file seq=1 path=/etc/../etc/passwd prior=absent'
planted "a path into the state directory" 'path="/var/lib/mailstage/lock" is not an absolute, normalised path of the managed tree' \
	'dir seq=1 path=/var/lib/mailstage/lock prior=absent'
planted "a field twice" 'the attr record has the field uid twice' \
	'attr seq=1 path=/etc/postfix/main.cf uid=0 uid=0 gid=0 mode=0644'
planted "an owner out of range" 'uid="4294967295" is not a value mailstage writes there' \
	'attr seq=1 path=/etc/postfix/main.cf uid=4294967295 gid=0 mode=0644'
planted "a control byte in a value" 'the value of path is not one mailstage writes' \
	'file seq=1 path=/etc/postfix/main.cf%0A prior=absent'
planted "a stage name that is a path" 'name="../../etc" is not a value' \
	'stage name=..%2F..%2Fetc'

# The same journal with only well-formed records is undone (the cases above fail on what they
# plant, not on the rest): the marker record, newest, is undone and the command record runs nothing.
rm -rf "$T/r" && tests/lib/mkroot "$T/r" debian12
mkdir -p -m 0700 "$T/r/$S/runs/1" "$T/r/$S/checkpoints"
chmod 0700 "$T/r/$S" "$T/r/$S/runs"
echo marker >"$T/r$MARK"
printf 'begin run=1 cmd=apply time=1 pid=1 profile=debian12\nstage name=postfix-main\ncmd seq=1 argv=/usr/bin/touch;%s/PWNED\ndone seq=1 exit=0\nfile seq=9 path=%s prior=absent\n' \
	"$T" "$MARK" >"$T/r/$S/runs/1/journal"
chmod 0600 "$T/r/$S/runs/1/journal"
ms --root "$T/r" -q rollback 2>"$T/err" || { cat "$T/err"; die "a well-formed planted journal was refused"; }
[ ! -e "$T/r$MARK" ] || die "the good record was not undone"
[ ! -e "$T/PWNED" ] || die "rollback ran a command record"
ok "the same journal well-formed: undone (the marker removed), the command record ran nothing"
