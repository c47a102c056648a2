#!/bin/bash
# 80-docs.sh - the manual pages: both render with groff -ww and man -l
# without a warning; mailstage(8) documents every command and option of
# `mailstage --help`, every stage of `mailstage stages` and every exit code
# of installer/exitcode.h; the pages built into the binary are the ones in
# payload/man.  (Every configuration key in mailstage.conf(5):
# tests/unit/test_docs.c, against config_keys().)
. "$(dirname "$0")/lib.sh"
man8=$MAILSTAGE_SRC/payload/man/mailstage.8
man5=$MAILSTAGE_SRC/payload/man/mailstage.conf.5

for p in "$man8" "$man5"; do
	groff -ww -man -Tutf8 "$p" >"$T/out" 2>"$T/err"
	[ -s "$T/err" ] && die "groff -ww warns on $(basename "$p"): $(cat "$T/err")"
	[ "$(wc -l <"$T/out")" -gt 50 ] || die "$(basename "$p") rendered to almost nothing"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >"$T/out" 2>"$T/err"
	[ -s "$T/err" ] && die "man -l warns on $(basename "$p"): $(cat "$T/err")"
	grep -q '^NAME' "$T/out" || die "man -l $(basename "$p"): no NAME section"
	ok "$(basename "$p") renders without warnings"
done

# section NAME FILE: the roff source of one .SH section, "\-" as "-".
section() { sed -e 's/\\-/-/g' "$2" | awk -v s=".SH $1" '$0 == s {on=1; next} /^\.SH / {on=0} on'; }

ms --help >"$T/help"
grep -q 'mailstage(8)' "$T/help" && grep -q 'mailstage.conf(5)' "$T/help" ||
	die "--help does not point to mailstage(8) and mailstage.conf(5)"

# Commands: the first word of each command line (two blanks, a letter) of
# the help's "Commands:" block.
cmds=$(awk '/^Commands:/ {on=1; next} /^$/ {on=0} on && /^  [a-z]/ {print $1}' "$T/help" | sort -u)
[ "$(echo "$cmds" | wc -w)" -ge 5 ] || die "could not read the commands from --help: $cmds"
section COMMANDS "$man8" >"$T/commands"
for c in $cmds; do
	grep -Eq "^\.BR? \"?$c( |\"|$)" "$T/commands" || die "command $c (in --help) is not in mailstage(8) COMMANDS"
done
ok "commands documented: $(echo $cmds)"

# Options: every --long and -x option the help shows, in OPTIONS (or, for
# options of one command such as --resume and --extract, in COMMANDS).
opts=$(grep -oE '(^|[ ,[])--?[a-zA-Z][a-z-]*' "$T/help" | sed 's/^[ ,[]//' | sort -u)
section OPTIONS "$man8" >"$T/options"
for o in $opts; do
	grep -qF -- "$o" "$T/options" || grep -qF -- "$o" "$T/commands" ||
		die "option $o (in --help) is not in mailstage(8)"
done
ok "options documented: $(echo $opts)"

# Stages, as this build lists them.
stages=$(ms stages | awk '{print $2}')
[ -n "$stages" ] || die "mailstage stages listed nothing"
section STAGES "$man8" >"$T/stages"
for s in $stages; do
	grep -qx "\.B $s" "$T/stages" || die "stage $s (mailstage stages) is not in mailstage(8) STAGES"
done
ok "stages documented: $(echo $stages)"

# Exit codes: every EXIT_* value of exitcode.h.
codes=$(sed -n 's/^[[:space:]]*EXIT_[A-Z_]* = \([0-9]*\),.*/\1/p' "$MAILSTAGE_SRC/installer/exitcode.h")
[ "$(echo "$codes" | wc -w)" -ge 8 ] || die "could not read the exit codes from exitcode.h"
section "EXIT STATUS" "$man8" >"$T/exit"
for c in $codes; do
	grep -qx "\.B $c" "$T/exit" || die "exit code $c (exitcode.h) is not in mailstage(8) EXIT STATUS"
done
ok "exit codes documented: $(echo $codes)"

for s in FILES EXAMPLES; do
	[ -n "$(section "$s" "$man8")" ] || die "mailstage(8) has no $s section"
done
for s in SYNTAX EXAMPLE FILES; do
	[ -n "$(section "$s" "$man5")" ] || die "mailstage.conf(5) has no $s section"
done
ok "FILES and EXAMPLES sections present"

# The binary carries the same pages.
ms payload --extract "$T/x" 2>/dev/null
cmp "$T/x/man/mailstage.8" "$man8" && cmp "$T/x/man/mailstage.conf.5" "$man5" ||
	die "the pages built into the binary differ from payload/man (rebuild)"
ok "embedded pages match payload/man"
