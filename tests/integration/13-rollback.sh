#!/bin/bash
# rollback across runs: the newest run that changed something is undone
# first; undoing an older run is refused, naming the later run that changed
# the same path; undoing both in order gives back the original root exactly;
# status shows each run, its state and the checkpoints; --json works.
. "$(dirname "$0")/lib.sh"
tests/lib/populate "$T/r" debian12
snapshot "$T/r" >"$T/orig"
key=$T/r/etc/opendkim/keys/example.com/default.private

ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null
snapshot "$T/r" >"$T/after1"
# Drift on a file run 1 changed; run 2 repairs it.
chmod 0644 "$key"
ms "${SCRATCH[@]}" --root "$T/r" apply 2>"$T/err2"
grep -q 'dkim-keys ... changed' "$T/err2" || die "run 2 did not repair the drifted key mode"

expect_rc 1 ms --root "$T/r" rollback 1 2>"$T/err"
grep -q 'refusing to roll back run 1: the later run 2 also changed /etc/opendkim/keys/example.com/default.private' "$T/err" ||
	{ cat "$T/err"; die "refusal does not name run 2 and the path"; }
ok "rollback 1 refused while run 2 stands"

ms --root "$T/r" status >"$T/status"
grep -Eq '^ +1 .* apply +ok' "$T/status" && grep -Eq '^ +2 .* apply +ok' "$T/status" || { cat "$T/status"; die "status lacks the runs"; }
grep -q 'dkim-keys .*converged at .*(run 2)' "$T/status" || die "status lacks run 2's checkpoint of dkim-keys"
ms --root "$T/r" --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [r["run"] for r in d["runs"]]==[1,2], d; assert d["interrupted"] is None'

ms --root "$T/r" -q rollback	# the newest: run 2
[ "$(stat -c %a "$key")" = 644 ] || die "rollback of run 2 did not restore the drifted mode"
snapshot "$T/r" >"$T/now"
diff "$T/after1" "$T/now" | grep -q . || die "nothing differs from after run 1: the drift was not restored"
expect_rc 1 ms --root "$T/r" rollback 2
ms --root "$T/r" -q rollback 1
snapshot "$T/r" | diff -u "$T/orig" - || die "root differs from the original after rolling back both runs"
ms --root "$T/r" status | grep -q 'dkim-keys *no checkpoint' || die "checkpoint not cleared by the rollback"
ms --root "$T/r" rollback 2>&1 | grep -q 'nothing to roll back' || die "a third rollback found something"
expect_rc 64 ms --root "$T/r" rollback 99
ok "runs undone newest first; original root back byte for byte"

# Recovery advice that always works (issue 10).
# A run interrupted before its first change record (a crash or a full disk right after "begin")
# has nothing to undo: the next apply closes it instead of refusing with 75 forever.
rm -rf "$T/z" && mkroot "$T/z" debian12
ms "${SCRATCH[@]}" --root "$T/z" -q apply 2>/dev/null
j=$T/z/var/lib/mailstage/runs/2/journal
mkdir -m 0700 "$(dirname "$j")"
printf 'begin run=2 cmd=apply time=1 pid=1 profile=debian12\n' >"$j"
chmod 0600 "$j"
ms --root "$T/z" status | grep -Eq '^ +2 .* interrupted' || die "setup: run 2 not interrupted"
ms "${SCRATCH[@]}" --root "$T/z" apply >"$T/out" 2>"$T/err" || { cat "$T/err"; die "apply refused after a run with no changes"; }
grep -q 'run 2 was interrupted before it changed anything: closed' "$T/err" || { cat "$T/err"; die "the empty run was not closed"; }
tail -n 1 "$j" | grep -q '^end status=interrupted changes=0 ' || die "no end record on the empty run"
ms "${SCRATCH[@]}" --root "$T/z" -q apply 2>/dev/null || die "a later apply is still blocked"
ok "interrupted run without changes: closed by the next apply, nothing blocked"

# An interrupted run whose work is all done: apply --resume finishes it AND records its end.
rm -rf "$T/z" && mkroot "$T/z" debian12
ms "${SCRATCH[@]}" --root "$T/z" -q apply 2>/dev/null
j=$T/z/var/lib/mailstage/runs/1/journal
sed -i '/^end /d' "$j"
expect_rc 75 ms "${SCRATCH[@]}" --root "$T/z" -q apply
ms "${SCRATCH[@]}" --root "$T/z" -q apply --resume 2>"$T/err" || { cat "$T/err"; die "resume failed"; }
tail -n 1 "$j" | grep -q '^end status=ok ' || { tail -n 3 "$j"; die "resume did not write the end record"; }
ms "${SCRATCH[@]}" --root "$T/z" -q apply 2>"$T/err" || { cat "$T/err"; die "apply after the resume still refused"; }
ok "apply --resume of a finished run writes its end record; the next apply is not blocked"

