#!/bin/bash
# 85-rpm.sh - the RPM package (rpm/mailstage.spec, `make rpm`).
#
# Builds the source and binary RPM of HEAD (`make dist` archives the
# committed tree) twice, as release 1 and release 2, with Debian's rpmbuild,
# and checks: rpmlint finds nothing beyond what rpm/rpmlint.toml explains;
# the file list, modes and %config flags are exactly the expected ones; the
# package is installable by CentOS 7's rpm 4.11 (gzip payload, no rich
# dependencies, only rpmlib features 4.11 has); it installs into a scratch
# root with its scriptlets run, `rpm -V` is clean, an upgrade keeps a modified
# mailstage.conf, and `rpm -e` removes everything but that configuration and
# the state under /var/lib/mailstage.
#
# Not real here: CentOS 7's rpm and toolchain.  The binary in these packages
# is a Debian binary (glibc 2.36, libssl 3) and tests the packaging only; EL
# packages must be built on EL (see the spec's header).  The scratch root has
# no systemd: the scriptlets' systemctl calls fail and are ignored, as on a
# host where systemd is not running (e.g. a container image build); a stub
# systemctl in the root records the calls so the test sees what they do.
. "$(dirname "$0")/lib.sh"
command -v rpmbuild >/dev/null && command -v rpmlint >/dev/null || die "rpmbuild and rpmlint are needed (apt-get install rpm rpmlint)"
cd "$MAILSTAGE_SRC"
version=$(sed -n 's/^VERSION *= *//p' Makefile)
top=$T/rpm

build() {	# build RELEASE
	make -s rpm RPMTOP="$top" RPM_RELEASE="$1" >"$T/build-$1.log" 2>&1 ||
		{ tail -40 "$T/build-$1.log"; die "make rpm RPM_RELEASE=$1 failed"; }
}
build 1
build 2
rpm1=$top/RPMS/$(uname -m)/mailstage-$version-1.$(uname -m).rpm
rpm2=$top/RPMS/$(uname -m)/mailstage-$version-2.$(uname -m).rpm
srpm=$top/SRPMS/mailstage-$version-1.src.rpm
for f in "$rpm1" "$rpm2" "$srpm"; do [ -f "$f" ] || die "make rpm did not write $f"; done
ok "built $(basename "$srpm") $(basename "$rpm1") $(basename "$rpm2")"

# ---- the tarball and the source package
tar tzf "mailstage-$version.tar.gz" >"$T/tar"
for f in Makefile rpm/mailstage.spec installer/main.c installer/payload.c payload/mailstage.conf \
	payload/units/mailstage-converge.timer payload/man/mailstage.8 payload/completion/mailstage; do
	grep -qx "mailstage-$version/$f" "$T/tar" || die "mailstage-$version.tar.gz lacks $f"
done
[ "$(rpm -qlp "$srpm" | sort | tr '\n' ' ')" = "mailstage-$version.tar.gz mailstage.spec " ] ||
	die "unexpected source package contents: $(rpm -qlp "$srpm")"
ok "tarball and source package contents"

# ---- rpmlint: no errors; every warning is explained (filtered) in rpm/rpmlint.toml
rpmlint "$srpm" "$rpm1" rpm/mailstage.spec >"$T/lint-raw" 2>&1 || true
echo "rpmlint without rpm/rpmlint.toml (explained there):"
grep -E ': [EW]: ' "$T/lint-raw" | sed 's/^/    /' || true
rc=0
rpmlint -c rpm/rpmlint.toml "$srpm" "$rpm1" rpm/mailstage.spec >"$T/lint" 2>&1 || rc=$?
tail -1 "$T/lint"
grep -q ' 0 errors, 0 warnings' "$T/lint" && [ $rc -eq 0 ] ||
	{ cat "$T/lint"; die "rpmlint reports something rpm/rpmlint.toml does not explain"; }
ok "rpmlint: 0 errors, 0 warnings beyond rpm/rpmlint.toml"

