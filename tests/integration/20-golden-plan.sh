#!/bin/bash
# Golden tests of the command-line output (plan above all), curl-style:
# tests/cases/plan/NNN-name/ holds `setup` (prepares a root given as $1),
# `args` (mailstage's arguments, after --root) and `expected` (stdout, then
# "--- stderr", then stderr, then "--- exit N"; the root path reads ROOT).
# The stages that need a booted host are skipped ($SCRATCH, see lib.sh).
# UPDATE=1 rewrites the expected files from the current output: review the
# diff before committing it.  Add a case per bug.
. "$(dirname "$0")/lib.sh"
export MAILSTAGE_BIN
cd "$MAILSTAGE_SRC"
n=0
for c in tests/cases/plan/*/; do
	c=${c%/}
	rm -rf "$T/root"
	mkdir -p "$T/root"
	"$c/setup" "$T/root" >/dev/null
	read -r -a args <"$c/args"
	rc=0
	ms "${SCRATCH[@]}" --root "$T/root" "${args[@]}" >"$T/out" 2>"$T/err" || rc=$?
	{ cat "$T/out"; echo "--- stderr"; cat "$T/err"; echo "--- exit $rc"; } |
		sed -e "s|$T/root|ROOT|g" -e 's/([0-9]* ms)/(N ms)/' >"$T/got"
	if [ -n "${UPDATE:-}" ]; then
		cp "$T/got" "$c/expected"
	elif ! diff -u "$c/expected" "$T/got"; then
		die "golden case $c differs (UPDATE=1 to accept after review)"
	fi
	n=$((n + 1))
done
ok "$n golden command-line cases"
