#!/bin/bash
# Rollback gives files back exactly (issue 16), on real files as a real /etc holds them:
# a POSIX ACL (system.posix_acl_access), user xattrs whose names need escaping in a pax
# header (space, '%', '=', a non-ASCII byte), nanosecond mtimes on files with and without
# xattrs, and a directory default ACL that a restored file must not inherit.  The manifest
# holds getfacl output, every xattr by name and value (getfattr -d -m- -e hex) and each
# regular file's mtime_ns (directory mtimes are left out: creating and removing entries
# changes them, and no rollback puts them back).  Cases: a forced failure at the last
# mutation point (the test build's MAILSTAGE_FAIL_AT) with its automatic restore; a full
# apply and `mailstage rollback`; /etc/postfix immutable (chattr +i), where the failed apply
# must report "restored" (exit 3), not "restore incomplete" (4).
#
# The scratch roots live on a loop-mounted ext4 image made here: ext4 has user xattrs,
# POSIX ACLs and the immutable flag (tmpfs has no chattr +i, and user xattrs only from
# Linux 6.6); each is probed first and the test says so.  Everything runs again against a
# libarchive older than this machine's when one is found at run time (MAILSTAGE_OLD_LIBARCHIVE
# names a libarchive.so.13 file or its directory; else /opt, /usr/local and /srv are
# searched); the project never builds one.  Each run prints the archive_version_string used.
. "$(dirname "$0")/lib.sh"
for t in setfacl getfacl setfattr getfattr mkfs.ext4 chattr; do
	command -v $t >/dev/null || die "$t missing (tests/deps: acl, attr, e2fsprogs)"
done

img=$T/ms-c-exact.img mnt=$T/ms-c-exact
trap 'chattr -R -i "$mnt" 2>/dev/null; umount "$mnt" 2>/dev/null; rm -rf "$T"' EXIT
truncate -s 400M "$img"
mkfs.ext4 -q -F -m 0 "$img"
mkdir "$mnt"
mount -o loop,user_xattr,acl "$img" "$mnt"
# The file system must do what the cases need, or the test proves nothing.
touch "$mnt/probe"
setfattr -n 'user.a=b c%d' -v 1 "$mnt/probe" || die "scratch ext4: no user xattrs"
setfacl -m u:nobody:r "$mnt/probe" || die "scratch ext4: no POSIX ACLs"
getfattr --absolute-names -h -d -m- -e hex "$mnt/probe" | grep -q '^system.posix_acl_access=' || die "scratch ext4: ACL not an xattr"
chattr +i "$mnt/probe" && chattr -i "$mnt/probe" || die "scratch ext4: no immutable flag"
rm "$mnt/probe"
echo "scratch file system: ext4 on a loop image ($(findmnt -no OPTIONS "$mnt")): user xattrs, POSIX ACLs, chattr +i work"

libver() {	# libver [DIR]: archive_version_string of the libarchive.so.13 dlopen() finds
	LD_LIBRARY_PATH=${1:-${LD_LIBRARY_PATH:-}} python3 -c 'import ctypes
l = ctypes.CDLL("libarchive.so.13"); l.archive_version_string.restype = ctypes.c_char_p
print(l.archive_version_string().decode())'
}

# decorate ROOT: what a real /etc can carry, on files apply replaces.
nonascii=$(printf 'user.\303\261ame')	# user.ñame, UTF-8
decorate() {
	local e=$1/etc
	setfacl -m u:nobody:r,g:nogroup:rw "$e/postfix/main.cf"
	setfattr -n 'user.a=b c%d' -v 'one' "$e/postfix/main.cf"
	setfattr -n "$nonascii" -v 0x00ff10 "$e/postfix/main.cf"
	touch -d '2021-03-04 05:06:07.123456789' "$e/postfix/main.cf"
	# No xattrs at all: the exact time must survive without any other reason for a pax header.
	setfattr -x user.mailstage-test "$e/aliases" 2>/dev/null || true
	touch -d '2020-01-02 03:04:05.987654321' "$e/aliases" "$e/default/opendkim"
	# A default ACL on the directory: a restored file (a new inode) must not inherit it.
	setfacl -d -m u:nobody:rwx "$e/default"
	touch -d '2019-05-06 07:08:09.000000001' "$e/default/saslauthd"
}

