#!/bin/bash
# A no-op apply costs little more than starting a process (issue 11): the
# binary links none of libcrypto, libselinux, libsemanage, libsystemd
# (dlopen()ed where used: installer/lazylib.c, lazycrypto.h, lazyse.h,
# msg.c), and a converged apply whose DKIM key, TLS key and certificate are
# unchanged since the last one loads none of them either: the fingerprint
# records (installer/fpcache.c) answer for the unchanged files.  Anything
# changed means the full check: a DKIM key whose bytes are replaced, size
# and mtime kept, is parsed, refused and replaced.  No timing is asserted.
. "$(dirname "$0")/lib.sh"

lazy='libcrypto|libselinux|libsemanage|libsystemd'
if ldd "$MAILSTAGE_BIN" | grep -E "$lazy"; then
	die "mailstage links a library it should dlopen() where used"
fi
ok "ldd: none of $lazy is linked"

# The libraries a run loads, from the dynamic loader's own log.
loaded() { grep -oE "file=($lazy)[^ ]*" "$1" | sort -u | paste -sd' ' -; }

mkroot "$T/r" debian12
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null || die "setup: apply failed"
fp=$T/r/var/lib/mailstage/fingerprints
[ -f "$fp" ] || die "a converged apply recorded no fingerprints"
[ "$(stat -c %a "$fp")" = 600 ] || die "fingerprints are $(stat -c %a "$fp"), not 0600"
grep -q '^key-info|/etc/opendkim/keys/example.com/default.private ' "$fp" || { cat "$fp"; die "no record of the DKIM key"; }
grep -q '^cert-check|mail.example.com|' "$fp" || { cat "$fp"; die "no record of the certificate"; }
before=$(stat -c '%i %Y' "$fp")

LD_DEBUG=files ms "${SCRATCH[@]}" --root "$T/r" apply >"$T/out" 2>"$T/ld" || { cat "$T/out"; die "no-op apply failed"; }
grep -q 'apply: 0 of [0-9]* stages changed, 0 changes' "$T/ld" || { grep -v 'file=\|^ *[0-9]*:' "$T/ld"; die "not a no-op"; }
[ -z "$(loaded "$T/ld")" ] || die "a no-op apply loaded $(loaded "$T/ld")"
[ "$(stat -c '%i %Y' "$fp")" = "$before" ] || die "a no-op apply rewrote the fingerprints"
ok "no-op apply: none of them loaded, the fingerprints not rewritten"

# Without the records the same apply parses the files: libcrypto is what they save.
rm "$fp"
LD_DEBUG=files ms "${SCRATCH[@]}" --root "$T/r" -q apply >/dev/null 2>"$T/ld" || die "apply without fingerprints failed"
loaded "$T/ld" | grep -q libcrypto || die "without fingerprints libcrypto was not loaded: $(loaded "$T/ld")"
[ -f "$fp" ] || die "fingerprints not recorded again"
ok "without the records: libcrypto loaded, records written again"

# Same size, same mtime, other bytes: the full check runs and refuses the key.
key=$T/r/etc/opendkim/keys/example.com/default.private
cp -p "$key" "$T/key.orig"
python3 - "$key" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[100:300] = b'A' * 200
open(p, 'r+b').write(bytes(b))
PY
touch -r "$T/key.orig" "$key"
[ "$(stat -c '%s %Y' "$key")" = "$(stat -c '%s %Y' "$T/key.orig")" ] || die "setup: size or mtime differ"
LD_DEBUG=files ms "${SCRATCH[@]}" --root "$T/r" apply >"$T/out" 2>"$T/ld" || { grep -v 'file=\|^ *[0-9]*:' "$T/ld"; die "apply after the key changed failed"; }
grep -q 'DKIM key /etc/opendkim/keys/example.com/default.private is unreadable' "$T/ld" ||
	{ grep -v '^ *[0-9]*:' "$T/ld"; die "the changed key was not checked in full"; }
loaded "$T/ld" | grep -q libcrypto || die "the changed key was not parsed (libcrypto not loaded)"
cmp -s "$key" "$T/key.orig" && die "key not replaced"
openssl pkey -noout -in "$key" 2>/dev/null || die "the new key does not parse"
ok "a key changed behind the same size and mtime: checked in full, refused, replaced"