# ---- file list, modes, owners, flags (c %config, n noreplace, d %doc: man pages, a build-id artifact)
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} f=%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm1" |
	# rpm >= 4.14 adds build-id links (EL8/9 do too, EL7 does not): one per ELF file.
	sed -E 's,^(.*) /usr/lib/\.build-id/[0-9a-f]{2}/[0-9a-f]{38}$,\1 /usr/lib/.build-id/XX/ID,;
		s,^(.*) /usr/lib/\.build-id/[0-9a-f]{2}$,\1 /usr/lib/.build-id/XX,;
		# %license: licenses/NAME-VERSION (rpm 4.11: EL7, Debian) or licenses/NAME (EL8/9)
		s,/usr/share/licenses/mailstage-[^/]+,/usr/share/licenses/mailstage,' | sort -k4 >"$T/files"
cat >"$T/want" <<'EOF'
drwxr-xr-x root:root f= /etc/mailstage
-rw-r----- root:root f=cn /etc/mailstage/mailstage.conf
drwxr-xr-x root:root f=a /usr/lib/.build-id
drwxr-xr-x root:root f=a /usr/lib/.build-id/XX
lrwxrwxrwx root:root f=a /usr/lib/.build-id/XX/ID
-rw-r--r-- root:root f= /usr/lib/systemd/system/mailstage-converge.service
-rw-r--r-- root:root f= /usr/lib/systemd/system/mailstage-converge.timer
-rwxr-xr-x root:root f= /usr/sbin/mailstage
-rw-r--r-- root:root f= /usr/share/bash-completion/completions/mailstage
-rw-r--r-- root:root f= /usr/share/locale/ja/LC_MESSAGES/mailstage.mo
drwxr-xr-x root:root f= /usr/share/mailstage
-rw-r--r-- root:root f= /usr/share/mailstage/mailstage.conf.example
-rw-r--r-- root:root f=d /usr/share/man/man5/mailstage.conf.5.gz
-rw-r--r-- root:root f=d /usr/share/man/man8/mailstage.8.gz
drwxr-xr-x root:root f= /usr/share/licenses/mailstage
-rw-r--r-- root:root f=l /usr/share/licenses/mailstage/LICENSE
drwx------ root:root f= /var/lib/mailstage
EOF
# Templates added under payload/ later go to /usr/share/mailstage as they are.
(cd payload && find . -type f ! -name '*~' ! -name mailstage.conf ! -path './units/*' ! -path './man/*' \
	! -path './completion/*' | sed 's,^\./,,') | while read -r f; do
	d=$(dirname "$f")
	while [ "$d" != . ]; do echo "drwxr-xr-x root:root f= /usr/share/mailstage/$d"; d=$(dirname "$d"); done
	echo "-rw-r--r-- root:root f= /usr/share/mailstage/$f"
done >>"$T/want"
sort -u -k4 "$T/want" -o "$T/want"
diff -u "$T/want" "$T/files" || die "rpm -qlp: the file list differs from the expected one (above)"
ok "rpm -qlp lists exactly the expected files and modes"
[ "$(rpm -qp --qf '[%{FILENAMES}\n]' "$rpm1" | grep -c /usr/lib/.build-id/../)" -le 1 ] ||
	die "more than one build-id link"

# ---- installable on EL7: gzip payload, no rich dependencies, rpmlib features of rpm 4.11
[ "$(rpm -qp --qf '%{PAYLOADCOMPRESSOR}' "$rpm1")" = gzip ] || die "payload is not gzip (rpm 4.11 reads no zstd)"
rpm -qp --requires "$rpm1" >"$T/req"
grep -q '^(' "$T/req" && die "rich dependency in Requires: $(grep '^(' "$T/req")"
# dlopen()ed at run time, so rpm cannot find them by itself (installer/lazylib.h, lazyse.h,
# lazycrypto.h, msg.c).
for lib in libcurl libarchive expat libselinux libsemanage systemd-libs openssl-libs; do
	grep -qx "$lib" "$T/req" || die "Requires lacks $lib (loaded with dlopen)"
