#!/bin/bash
# 84-floors.sh - the floors of installer/ and steps/ point only down (issue
# 11): tests/lib/floors.py gives every file a floor (base, messages, root
# and libraries, journal, primitives, runner, stages, commands) and fails on
# a file that includes a header of a higher floor, on an object that uses a
# symbol defined on a higher floor (nm of the built objects), on a stage
# that sees more of the machinery than stage.h, and on any circle of
# includes or calls.  Controls: the same checker on a copy of the tree with
# one include pointing up, and with one call pointing up, fails and names it.
. "$(dirname "$0")/lib.sh"
cd "$MAILSTAGE_SRC"
F=tests/lib/floors.py
[ -e "$MAILSTAGE_BUILD/installer/util.o" ] || die "no objects in $MAILSTAGE_BUILD (make test-build)"
out=$(python3 $F --map --objs "$MAILSTAGE_BUILD" 2>&1) || die "arrows point up:
$out"
echo "$out"
grep -q '0 arrows up, 0 circles' <<<"$out" || die "summary: $out"
ok "every include and every call points down"

# control 1: util.h including runner.h is an arrow up and a circle
mkdir -p "$T/src"
cp -r installer steps "$T/src/"
sed -i '0,/#include <stddef.h>/s//#include "runner.h"\n#include <stddef.h>/' "$T/src/installer/util.h"
grep -q '"runner.h"' "$T/src/installer/util.h" || die "control: setup did not inject the include"
rc=0; c=$(python3 $F --src "$T/src" 2>&1) || rc=$?
[ $rc -eq 1 ] || die "control: an include up passed (rc $rc): $c"
grep -q '^UP: installer/util.h:[0-9]* includes runner.h' <<<"$c" || die "control: not named: $c"
grep -q '^CIRCLE (includes):.*installer/util' <<<"$c" || die "control: circle not found: $c"
ok "control: an include up is named ($(grep -c '^UP' <<<"$c") arrow(s))"

# control 2: a call from the primitives into the runner
echo "installer/prim installer/runner run_journal" >"$T/edges"
rc=0; c=$(python3 $F --objs "$MAILSTAGE_BUILD" --edges "$T/edges" 2>&1) || rc=$?
[ $rc -eq 1 ] || die "control: a call up passed (rc $rc): $c"
grep -q '^UP-CALL: installer/prim.o uses run_journal of installer/runner.o' <<<"$c" || die "control: not named: $c"
ok "control: a call up is named"

# control 3: a stage that sees the primitives (floor below, but not stage.h)

mkdir -p "$T/src2" && cp -r installer steps "$T/src2/"
sed -i '0,/#include "steps.h"/s//#include "steps.h"\n#include "prim.h"/' "$T/src2/steps/tls.c"
rc=0; c=$(python3 $F --src "$T/src2" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q '^UP: steps/tls.c:[0-9]* includes prim.h' <<<"$c" || die "control: a stage including prim.h passed: $c"
ok "control: a stage that includes prim.h is named"

# control 4: a new file on no floor
cp installer/util.h "$T/src/installer/newthing.h"
rc=0; c=$(python3 $F --src "$T/src" 2>&1) || rc=$?
grep -q '^NO FLOOR: installer/newthing.h' <<<"$c" || die "control: a file without a floor passed: $c"
ok "control: a file on no floor is named"
