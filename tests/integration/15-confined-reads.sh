#!/bin/bash
# Reads of the target stay inside --root and never block (issue 10): one
# case per hostile file.
#   - /etc/os-release an absolute symlink (/usr/lib/os-release, as on real
#     systems): resolved inside the root - an EL7 root gets el7, not this
#     Debian host's profile;
#   - mailstage.conf a symlink to a file outside the root: refused, and not
#     a byte of that file appears in the output;
#   - /etc/passwd a symlink out of the root: not read (the target's users
#     are unknown, so the run stops before changing anything);
#   - a FIFO as os-release, mailstage.conf or /etc/passwd: one message, no
#     hang (each command has 10 s);
#   - terminal control bytes in os-release are shown escaped, never raw.
# The root is unchanged in every case.
. "$(dirname "$0")/lib.sh"

run10() { timeout 10 "$@"; }	# a hang is exit 124
fresh() { rm -rf "$T/r"; tests/lib/mkroot "$T/r" "${1:-debian12}"; }
# expect_refusal RC PATTERN ARGS...: mailstage exits RC, says PATTERN, root unchanged
expect_refusal() {
	local want=$1 pat=$2 rc=0
	shift 2
	snapshot "$T/r" >"$T/before"
	run10 "$MAILSTAGE_BIN" --root "$T/r" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ $rc = 124 ] && die "\`mailstage $*\` hung"
	[ $rc = "$want" ] || { cat "$T/err"; die "\`mailstage $*\` exited $rc, expected $want"; }
	grep -q -- "$pat" "$T/err" || { cat "$T/err"; die "\`mailstage $*\` does not say: $pat"; }
	snapshot "$T/r" | diff -u "$T/before" - || die "\`mailstage $*\`: the root changed"
}

# os-release -> /usr/lib/os-release (absolute): the root's file, not the host's.
fresh el7
mkdir -p "$T/r/usr/lib"
mv "$T/r/etc/os-release" "$T/r/usr/lib/os-release"
ln -s /usr/lib/os-release "$T/r/etc/os-release"
ms --root "$T/r" "${SCRATCH[@]}" plan >"$T/plan" 2>&1 || true
grep -q '/etc/pki/tls' "$T/plan" || { head -20 "$T/plan"; die "absolute os-release symlink: not the EL7 plan"; }
if grep -q '/etc/ssl/private' "$T/plan"; then die "absolute os-release symlink: the host's os-release was read"; fi
ok "absolute os-release symlink resolved inside the root (el7 plan)"

# os-release -> ../usr/lib/os-release (relative, inside): accepted the same way.
rm "$T/r/etc/os-release"
ln -s ../usr/lib/os-release "$T/r/etc/os-release"
ms --root "$T/r" "${SCRATCH[@]}" plan >"$T/plan" 2>&1 || true
grep -q '/etc/pki/tls' "$T/plan" || die "relative os-release symlink: not the EL7 plan"
ok "relative os-release symlink inside the root accepted"

# os-release -> ../../../../../../etc/os-release: climbs out, refused.
rm "$T/r/etc/os-release"
ln -s ../../../../../../../../etc/os-release "$T/r/etc/os-release"
expect_refusal 78 'points outside the root' plan
ok "os-release symlink climbing out of the root refused (78)"

# mailstage.conf -> a file outside the root holding a secret.
fresh
printf 'root:$6$SECRETHASH$abcdef:19000:0:99999:7:::\n' >"$T/outside-secret"
rm "$T/r/etc/mailstage/mailstage.conf"
ln -s "$T/outside-secret" "$T/r/etc/mailstage/mailstage.conf"
expect_refusal 78 'mailstage.conf' plan
if grep -q SECRETHASH "$T/out" "$T/err"; then die "the outside file's content was echoed"; fi
ok "mailstage.conf symlinked out of the root: refused (78), nothing of the outside file shown"

# /etc/passwd -> outside: not read.
fresh
cp "$T/r/etc/passwd" "$T/outside-passwd"
rm "$T/r/etc/passwd"
ln -s "$T/outside-passwd" "$T/r/etc/passwd"
snapshot "$T/r" >"$T/before"
rc=0
run10 "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" -q apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || { cat "$T/err"; die "/etc/passwd symlinked out: apply exited $rc"; }
grep -q '/etc/passwd of the target: there is no such file (an absolute symlink is followed inside the root)' "$T/err" ||
	{ cat "$T/err"; die "/etc/passwd symlinked out: the message does not say why"; }
snapshot "$T/r" | diff -u "$T/before" - || die "/etc/passwd symlinked out: the root changed"
rm "$T/r/etc/passwd"
ln -s "../../../../../../../../../..$T/outside-passwd" "$T/r/etc/passwd"
snapshot "$T/r" >"$T/before"
rc=0
run10 "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" -q apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 3 ] || { cat "$T/err"; die "/etc/passwd climbing out: apply exited $rc"; }
grep -q '/etc/passwd of the target: it is a symlink pointing outside the root' "$T/err" ||
	{ cat "$T/err"; die "/etc/passwd climbing out: the message does not say why"; }
snapshot "$T/r" | diff -u "$T/before" - || die "/etc/passwd climbing out: the root changed"
ok "/etc/passwd symlinked out of the root (absolute, relative): not read, said why (exit 3, root unchanged)"