manifest() {	# manifest ROOT: getfacl, every xattr (hex), mtime_ns of files; not var/lib/mailstage
	(cd "$1" && find . -path ./var/lib/mailstage -prune -o -print | LC_ALL=C sort >"$T/paths" &&
		tr '\n' '\0' <"$T/paths" | xargs -0 getfacl -p -n 2>/dev/null | grep -v '^$' &&
		tr '\n' '\0' <"$T/paths" | xargs -0 getfattr -h -d -m- -e hex 2>/dev/null | grep -v '^$' &&
		python3 -c 'import os,stat,sys
for p in sys.stdin.read().split("\n"):
    if p and stat.S_ISREG(os.lstat(p).st_mode):
        st = os.lstat(p)
        print("mtime_ns %s %d %04o %d:%d %d" % (p, st.st_mtime_ns, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size))' <"$T/paths")
	snapshot "$1"
}

fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# same LABEL BEFORE ROOT: the manifest of ROOT equals BEFORE
same() {
	manifest "$3" >"$T/after"
	diff -u "$2" "$T/after" >"$T/diff" && return 0
	cat "$T/diff"
	bad "$1: the manifest differs after the rollback"
	return 1
}

run_cases() {	# run_cases TAG: every case with the libarchive dlopen() finds now
	local tag=$1 r n rc
	echo "$tag: libarchive $(libver)"
	r=$mnt/r-$tag-count
	tests/lib/populate "$r" debian12
	MAILSTAGE_HOOK_LOG=$T/points mst "${SCRATCH[@]}" --root "$r" -q apply 2>/dev/null
	n=$(wc -l <"$T/points")
	head -n "$n" "$T/points" | grep -q ' /etc/postfix/main.cf$' || die "$tag: main.cf is not written before point $n"
	rm -f "$T/points"

	# A failure at the last mutation point: the automatic restore must be exact.
	r=$mnt/r-$tag-fail
	tests/lib/populate "$r" debian12 && decorate "$r" && manifest "$r" >"$T/before"
	grep -q '^user.a\\075b c%d=' "$T/before" && grep -q "^$nonascii=" "$T/before" &&
		grep -q '^user:65534:r--' "$T/before" && grep -q '^default:user:65534:rwx' "$T/before" &&
		grep -q 'mtime_ns ./etc/aliases 1577934245987654321 ' "$T/before" || die "$tag: setup: manifest lacks the decorations"
	rc=0
	MAILSTAGE_FAIL_AT=$n mst "${SCRATCH[@]}" --root "$r" -q apply 2>"$T/err" || rc=$?
	[ $rc = 3 ] || { cat "$T/err"; bad "$tag: failure at point $n: exit $rc, expected 3"; }
	same "$tag: failure at point $n" "$T/before" "$r" && ok "$tag: failure at point $n: ACLs, xattr names, mtime_ns all back"

	# A run that succeeded, then `mailstage rollback`.
	r=$mnt/r-$tag-rollback
	tests/lib/populate "$r" debian12 && decorate "$r" && manifest "$r" >"$T/before"
	if ! ms "${SCRATCH[@]}" --root "$r" -q apply 2>"$T/err"; then
		cat "$T/err"
		bad "$tag: apply failed"
	else
		manifest "$r" >"$T/mid"
		cmp -s "$T/before" "$T/mid" && die "$tag: apply changed nothing"
		# The backup holds each xattr once, by the name mailstage recorded (libarchive is given none),
		# and exact times in its pax headers (full pax, not pax_restricted).
		python3 - "$r"/var/lib/mailstage/runs/1/backup-*.tar <<'PY' || bad "$tag: backup archive"
import sys, tarfile
for path in sys.argv[1:]:
    for m in tarfile.open(path, format=tarfile.PAX_FORMAT):
        dup = [k for k in m.pax_headers if k.startswith(("LIBARCHIVE.xattr.", "SCHILY.xattr.", "SCHILY.acl"))]
        if dup:
            sys.exit("%s: %s has libarchive's own xattr/ACL keys %s" % (path, m.name, dup))
        if m.name.endswith("/etc/aliases") and m.pax_headers.get("mtime") != "1577934245.987654321":
            sys.exit("%s: %s: pax mtime %r, expected 1577934245.987654321" % (path, m.name, m.pax_headers.get("mtime")))
PY
		ms --root "$r" -q rollback 2>"$T/err" || { cat "$T/err"; bad "$tag: rollback failed"; }
		same "$tag: apply + rollback" "$T/before" "$r" && ok "$tag: apply + rollback: ACLs, xattr names, mtime_ns all back"
	fi

	# /etc/postfix immutable: main.cf is never written, and its undo finds it as recorded.
	r=$mnt/r-$tag-immutable
	tests/lib/populate "$r" debian12 && decorate "$r" && chattr +i "$r/etc/postfix" && manifest "$r" >"$T/before"
	rc=0
	ms "${SCRATCH[@]}" --root "$r" apply >/dev/null 2>"$T/err" || rc=$?
	grep -q 'main.cf' "$T/err" || { cat "$T/err"; die "$tag: immutable /etc/postfix: the failure is not about main.cf"; }
	[ $rc = 3 ] && grep -q 'the system was restored' "$T/err" ||
		{ cat "$T/err"; bad "$tag: immutable /etc/postfix: exit $rc, expected 3 (restored)"; }
	same "$tag: immutable /etc/postfix" "$T/before" "$r" && [ $rc = 3 ] &&
		ok "$tag: immutable /etc/postfix: failed apply restored (3), root identical"
	chattr -i "$r/etc/postfix"
}

run_cases system

# A backup written before mailstage recorded xattrs itself (no .meta entry) is still restored from
# its pax header, and of the two forms libarchive 3.3+ returns (LIBARCHIVE.xattr. decoded,
# SCHILY.xattr. still escaped) only the true name comes back.  The archive is made here as
# libarchive 3.6.2's pax writer made it.
r=$mnt/r-oldformat f0=$fails
mkroot "$r" debian12
s=$r/var/lib/mailstage
mkdir -p -m 0700 "$s" "$s/runs" "$s/runs/1" "$s/checkpoints"
cp "$r/etc/postfix/main.cf" "$T/main.cf.orig"
python3 - "$T/main.cf.orig" "$s/runs/1/backup-0.tar" <<'PY'
import base64, sys, tarfile
data = open(sys.argv[1], 'rb').read()
ti = tarfile.TarInfo('1/etc/postfix/main.cf')
ti.size, ti.mode, ti.mtime, ti.uid, ti.gid = len(data), 0o640, 1614834367, 0, 0
enc = 'user.a%3Db%20c%25d'
ti.pax_headers = {'LIBARCHIVE.xattr.' + enc: base64.b64encode(b'one').decode(), 'SCHILY.xattr.' + enc: 'one'}
with tarfile.open(sys.argv[2], 'w', format=tarfile.PAX_FORMAT) as t:
    import io
    t.addfile(ti, io.BytesIO(data))
PY
printf 'begin run=1 cmd=apply time=1 pid=1 profile=debian12\nstage name=postfix-main\nfile seq=1 path=/etc/postfix/main.cf prior=backup ar=backup-0.tar\nend status=ok changes=1 time=2\n' >"$s/runs/1/journal"
chmod 0600 "$s/runs/1/journal" "$s/runs/1/backup-0.tar"
echo changed >"$r/etc/postfix/main.cf"
ms --root "$r" -q rollback 2>"$T/err" || { cat "$T/err"; bad "old-format backup: rollback failed"; }
cmp -s "$T/main.cf.orig" "$r/etc/postfix/main.cf" || bad "old-format backup: main.cf content not restored"
got=$(getfattr --absolute-names -h -d -m- -e text "$r/etc/postfix/main.cf" | grep -v '^#' | grep . | LC_ALL=C sort | paste -sd' ')
[ "$got" = 'user.a\075b c%d="one"' ] || bad "old-format backup: xattrs restored as [$got], expected the one true name"
[ "$(stat -c '%a %Y' "$r/etc/postfix/main.cf")" = '640 1614834367' ] || bad "old-format backup: mode/mtime $(stat -c '%a %Y' "$r/etc/postfix/main.cf")"
[ $fails = "$f0" ] && ok "old-format backup (no .meta, both xattr forms): one true name restored, bytes, mode and mtime back"

# An older libarchive, if this machine has one (EL7's is 3.1.2).
sysver=$(libver)
older=
for cand in ${MAILSTAGE_OLD_LIBARCHIVE:-} $(find /opt /usr/local /srv -maxdepth 6 -name 'libarchive.so.13*' 2>/dev/null); do
	[ -d "$cand" ] && cand=$cand/libarchive.so.13
	[ -e "$cand" ] || continue
	mkdir -p "$T/oldlib" && ln -sf "$(readlink -f "$cand")" "$T/oldlib/libarchive.so.13"
	v=$(libver "$T/oldlib:$(dirname "$(readlink -f "$cand")")" 2>/dev/null) ||
		{ echo "older libarchive candidate $cand: not loadable here"; continue; }
	if [ "$(printf '%s\n%s\n' "${v#libarchive }" "${sysver#libarchive }" | sort -V | head -n 1)" != "${sysver#libarchive }" ]; then
		older="$T/oldlib:$(dirname "$(readlink -f "$cand")")"
		break
	fi
done
if [ -n "$older" ]; then
	LD_LIBRARY_PATH=$older run_cases older
else
	echo "older libarchive: none found"
fi
[ $fails = 0 ] || die "$fails case(s) failed"
