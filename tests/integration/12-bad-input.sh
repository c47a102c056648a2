#!/bin/bash
# Bad input gets one clear message naming the input and the fix, a
# documented exit code, and nothing changed: bad flags (64), a bad
# configuration (78, not even the state directory is created), a held lock
# (75, naming the holder's pid), a symlink that leads out of --root, and a
# full disk (a small tmpfs: the run fails, is rolled back, the root is as
# before).
. "$(dirname "$0")/lib.sh"

expect_msg() {	# WANT-RC NEEDLE command...
	local want=$1 needle=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || { cat "$T/err"; die "\`$*\` exited $rc, expected $want"; }
	grep -qF -- "$needle" "$T/err" || { cat "$T/err"; die "\`$*\`: no \"$needle\" in its message"; }
}

# Usage errors.
expect_msg 64 'unknown option --frobnicate' ms --frobnicate plan
expect_msg 64 'unknown command "aply"' ms aply
expect_msg 64 'no command given' ms
expect_msg 64 '--resume belongs to apply' ms --resume plan
expect_msg 64 'unknown stage "dkim" (did you mean "dkim-keys"?)' ms --only dkim plan
expect_msg 64 '--root /nonexistent-mailstage: No such file or directory' ms --root /nonexistent-mailstage plan
ok "usage errors exit 64 with the input named"

# A bad configuration touches nothing, not even /var/lib/mailstage.
mkroot "$T/r"
printf 'hostname = mail_example\ndomain = example.com\nipv4 = 192.0.2.10\n' >"$T/r/etc/mailstage/mailstage.conf"
snapshot "$T/r" >"$T/before"
expect_msg 78 'hostname "mail_example" is not a fully qualified domain name, e.g. mail.example.com' \
	ms "${SCRATCH[@]}" --root "$T/r" apply
grep -q 'nothing was changed' "$T/err" || die "no 'nothing was changed'"
snapshot "$T/r" | diff "$T/before" - || die "bad configuration changed the root"
[ ! -e "$T/r/var/lib/mailstage" ] || die "bad configuration created the state directory"
rm "$T/r/etc/mailstage/mailstage.conf"
expect_msg 78 'mailstage.conf' ms "${SCRATCH[@]}" --root "$T/r" apply
ok "bad or missing configuration: exit 78, nothing created"
rm -rf "$T/r"

# A held lock names its holder.
mkroot "$T/r"
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null
python3 -c 'import fcntl,os,sys,time
f=open(sys.argv[1],"r+"); fcntl.flock(f,fcntl.LOCK_EX); f.truncate(0); f.write("%d\n"%os.getpid()); f.flush()
print(os.getpid(), flush=True); time.sleep(30)' "$T/r/var/lib/mailstage/lock" >"$T/holder" &
holder=$!
for _ in $(seq 50); do [ -s "$T/holder" ] && break; sleep 0.1; done
expect_msg 75 "another mailstage run (pid $(cat "$T/holder"))" ms "${SCRATCH[@]}" --root "$T/r" apply
kill "$holder"; wait "$holder" 2>/dev/null || true
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null || die "lock not released"
ok "a held lock: exit 75 naming pid"
rm -rf "$T/r"

# A symlink inside the target that leads out of it is refused; nothing changes.
mkroot "$T/r"
mkdir -p "$T/outside"
rm -rf "$T/r/etc/ssl"
ln -s ../../outside "$T/r/etc/ssl"	# $T/r/etc/ssl -> $T/outside
snapshot "$T/r" >"$T/before"
rc=0
ms "${SCRATCH[@]}" --root "$T/r" apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc -ne 0 ] || die "apply through an escaping symlink succeeded"
grep -q 'points outside the root' "$T/err" || { cat "$T/err"; die "escape not named"; }
[ -z "$(ls -A "$T/outside")" ] || die "something was written outside the root"
snapshot "$T/r" | diff "$T/before" - || die "root changed"
ok "symlink out of the root refused (exit $rc), nothing written outside"
rm -rf "$T/r" "$T/outside"