# Idempotent undo (issue 10): a failed apply whose later changes never happened (an immutable
# DKIM key directory) undoes what did happen and skips what already matches - exit 3 "restored",
# not 4 "incomplete" - and the stages it had recorded as converged lose their checkpoints.
command -v chattr >/dev/null || die "chattr missing (e2fsprogs)"
rm -rf "$T/i" && tests/lib/populate "$T/i" debian12
kd=$T/i/etc/opendkim/keys/example.com
trap 'chattr -R -i "$T/i" 2>/dev/null; rm -rf "$T"' EXIT
chattr +i "$kd" || die "setup: chattr +i failed (file system without immutable support?)"
snapshot "$T/i" >"$T/before"
rc=0
ms "${SCRATCH[@]}" --root "$T/i" apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 3 ] || { cat "$T/err"; die "immutable key directory: apply exited $rc, expected 3 (restored)"; }
grep -q 'the system was restored' "$T/err" || { cat "$T/err"; die "no 'restored' message"; }
snapshot "$T/i" | diff -u "$T/before" - || die "immutable key directory: the root differs after the rollback"
ms --root "$T/i" status >"$T/status"
if grep -q 'converged at .*(run 1)' "$T/status"; then cat "$T/status"; die "status shows checkpoints of the rolled-back run"; fi
chattr -i "$kd"
ms "${SCRATCH[@]}" --root "$T/i" -q apply 2>"$T/err" || { cat "$T/err"; die "apply after removing +i failed"; }
ok "immutable key directory: failed apply restored (3), root identical, its checkpoints cleared"

# Torn journal records (power loss mid-write; measured: SIGSEGV on `attr ... uid=0` without
# gid/mode and on `cmd ... undo=`).  A torn record can only be the last line, without its newline
# (the record is fsync'd before its mutation starts, so that mutation never started): rollback
# ignores it, undoes the rest, and cuts it off before it appends its own record.  The same shape
# inside the journal is not a torn write, and is refused (77, the line named), nothing changed.
rm -rf "$T/t" && mkroot "$T/t" debian12
mkdir -p -m 0700 "$T/t/var/lib/mailstage/runs/1" "$T/t/var/lib/mailstage/checkpoints"
chmod 0700 "$T/t/var/lib/mailstage" "$T/t/var/lib/mailstage/runs"
j=$T/t/var/lib/mailstage/runs/1/journal
for torn in 'attr seq=2 path=/etc/postfix/main.cf uid=0' 'cmd seq=2 argv=/bin/true undo='; do
	echo new >"$T/t/etc/ms-a-new"
	printf 'begin run=1 cmd=apply time=1 pid=1 profile=debian12\nstage name=postfix-main\nfile seq=1 path=/etc/ms-a-new prior=absent\n%s' "$torn" >"$j"
	chmod 0600 "$j"
	ms --root "$T/t" status | grep -Eq '^ +1 .* interrupted +1 change' || { ms --root "$T/t" status; die "torn '$torn': not one change of an interrupted run"; }
	rc=0
	ms --root "$T/t" rollback >"$T/out" 2>"$T/err" || rc=$?
	[ $rc = 0 ] || { cat "$T/err"; die "torn last record '$torn': rollback exited $rc, expected 0"; }
	[ ! -e "$T/t/etc/ms-a-new" ] || die "torn last record '$torn': the change before it was not undone"
	grep -q "^$torn" "$j" && { cat "$j"; die "torn last record '$torn' not cut off"; }
	tail -n 1 "$j" | grep -q '^rolled-back time=' || { cat "$j"; die "torn '$torn': no rolled-back record on a line of its own"; }
	# Inside the journal (a newline after it) it is no torn write: refused, nothing changed.
	echo new >"$T/t/etc/ms-a-new"
	printf 'begin run=1 cmd=apply time=1 pid=1 profile=debian12\nstage name=postfix-main\nfile seq=1 path=/etc/ms-a-new prior=absent\n%s\n' "$torn" >"$j"
	snapshot "$T/t" >"$T/before"
	rc=0
	ms --root "$T/t" rollback >"$T/out" 2>"$T/err" || rc=$?
	[ $rc = 77 ] || { cat "$T/err"; die "malformed record '$torn': rollback exited $rc, expected 77"; }
	grep -q "runs/1/journal:4: " "$T/err" || { cat "$T/err"; die "malformed record '$torn': line 4 not named"; }
	snapshot "$T/t" | diff "$T/before" - || die "malformed record '$torn': the root changed"
done
ok "torn last record: ignored, the rest undone, cut off before the next record; the same shape inside the journal refused (77), nothing changed"
