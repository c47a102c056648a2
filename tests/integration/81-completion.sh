#!/bin/bash
# 81-completion.sh - the bash completion (payload/completion/mailstage):
# sourced in a plain bash (no bash-completion package needed), _mailstage is
# called with COMP_WORDS/COMP_CWORD as bash would set them, and COMPREPLY is
# compared with what is expected.  Stage names come from `mailstage stages`
# of the binary under test, so the list follows the build.
. "$(dirname "$0")/lib.sh"
src=$MAILSTAGE_SRC/payload/completion/mailstage
# shellcheck disable=SC1090
. "$src"
set +u	# completion functions run with nounset off, as in an interactive shell

complete -p mailstage | grep -q -- '-F _mailstage' || die "complete -F _mailstage mailstage not registered"

# comp WORD... : complete the last word; sets $got to the sorted replies.
comp() {
	COMP_WORDS=("$MAILSTAGE_BIN" "$@")
	COMP_CWORD=$(($# ))
	COMP_LINE="${COMP_WORDS[*]}"
	COMPREPLY=()
	set +e		# as in an interactive shell: compgen returns 1 on no match
	_mailstage
	set -e
	got=$(printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ')
	got=${got% }
}
want() {	# want EXPECTED WORD...
	local exp=$1
	shift
	comp "$@"
	[ "$got" = "$exp" ] || die "completing [$*]: got [$got], expected [$exp]"
	ok "[$*] -> [$got]"
}

want "apply dkim dns payload plan report rollback stages status verify" ""
want "payload plan" p
want "report rollback" r
want "--since" report --si
want "--digest" report --d
want "" report --since ""		# a number of days: nothing to offer
want "dkim dns" d
want "status" dkim ""
want "" dkim status ""
want "--resolver" dkim --res
want "--format" dns --f
want "--send-test" verify --se
want "--doh" verify --do
want "records" dns --format r
want "json records table zone" dns --format ""
want "" verify --send-test ""		# an address: nothing to offer
want "--resolver --resume --root" apply --r
want "--extract" payload --e
want "--json" --j
want "--profile" --pro
want "debian12 el7 el8 el9" --profile ""
want "el7 el8 el9" plan --profile e
want "" stages ""		# no arguments after stages

# Stage names, from the binary itself.
stages=$("$MAILSTAGE_BIN" stages | awk '{print $2}' | LC_ALL=C sort | tr '\n' ' ')
stages=${stages% }
[ -n "$stages" ] || die "mailstage stages listed nothing"
want "$stages" --only ""
want "$stages" plan --skip ""
first=$("$MAILSTAGE_BIN" stages | awk 'NR==1{print $2}')
second=$("$MAILSTAGE_BIN" stages | awk 'NR==2{print $2}')
want "$first" --only "${first}"
# After a comma the earlier items are kept as a prefix.
if [ -n "$second" ]; then
	want "$first,$second" --only "$first,${second}"
	exp=$(for s in $stages; do printf '%s,%s\n' "$first" "$s"; done | LC_ALL=C sort | tr '\n' ' ')
	want "${exp% }" --skip "$first,"
fi
want "" --only zz-no-such-stage

# Files for -c, directories for --root and --extract.
mkdir -p "$T/dir/sub" "$T/dir/sub2"
: >"$T/dir/my.conf"
want "$T/dir/my.conf" -c "$T/dir/my"
want "$T/dir/my.conf" --config "$T/dir/m"
want "$T/dir/my.conf" verify --auth "$T/dir/my"
want "$T/dir/sub $T/dir/sub2" --root "$T/dir/s"
want "$T/dir/sub $T/dir/sub2" payload --extract "$T/dir/s"
want "" --root "$T/dir/my"		# a file is not a root directory
want "$T/dir/my.conf" report "$T/dir/my"	# report FILE...
want "$T/dir/my.conf" report --since 7 "$T/dir/my"
# --root=DIR arrives as "--root" "=" "DIR" (= is a word break).
want "$T/dir/sub $T/dir/sub2" --root = "$T/dir/s"

# rollback: run numbers from the state directory of the --root given.
mkdir -p "$T/r/var/lib/mailstage/runs/1" "$T/r/var/lib/mailstage/runs/2" "$T/r/var/lib/mailstage/runs/12"
want "1 12" --root "$T/r" rollback 1
want "1 12 2" --root "$T/r" rollback ""

# The installed copy is the same file as the one in the payload.
"$MAILSTAGE_BIN" payload --extract "$T/x" >/dev/null
cmp "$T/x/completion/mailstage" "$src" || die "embedded completion differs from payload/completion/mailstage"
ok "embedded copy matches"
