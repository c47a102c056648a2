#!/bin/bash
# Crash test: SIGKILL the process at each mutation point of a full apply
# (MAILSTAGE_CRASH_AT=N in the test build).  Then:
#  - no file is torn: every file is either as before or complete (keys and
#    certificates parse, records end with their closing comment), and no
#    temporary file of mailstage's is visible after the resume;
#  - a plain apply refuses with 75 and names the interrupted run;
#  - `apply --resume` converges and a second apply reports no changes;
#  - on a second copy, `rollback` instead restores the root exactly.
. "$(dirname "$0")/lib.sh"
complete() {	# host-path of a changed file: is it whole?
	case $1 in
	*.key|*.private) openssl pkey -in "$1" -noout 2>/dev/null ;;
	*.crt) openssl x509 -in "$1" -noout 2>/dev/null ;;
	*.txt) tail -n1 "$1" | grep -q 'DKIM key default for example.com' ;;
	# the mail stages' in-place edits (written whole by rename, never in place)
	*/etc/postfix/main.cf) postconf -c "${1%/main.cf}" -h mydomain | grep -qx example.com ;;
	*/etc/postfix/master.cf) postconf -c "${1%/master.cf}" -M submission/inet | grep -q smtpd ;;
	*/etc/aliases) grep -q '^dmarc: root$' "$1" ;;
	*/etc/aliases.db) postalias -c "${1%/aliases.db}/postfix" -q dmarc "hash:${1%.db}" | grep -qx root ;;
	*/etc/opendkim.conf) grep -Eq '^Mode[[:space:]]+sv$' "$1" && grep -q '^ExternalIgnoreList' "$1" ;;
	*/etc/opendkim/KeyTable|*/etc/opendkim/SigningTable|*/etc/opendkim/TrustedHosts| \
	*/etc/default/opendkim|*/etc/default/saslauthd|*/etc/sysconfig/saslauthd|*/smtpd.conf| \
	*/etc/group|*/etc/gshadow) [ -s "$1" ] && [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" = '\n' ] ;;
	*) return 1 ;;
	esac
}
total=0
for profile in debian12 el7; do
	tests/lib/populate "$T/pristine" "$profile"
	snapshot "$T/pristine" >"$T/before"
	cp -a "$T/pristine" "$T/count"
	MAILSTAGE_HOOK_LOG=$T/points mst "${SCRATCH[@]}" --root "$T/count" -q apply
	points=$(wc -l <"$T/points")
	rm -rf "$T/count" "$T/points"
	for n in $(seq 1 "$points"); do
		rm -rf "$T/r" "$T/r2"
		cp -a "$T/pristine" "$T/r"
		rc=0
		MAILSTAGE_CRASH_AT=$n mst "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null || rc=$?
		[ $rc -eq 137 ] || die "$profile point $n: exit $rc, expected 137 (SIGKILL)"
		cp -a "$T/r" "$T/r2"
		# Nothing torn.
		snapshot "$T/r" >"$T/now"
		diff "$T/before" "$T/now" | sed -n 's/^> \(\S*\) f .*/\1/p' | while read -r f; do
			case $f in */.*.mailstage-*) continue ;; esac	# a temp file, never the target
			complete "$T/r$f" || die "$profile point $n: $f is torn"
		done
		# Refused until resolved.
		rc=0
		mst "${SCRATCH[@]}" --root "$T/r" apply 2>"$T/err" || rc=$?
		[ $rc -eq 75 ] || die "$profile point $n: apply after crash exited $rc, expected 75"
		grep -q "interrupted" "$T/err" || die "point $n: no interrupted-run message"
		# Resume converges; then nothing is left to do.
		mst "${SCRATCH[@]}" --root "$T/r" -q apply --resume || die "$profile point $n: resume failed"
		expect_rc 0 mst "${SCRATCH[@]}" --root "$T/r" -q plan
		mst "${SCRATCH[@]}" --root "$T/r" apply 2>"$T/out"
		grep -Eq "apply: 0 of [0-9]+ stages changed" "$T/out" || die "point $n: second apply changed something"
		if find "$T/r" -name '.*.mailstage-*' | grep -q .; then die "point $n: temp file left"; fi
		# Rollback of the crashed run restores the root exactly.
		mst "${SCRATCH[@]}" --root "$T/r2" -q rollback || die "$profile point $n: rollback after crash failed"
		snapshot "$T/r2" >"$T/after"
		diff -u "$T/before" "$T/after" || die "$profile point $n: rollback after crash left differences"
		total=$((total + 1))
	done
	rm -rf "$T/pristine"
	ok "$profile: $points crash points: resume converges, rollback restores"
done
echo "crash points covered: $total"