done
grep -o 'rpmlib([A-Za-z]*)' "$T/req" | sort -u | while read -r f; do
	case $f in
	'rpmlib(CompressedFileNames)'|'rpmlib(PayloadFilesHavePrefix)'|'rpmlib(FileDigests)'|\
	'rpmlib(PayloadIsXz)'|'rpmlib(PayloadIsLzma)'|'rpmlib(PartialHardlinkSets)'|'rpmlib(ScriptletInterpreterArgs)'|\
	'rpmlib(VersionedDependencies)'|'rpmlib(PayloadIsBzip2)') ;;
	*) die "$f is not known to rpm 4.11 (CentOS 7)" ;;
	esac
done
ok "EL7-installable: gzip payload, no rich dependencies, rpmlib features of rpm 4.11"

# ---- install into a scratch root (with /bin/sh for the scriptlets)
R=$T/root
mkdir -p "$R/bin" "$R/etc" "$R/dev"
mknod -m 0666 "$R/dev/null" c 1 3	# the scriptlets write to /dev/null
cp /bin/dash "$R/bin/sh"
for lib in $(ldd /bin/dash | grep -oE '/[^ ]+'); do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
# A systemctl that records how the scriptlets call it.
mkdir -p "$R/usr/bin"
printf '#!/bin/sh\necho "$*" >>/systemctl.log\nexit 1\n' >"$R/usr/bin/systemctl"
chmod 0755 "$R/usr/bin/systemctl"
: >"$R/systemctl.log"
find "$R" | sort >"$T/base"
# Debian's rpm warns on stderr that it should not install packages; those two
# lines are removed, anything else on stderr is an error.
rpmr() {
	local rc=0
	rpm --root "$R" --dbpath /var/lib/rpm "$@" 2>"$T/rpm-err" || rc=$?
	grep -v -e 'RPM should not be used directly' -e 'assuming you know what you are doing' "$T/rpm-err" >&2 || true
	return $rc
}
rpmr --initdb
rpmr -i --nodeps "$rpm1" 2>"$T/err" || { cat "$T/err"; die "rpm -i failed"; }
[ -s "$T/err" ] && { cat "$T/err"; die "rpm -i printed errors"; }
rpmr -q mailstage >/dev/null || die "mailstage not installed"
[ "$(stat -c %a "$R/etc/mailstage/mailstage.conf")" = 640 ] || die "mailstage.conf is not 0640"
[ "$(stat -c %a "$R/var/lib/mailstage")" = 700 ] || die "/var/lib/mailstage is not 0700"
"$R/usr/sbin/mailstage" --version | grep -q "mailstage $version" || die "installed binary does not run"
MAILSTAGE_DATADIR=$R/usr/share/mailstage "$R/usr/sbin/mailstage" payload | grep -q "mailstage.conf.example *$R/usr/share/mailstage/mailstage.conf.example" ||
	die "installed binary does not take the example from the data directory"
grep -q '^ExecStart=/usr/sbin/mailstage apply --json$' "$R/usr/lib/systemd/system/mailstage-converge.service" ||
	die "the service does not run /usr/sbin/mailstage apply --json"
grep -q '^ExecStart=-/usr/sbin/mailstage --json report --digest$' "$R/usr/lib/systemd/system/mailstage-converge.service" ||
	die "the service does not log the DMARC digest (ExecStart=-/usr/sbin/mailstage --json report --digest)"
grep -qx 'preset mailstage-converge.service mailstage-converge.timer' "$R/systemctl.log" ||
	grep -qx -- '--no-reload preset mailstage-converge.service mailstage-converge.timer' "$R/systemctl.log" ||
	die "%post did not preset the units: $(cat "$R/systemctl.log")"
