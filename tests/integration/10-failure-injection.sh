#!/bin/bash
# Failure injection: for every mutation point of a full apply on a populated
# root, make that point fail (MAILSTAGE_FAIL_AT=N in the test build) and check
# that the rollback leaves the whole root identical to before: every file's
# bytes, mode, owner and xattrs (security.selinux included), and no file added
# or left behind.  Runs for each profile whose paths differ.
. "$(dirname "$0")/lib.sh"
total=0
for profile in debian12 el7; do
	tests/lib/populate "$T/pristine-$profile" "$profile"
	snapshot "$T/pristine-$profile" >"$T/before"
	# Count the mutation points of a successful apply.
	cp -a "$T/pristine-$profile" "$T/count"
	MAILSTAGE_HOOK_LOG=$T/points mst "${SCRATCH[@]}" --root "$T/count" -q apply
	points=$(wc -l <"$T/points")
	[ "$points" -ge 5 ] || die "$profile: only $points mutation points counted"
	cut -d' ' -f2 "$T/points" | sort | uniq -c | sed "s/^/$profile points: /"
	rm -rf "$T/count" "$T/points"
	for n in $(seq 1 "$points"); do
		rm -rf "$T/r"
		cp -a "$T/pristine-$profile" "$T/r"
		rc=0
		MAILSTAGE_FAIL_AT=$n mst "${SCRATCH[@]}" --root "$T/r" -q apply 2>"$T/err" || rc=$?
		[ $rc -eq 3 ] || { cat "$T/err"; die "$profile point $n: exit $rc, expected 3"; }
		grep -q "injected failure at mutation point $n" "$T/err" || die "point $n: failure not reported"
		grep -q "the system was restored" "$T/err" || die "point $n: restore not reported"
		snapshot "$T/r" >"$T/after"
		diff -u "$T/before" "$T/after" || die "$profile point $n: root differs after rollback"
		# The failed run is recorded as rolled back, and nothing blocks the next apply.
		mst "${SCRATCH[@]}" --root "$T/r" status | grep -q "rolled back" || die "point $n: status does not show the rollback"
		total=$((total + 1))
	done
	ok "$profile: $points injection points, root identical after each rollback"
done
echo "injection points covered: $total"