# A full disk: the apply fails, rolls back, and the root is as before.
mkdir -p "$T/full"
mount -t tmpfs -o size=600k tmpfs "$T/full"
trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"' EXIT
mkroot "$T/full/r"
ms "${SCRATCH[@]}" --root "$T/full/r" plan >/dev/null 2>&1 || true
snapshot "$T/full/r" >"$T/before"
# preflight refuses a target with less than 200 MB free before changing anything ...
rc=0
ms "${SCRATCH[@]}" --root "$T/full/r" apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc -eq 74 ] || { cat "$T/err"; die "small disk: preflight exit $rc, expected 74"; }
grep -q 'needs 200 MB' "$T/err" || die "preflight did not name the space needed"
snapshot "$T/full/r" | diff "$T/before" - || die "preflight refusal changed the root"
# ... and past preflight, a disk that fills up mid-run fails the run, which is rolled back.
# Leave a little room: enough to start the run, not to finish it.
avail=$(df --output=avail -B1 "$T/full" | tail -1)
head -c $((avail - 12 * 1024)) /dev/zero >"$T/full/filler" 2>/dev/null || true
rc=0
ms --skip packages,services,preflight --root "$T/full/r" apply >"$T/out" 2>"$T/err" || rc=$?
grep -q 'No space left on device' "$T/err" || { cat "$T/err"; die "ENOSPC not reported"; }
[ $rc = 74 ] || { cat "$T/err"; die "full disk: exit $rc, expected 74 (I/O: restored, disk full)"; }
grep -q 'the system was restored' "$T/err" || { cat "$T/err"; die "full disk: the restore is not reported"; }
grep -q 'the file system is full (No space left on device): free some space and run again' "$T/err" ||
	{ cat "$T/err"; die "full disk: the fix is not named"; }
rm -f "$T/full/filler"
snapshot "$T/full/r" | diff "$T/before" - || die "full disk: root differs after the failed run"
sed "s/^/    /" "$T/err"
ok "full disk: exit $rc, root as before"

# --only/--skip that name no stage (a script's empty variable) are usage errors, never "all stages".
rm -rf "$T/e" && mkroot "$T/e" debian12
snapshot "$T/e" >"$T/before"
for opt in --only --skip; do
	for v in '' ',' ' ' ' , '; do
		rc=0
		ms --root "$T/e" "$opt" "$v" apply >"$T/out" 2>"$T/err" || rc=$?
		[ $rc = 64 ] || { cat "$T/err"; die "$opt '$v': exit $rc, expected 64"; }
		grep -q -- "$opt names no stage" "$T/err" || { cat "$T/err"; die "$opt '$v': no clear message"; }
	done
done
snapshot "$T/e" | diff "$T/before" - || die "an empty --only/--skip changed the root"
ok "empty --only/--skip: usage error 64, nothing changed"

# Address-typed keys take addresses only: no pipe, file, include or comment destination
# (measured: a pipe and a file path were accepted and written to /etc/aliases).
rm -rf "$T/a" && mkroot "$T/a" debian12
snapshot "$T/a" >"$T/before"
while read -r key val; do
	printf 'hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n%s = %s\n' "$key" "$val" \
		>"$T/a/etc/mailstage/mailstage.conf"
	snapshot "$T/a" >"$T/before"
	expect_msg 78 "/etc/mailstage/mailstage.conf:4: $key" ms --root "$T/a" "${SCRATCH[@]}" apply
	grep -qF -e 'is not a plain address: a | / or # in its local part' -e 'is not a local user name or an email address' "$T/err" || { cat "$T/err"; die "$key = $val: no fix named"; }
	snapshot "$T/a" | diff "$T/before" - || die "$key = $val: the root changed"
done <<'CASES'
dmarc_alias_to |touch${IFS}/tmp/x&@example.com
dmarc_alias_to /var/spool/mail/evil@example.com
dmarc_alias_to :include:/etc/evil@example.com
dmarc_rua #dmarc@example.com
dmarc_rua mailto:|cmd@example.com
dmarc_ruf a/b@example.com
CASES
ok "pipe, file, include and comment destinations in address keys: 78, nothing changed"

# A binary file as mailstage.conf gets one message, not one per line (measured: 15-25 lines).
rm -rf "$T/b" && mkroot "$T/b" debian12
gzip -9n -c README.md >"$T/b/etc/mailstage/mailstage.conf"
expect_msg 78 'this is not a text file:' ms --root "$T/b" plan
[ "$(grep -c 'error:' "$T/err")" = 2 ] || { cat "$T/err"; die "binary config: not one message (plus the summary)"; }
grep -q 'mailstage.conf:[0-9]*: this is not a text file: [0-9]* lines hold NUL, control or non-UTF-8 bytes' "$T/err" ||
	{ cat "$T/err"; die "binary config: message lacks the file:line and what is wrong"; }
ok "binary mailstage.conf: one message, 78"