grep -E 'enable|start' "$R/systemctl.log" | grep -v preset && die "%post enabled or started a unit (they ship disabled)"
ok "installed into a scratch root; %post ran systemctl preset only (units stay disabled)"
: >"$R/systemctl.log"
# --nodeps: the scratch root has no other packages (libraries, systemd).
out=$(rpmr -V --nodeps mailstage) || die "rpm -V failed: $out"
[ -z "$out" ] || die "rpm -V is not clean: $out"
ok "rpm -V clean"

# ---- upgrade keeps a modified configuration
cat >"$R/etc/mailstage/mailstage.conf" <<'EOF'
hostname = mail.site.example
domain = site.example
ipv4 = 192.0.2.77
EOF
cp "$R/etc/mailstage/mailstage.conf" "$T/conf"
mkdir -p "$R/var/lib/mailstage/runs/1"
echo 'begin run=1 cmd=apply' >"$R/var/lib/mailstage/runs/1/journal"
rpmr -U --nodeps "$rpm2" 2>"$T/err" || { cat "$T/err"; die "rpm -U failed"; }
[ "$(rpmr -q mailstage)" = "mailstage-$version-2.$(uname -m)" ] || die "upgrade did not install release 2: $(rpmr -q mailstage)"
cmp "$R/etc/mailstage/mailstage.conf" "$T/conf" || die "upgrade changed the modified mailstage.conf"
[ -f "$R/var/lib/mailstage/runs/1/journal" ] || die "upgrade lost state under /var/lib/mailstage"
out=$(rpmr -V --nodeps mailstage || true)
[ "$(echo "$out" | awk '{print $NF}')" = /etc/mailstage/mailstage.conf ] ||
	die "after the upgrade rpm -V should report only the edited mailstage.conf: $out"
echo "$out" | grep -q '^S\.5' && echo "$out" | grep -q ' c /etc/mailstage/mailstage.conf$' ||
	die "rpm -V does not see mailstage.conf as a changed %config file: $out"
grep -qx 'try-restart mailstage-converge.timer' "$R/systemctl.log" ||
	die "%postun of the upgrade did not try-restart the timer: $(cat "$R/systemctl.log")"
grep -q disable "$R/systemctl.log" && die "the upgrade disabled the units"
ok "upgrade to release 2 kept the modified mailstage.conf and the state; the timer was try-restarted"
: >"$R/systemctl.log"

# ---- erase: everything goes but the edited configuration and the state
rpmr -e mailstage 2>"$T/err" || { cat "$T/err"; die "rpm -e failed"; }
rpmr -q mailstage >/dev/null 2>&1 && die "still installed after rpm -e"
grep -q 'disable mailstage-converge.service mailstage-converge.timer' "$R/systemctl.log" &&
	grep -q 'stop mailstage-converge.service mailstage-converge.timer' "$R/systemctl.log" ||
	die "%preun did not disable and stop the units: $(cat "$R/systemctl.log")"
find "$R" | grep -v "^$R/var/lib/rpm" | grep -v "^$R/var/lib\$" | grep -v "^$R/var\$" | sort >"$T/after"
cat "$T/base" - <<EOF | sort >"$T/want"
$R/etc/mailstage
$R/etc/mailstage/mailstage.conf.rpmsave
$R/var/lib/mailstage
$R/var/lib/mailstage/runs
$R/var/lib/mailstage/runs/1
$R/var/lib/mailstage/runs/1/journal
EOF
diff -u "$T/want" "$T/after" | sed "s,$R,ROOT,g" >"$T/d" || { cat "$T/d"; die "rpm -e left other files, or removed kept ones (above)"; }
cmp "$R/etc/mailstage/mailstage.conf.rpmsave" "$T/conf" || die "the edited configuration was not kept"
ok "rpm -e removed everything but the edited configuration (.rpmsave) and the state"

# An unmodified configuration is removed with the package.
rpmr -i --nodeps "$rpm1" && rpmr -e mailstage
[ -e "$R/etc/mailstage/mailstage.conf" ] && die "rpm -e kept an unmodified mailstage.conf"
ok "rpm -e removes an unmodified mailstage.conf"