# FIFOs: one message each, no hang.
fresh
rm "$T/r/etc/os-release"
mkfifo "$T/r/etc/os-release"
expect_refusal 78 '/etc/os-release is not a regular file' plan
ok "os-release a FIFO: 78 without blocking"

fresh
rm "$T/r/etc/mailstage/mailstage.conf"
mkfifo -m 0640 "$T/r/etc/mailstage/mailstage.conf"
expect_refusal 78 'mailstage.conf is not a regular file' plan
expect_refusal 78 'mailstage.conf is not a regular file' dns
[ "$(grep -c 'error:' "$T/err")" -le 2 ] || { cat "$T/err"; die "FIFO config: more than one message"; }
ok "mailstage.conf a FIFO: 78 without blocking (plan, dns)"

fresh
rm "$T/r/etc/passwd"
mkfifo "$T/r/etc/passwd"
rc=0
run10 "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" -q apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc != 124 ] || die "/etc/passwd a FIFO: apply hung"
[ $rc != 0 ] || die "/etc/passwd a FIFO: apply succeeded"
ok "/etc/passwd a FIFO: apply ends (exit $rc) without blocking"

# Control bytes from the target are escaped.
fresh
printf 'PRETTY_NAME="Evil\033[2J\033]0;pwned\007 OS"\nID=evil\nVERSION_ID=1\n' >"$T/r/etc/os-release"
expect_refusal 78 'unsupported OS: Evil\\x1b\[2J\\x1b\]0;pwned\\x07 OS' plan
if grep -q "$(printf '\033')" "$T/err"; then die "a raw ESC byte reached the terminal"; fi
ok "control bytes in os-release shown as \\xHH"

# An /etc/passwd entry with an empty uid is a broken entry, never uid 0 (measured: the DKIM key
# was chowned to root).
fresh
sed -i 's/^opendkim:x:106:111:/opendkim:x::111:/' "$T/r/etc/passwd"
grep -q '^opendkim:x::111:' "$T/r/etc/passwd" || die "setup: passwd not edited"
snapshot "$T/r" >"$T/before"
rc=0
run10 "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" -q apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 3 ] || { cat "$T/err"; die "empty uid: apply exited $rc, expected 3"; }
grep -q 'etc/passwd of the target: the entry for that name has a user or group id that is not a number' "$T/err" ||
	{ cat "$T/err"; die "empty uid: the message does not say so"; }
snapshot "$T/r" | diff -u "$T/before" - || die "empty uid: the root changed"
ok "passwd entry with an empty uid: refused (exit 3), nothing chowned"

# A managed file that is a hard link to a file elsewhere: its owner and mode are not changed
# (measured: the outside file's owner and mode were).  The outside name here is in $T, outside
# the root, on the same file system.
fresh
mkdir -p "$T/r/etc/opendkim/keys/example.com"
install -m 0644 tests/data/dkim-test.private "$T/outside-key"
ln "$T/outside-key" "$T/r/etc/opendkim/keys/example.com/default.private"
snapshot "$T/r" >"$T/before"
rc=0
run10 "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" -q apply >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 3 ] || { cat "$T/err"; die "hard-linked key: apply exited $rc, expected 3"; }
grep -q 'refusing to change owner/mode of /etc/opendkim/keys/example.com/default.private: it has 2 hard links' "$T/err" ||
	{ cat "$T/err"; die "hard-linked key: no clear refusal"; }
[ "$(stat -c '%a %u:%g' "$T/outside-key")" = "644 0:0" ] || die "the outside file was changed: $(stat -c '%a %u:%g' "$T/outside-key")"
snapshot "$T/r" | diff -u "$T/before" - || die "hard-linked key: the root changed"
ok "hard-linked key: owner/mode change refused (exit 3), the outside file untouched"

# The DKIM key a symlink to a key outside the root: its public half is not published by `dns`
# (measured: it was, in the zone).
fresh
install -m 0600 tests/data/dkim-test.private "$T/outside.key"
pub=$(openssl pkey -in "$T/outside.key" -pubout -outform DER 2>/dev/null | base64 -w0)
[ -n "$pub" ] || die "setup: no public key"
mkdir -p "$T/r/etc/opendkim/keys/example.com"
for target in "$T/outside.key" "../../../../../../../../../..$T/outside.key"; do
	ln -sfn "$target" "$T/r/etc/opendkim/keys/example.com/default.private"
	rc=0
	run10 "$MAILSTAGE_BIN" --root "$T/r" dns --format zone >"$T/out" 2>"$T/err" || rc=$?
	[ $rc != 124 ] || die "dns hung"
	if grep -q "${pub:0:60}" "$T/out" "$T/err"; then die "dns published the outside key's public half ($target)"; fi
done
grep -q 'points outside the root' "$T/out" "$T/err" || { cat "$T/out" "$T/err"; die "dns does not say the key points outside the root"; }
rm "$T/r/etc/opendkim/keys/example.com/default.private"
mkfifo "$T/r/etc/opendkim/keys/example.com/default.private"
rc=0
run10 "$MAILSTAGE_BIN" --root "$T/r" dns >"$T/out" 2>"$T/err" || rc=$?
[ $rc != 124 ] || die "dns hung on a FIFO key"
grep -q 'is not a regular file' "$T/out" "$T/err" || { cat "$T/out" "$T/err"; die "dns: FIFO key not named"; }
ok "DKIM key linked out of the root or a FIFO: dns publishes nothing of it, never blocks"
