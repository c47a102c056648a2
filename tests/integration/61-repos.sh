#!/bin/bash
# Stage repos.  Runs in its own network namespace (loopback only): the probe
# is real libcurl against a local HTTP server (python3 -m http.server on
# 127.0.0.1) serving fake repomd.xml files and mirror lists; the stock
# CentOS-Base.repo's mirrorlist.centos.org cannot be reached from here, just
# as it cannot from a real CentOS 7 box since the end of life.
# NOT covered here: yum itself (not available on Debian) reading the
# rewritten files; the files are checked line by line instead.
# The target's architecture comes from the ELF header of its /usr/bin/rpm:
# the roots here get a 64-byte header written by elf_header (x86_64 or
# aarch64), as a CentOS 7 x86_64 or aarch64 box would have.
. "$(dirname "$0")/lib.sh"
if [ -z "${MS_REPOS_NETNS:-}" ]; then
	exec env MS_REPOS_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0"' "$0"
fi

# The local repository server.
W=$T/www
port=18080
for d in os updates extras; do
	mkdir -p "$W/centos/7/$d/x86_64/repodata"
	printf '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision></repomd>\n' \
		>"$W/centos/7/$d/x86_64/repodata/repomd.xml"
	printf '# mirror list\nhttp://127.0.0.1:%s/centos/7/%s/%s/\n' $port $d x86_64 >"$W/ml-$d"
done
mkdir -p "$W/notrepo/repodata" && echo '<html>captive portal</html>' >"$W/notrepo/repodata/repomd.xml"
python3 -m http.server --bind 127.0.0.1 --directory "$W" $port >"$T/http.log" 2>&1 &
srv=$!
# An http vault that answers with a 301 to https, as vault.centos.org does at times.
python3 -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(301)
        self.send_header("Location", "https://127.0.0.1:18443" + self.path)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 18081), H).serve_forever()' &
srv2=$!
trap 'kill $srv $srv2 2>/dev/null; wait $srv $srv2 2>/dev/null || true; rm -rf "$T"' EXIT
for p in $port 18081; do
	for i in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 1)" 2>/dev/null && break
		sleep 0.1
	done
done

# The stock CentOS 7.9 /etc/yum.repos.d/CentOS-Base.repo (centos-release-7-9.2009).
stock_base() {
	cat <<'EOF'
# CentOS-Base.repo
#
# The mirror system uses the connecting IP address of the client and the
# update status of each mirror to pick mirrors that are updated to and
# geographically close to the client.  You should use this for CentOS updates
# unless you are manually picking other mirrors.
#
# If the mirrorlist= does not work for you, as a fall back you can try the 
# remarked out baseurl= line instead.
#
#

[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#released updates 
[updates]
name=CentOS-$releasever - Updates
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=updates&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/updates/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#additional packages that may be useful
[extras]
name=CentOS-$releasever - Extras
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=extras&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/extras/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

#additional packages that extend functionality of existing packages
[centosplus]
name=CentOS-$releasever - Plus
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=centosplus&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/centosplus/$basearch/
gpgcheck=1
enabled=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

EOF
}

# elf_header FILE MACHINE: the ELF header of a 64-bit little-endian program
# for MACHINE (62 x86_64, 183 aarch64): what the target's /usr/bin/rpm starts with.
elf_header() {
	mkdir -p "$(dirname "$1")"
	python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHI", 2, int(sys.argv[2]), 1) + bytes(40))' "$1" "$2"
}

# The stock /etc/yum.repos.d/epel.repo of epel-release-7-14 (EPEL 7's last).
stock_epel() {
	cat <<'EOF'
[epel]
name=Extra Packages for Enterprise Linux 7 - $basearch
#baseurl=http://download.fedoraproject.org/pub/epel/7/$basearch
metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-7&arch=$basearch&infra=$infra&content=$contentdir
failovermethod=priority
enabled=1
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-7

[epel-debuginfo]
name=Extra Packages for Enterprise Linux 7 - $basearch - Debug
#baseurl=http://download.fedoraproject.org/pub/epel/7/$basearch/debug
metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-debug-7&arch=$basearch&infra=$infra&content=$contentdir
failovermethod=priority
enabled=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-7
gpgcheck=1

[epel-source]
name=Extra Packages for Enterprise Linux 7 - $basearch - Source
#baseurl=http://download.fedoraproject.org/pub/epel/7/SRPMS
metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-source-7&arch=$basearch&infra=$infra&content=$contentdir
failovermethod=priority
enabled=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-7
gpgcheck=1
EOF
}

R=$T/el7
mkroot "$R" el7
mkdir -p "$R/etc/yum.repos.d"
elf_header "$R/usr/bin/rpm" 62
base=$R/etc/yum.repos.d/CentOS-Base.repo
epel=$R/etc/yum.repos.d/epel.repo

# 1. Repositories that answer (local baseurls and a local mirror list) are kept.
stock_base | sed "s|^mirrorlist=http://mirrorlist.centos.org/?release=\$releasever&arch=\$basearch&repo=\([a-z]*\)&infra=\$infra|mirrorlist=http://127.0.0.1:$port/ml-\1|" \
	| sed "s|^mirrorlist=http://127.0.0.1:$port/ml-os|baseurl=http://127.0.0.1:$port/centos/\$releasever/os/\$basearch/|" >"$base"
grep -q "^baseurl=http://127.0.0.1:$port/centos/\$releasever/os" "$base" || die "test setup: local baseurl"
stock_epel >"$epel"
cp "$base" "$T/base.answering"
rc=0; ms --root "$R" --only repos plan >"$T/plan1" 2>&1 || rc=$?
cat "$T/plan1"
[ $rc -eq 2 ] || die "answering CentOS-Base, stock epel.repo: plan exited $rc, expected 2 (epel.repo to fix)"
grep -q '"GET /centos/7/os/x86_64/repodata/repomd.xml' "$T/http.log" || die "no repomd.xml probe for base"
grep -q '"GET /ml-updates' "$T/http.log" || die "mirror list of updates not fetched"
grep -q '"GET /centos/7/updates/.*/repodata/repomd.xml' "$T/http.log" || die "mirror of updates not probed"
grep -q "CentOS-Base.repo" "$T/plan1" && die "plan touches an answering CentOS-Base.repo"
grep -q "EPEL 7 is no longer on the Fedora mirrors" "$T/plan1" || die "plan: no reason for the epel.repo change"
ms --root "$R" --only repos apply >/dev/null
cmp "$T/base.answering" "$base" || die "an answering CentOS-Base.repo was changed"
grep -qx 'baseurl=https://dl.fedoraproject.org/pub/archive/epel/7/$basearch' "$epel" || die "epel: archive baseurl"
grep -qx 'baseurl=https://dl.fedoraproject.org/pub/archive/epel/7/$basearch/debug' "$epel" || die "epel-debuginfo: archive baseurl"
grep -qx 'baseurl=https://dl.fedoraproject.org/pub/archive/epel/7/SRPMS' "$epel" || die "epel-source: archive SRPMS baseurl"
[ "$(grep -c '^metalink=' "$epel")" = 0 ] || die "epel.repo: a metalink is left active"
[ "$(grep -c '^#metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-' "$epel")" = 3 ] || die "epel.repo: metalinks not kept as comments"
diff <(stock_epel | grep -v -e '^metalink=' -e '^#baseurl=') <(grep -v -e '^#metalink=' -e '^baseurl=' "$epel") \
	|| die "epel.repo: lines other than metalink/baseurl changed"
expect_rc 0 ms --root "$R" --only repos plan
ok "answering CentOS-Base kept; stock epel.repo still moved to the archive (epel, debug, SRPMS); converged"
ms --root "$R" rollback >/dev/null
stock_epel | cmp - "$epel" || die "rollback: epel.repo not byte-identical"
rm -f "$epel"

# 2. A repomd.xml that is not one (captive portal) counts as unreachable.
sed -i "s|^baseurl=http://127.0.0.1:$port/centos/\$releasever/os/\$basearch/|baseurl=http://127.0.0.1:$port/notrepo/|" "$base"
rc=0; ms --root "$R" --only repos plan >"$T/plan-portal" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/plan-portal"; die "captive portal: plan exited $rc"; }
grep -q "is not a repomd.xml" "$T/plan-portal" || die "captive portal: reason not given"
ok "a page that is not a repomd.xml counts as unreachable"

# 3. The stock file: mirrorlist.centos.org does not answer -> vault and EPEL archive.
stock_base >"$base"
snapshot "$R" >"$T/before"
rc=0; ms --root "$R" --only repos plan >"$T/plan" 2>&1 || rc=$?
cat "$T/plan"
[ $rc -eq 2 ] || die "stock file: plan exited $rc, expected 2"
grep -q "do not answer (\[base\] http://mirrorlist.centos.org/" "$T/plan" || die "plan: no reason"
ms --root "$R" --only repos apply
for d in os updates extras centosplus; do
	grep -qx "baseurl=https://vault.centos.org/7.9.2009/$d/\$basearch/" "$base" || die "no https vault baseurl for $d"
done
[ "$(grep -c '^mirrorlist=' "$base")" = 0 ] || die "mirrorlist= lines left active"
[ "$(grep -c '^#mirrorlist=http://mirrorlist.centos.org' "$base")" = 4 ] || die "mirrorlist lines not kept as comments"
[ "$(grep -c '^#baseurl=' "$base")" = 0 ] || die "the remarked baseurl lines should have become the vault ones"
diff <(stock_base | grep -v -e '^mirrorlist=' -e '^#baseurl=') <(grep -v -e '^#mirrorlist=' -e '^baseurl=' "$base") \
	|| die "lines other than mirrorlist/baseurl changed"
epel=$R/etc/yum.repos.d/epel.repo
grep -qx 'baseurl=https://dl.fedoraproject.org/pub/archive/epel/7/$basearch' "$epel" || die "epel.repo: archive baseurl"
grep -qx 'enabled=1' "$epel" && grep -qx 'gpgcheck=1' "$epel" || die "epel.repo: enabled/gpgcheck"
grep -q "moving them to https://vault.centos.org/7.9.2009 (x86_64)" "$T/plan" || die "plan: vault URL and arch"
ok "stock CentOS-Base.repo moved to https://vault.centos.org/7.9.2009 (x86_64); EPEL 7 from the Fedora archive"

expect_rc 0 ms --root "$R" --only repos plan
ok "second plan: converged (a vault file is not probed again)"

ms --root "$R" rollback
snapshot "$R" >"$T/after"
diff -u "$T/before" "$T/after" || die "rollback: root differs"
stock_base | cmp - "$base" || die "rollback: CentOS-Base.repo not byte-identical"
[ ! -e "$epel" ] || die "rollback: epel.repo left behind"
ok "rollback: CentOS-Base.repo byte-identical, epel.repo removed"

# 3b. A CentOS-Base.repo on a plain-http vault that redirects to https: EL7's
#     yum fails on that 301, so it counts as unreachable and moves to https.
RH=$T/el7-http
mkroot "$RH" el7
mkdir -p "$RH/etc/yum.repos.d"
elf_header "$RH/usr/bin/rpm" 62
stock_base | sed 's|^mirrorlist=.*repo=\([a-z]*\)&.*|baseurl=http://127.0.0.1:18081/7.9.2009/\1/$basearch/|' \
	>"$RH/etc/yum.repos.d/CentOS-Base.repo"
grep -q '^baseurl=http://127.0.0.1:18081/7.9.2009/os/' "$RH/etc/yum.repos.d/CentOS-Base.repo" || die "test setup: http vault"
rc=0; ms --root "$RH" --only repos plan >"$T/plan-h" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/plan-h"; die "http vault redirecting to https: plan exited $rc, expected 2"; }
grep -q "redirects to https, which EL7's yum does not follow" "$T/plan-h" || { cat "$T/plan-h"; die "http vault: reason"; }
ms --root "$RH" --only repos apply >/dev/null
grep -qx 'baseurl=https://vault.centos.org/7.9.2009/os/$basearch/' "$RH/etc/yum.repos.d/CentOS-Base.repo" || die "http vault: not moved to https"
ok "a plain-http vault that 301s to https counts as unreachable (as for EL7's yum): moved to https"

# 4. An installed epel.repo (epel-release, dead metalink) next to a vault
#    CentOS-Base is moved to the archive too; a section on a mirror of one's
#    own is left alone.
stock_epel | sed '/^\[epel-source\]/,$ s|^metalink=.*|baseurl=https://mirror.example.net/epel/7/SRPMS|' >"$epel"
cp "$epel" "$T/epel.orig"
ms --root "$R" --only repos apply >/dev/null
grep -qx '#metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-7&arch=$basearch&infra=$infra&content=$contentdir' "$epel" || die "epel metalink not commented"
grep -qx 'baseurl=https://dl.fedoraproject.org/pub/archive/epel/7/$basearch/debug' "$epel" || die "epel-debuginfo baseurl"
grep -qx 'baseurl=https://mirror.example.net/epel/7/SRPMS' "$epel" || die "a mirror of one's own was replaced"
grep -qx 'gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-7' "$epel" || die "epel gpgkey changed"
ms --root "$R" rollback >/dev/null
cmp "$T/epel.orig" "$epel" || die "rollback: epel.repo not byte-identical"
ok "an existing epel.repo is moved to the archive (own mirror kept) and restored byte-identical"

# 4b. An aarch64 target: the vault has it under /altarch/7.9.2009/.
RA=$T/el7-aarch64
mkroot "$RA" el7
mkdir -p "$RA/etc/yum.repos.d"
elf_header "$RA/usr/bin/rpm" 183
stock_base >"$RA/etc/yum.repos.d/CentOS-Base.repo"
rc=0; ms --root "$RA" --only repos plan >"$T/plan-a" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/plan-a"; die "aarch64: plan exited $rc"; }
grep -q "moving them to https://vault.centos.org/altarch/7.9.2009 (aarch64)" "$T/plan-a" || { cat "$T/plan-a"; die "aarch64: vault URL and arch"; }
ms --root "$RA" --only repos apply >/dev/null
for d in os updates extras centosplus; do
	grep -qx "baseurl=https://vault.centos.org/altarch/7.9.2009/$d/\$basearch/" "$RA/etc/yum.repos.d/CentOS-Base.repo" ||
		die "aarch64: no altarch vault baseurl for $d"
done
grep -qx 'baseurl=https://dl.fedoraproject.org/pub/archive/epel/7/$basearch' "$RA/etc/yum.repos.d/epel.repo" || die "aarch64: epel.repo"
ok "aarch64 target (ELF header of its rpm): CentOS-Base moved to https://vault.centos.org/altarch/7.9.2009"
# An answering aarch64 mirror is probed with the target's $basearch and
# $contentdir (altarch), not this machine's: kept.
mkdir -p "$W/altarch/7/os/aarch64/repodata"
cp "$W/centos/7/os/x86_64/repodata/repomd.xml" "$W/altarch/7/os/aarch64/repodata/"
printf '[base]\nname=CentOS-$releasever - Base\nbaseurl=http://127.0.0.1:%s/$contentdir/$releasever/os/$basearch/\ngpgcheck=1\n' $port \
	>"$RA/etc/yum.repos.d/CentOS-Base.repo"
cp "$RA/etc/yum.repos.d/CentOS-Base.repo" "$T/base-a"
ms --root "$RA" --only repos apply >/dev/null
grep -q '"GET /altarch/7/os/aarch64/repodata/repomd.xml' "$T/http.log" || die "aarch64: not probed as altarch/aarch64"
cmp "$T/base-a" "$RA/etc/yum.repos.d/CentOS-Base.repo" || die "aarch64: an answering mirror was replaced"
ok "aarch64: an answering mirror is probed at \$contentdir/\$basearch = altarch/aarch64 and kept"

# 4c. RHEL 7 (no CentOS-Base.repo): EPEL 7 is still moved to the archive.
RR=$T/rhel7
mkroot "$RR" el7
mkdir -p "$RR/etc/yum.repos.d"
stock_epel >"$RR/etc/yum.repos.d/epel.repo"
ms --root "$RR" --only repos apply >"$T/rhel" 2>&1 || { cat "$T/rhel"; die "rhel7 apply"; }
grep -q "no /etc/yum.repos.d/CentOS-Base.repo" "$T/rhel" || die "rhel7: no note about CentOS-Base"
grep -qx 'baseurl=https://dl.fedoraproject.org/pub/archive/epel/7/SRPMS' "$RR/etc/yum.repos.d/epel.repo" || die "rhel7: epel-source"
ok "no CentOS-Base.repo (RHEL 7): epel.repo moved to the archive all the same"

# 5. EL9: EPEL written, CRB enabled by editing its repository file.
R9=$T/el9
mkroot "$R9" el9
mkdir -p "$R9/etc/yum.repos.d"
cat >"$R9/etc/yum.repos.d/almalinux-crb.repo" <<'EOF'
# almalinux-crb.repo

[crb]
name=AlmaLinux $releasever - CRB
mirrorlist=https://mirrors.almalinux.org/mirrorlist/$releasever/crb
# baseurl=https://repo.almalinux.org/almalinux/$releasever/CRB/$basearch/os/
enabled=0
gpgcheck=1
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-AlmaLinux-9
metadata_expire=86400
enabled_metadata=1
EOF
snapshot "$R9" >"$T/before9"
ms --root "$R9" --only repos apply
grep -qx 'metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-9&arch=$basearch' "$R9/etc/yum.repos.d/epel.repo" || die "el9 epel.repo"
sed -n '/^\[crb\]/,$p' "$R9/etc/yum.repos.d/almalinux-crb.repo" | grep -qx 'enabled=1' || die "crb not enabled"
grep -qx 'enabled_metadata=1' "$R9/etc/yum.repos.d/almalinux-crb.repo" || die "crb: enabled_metadata touched"
expect_rc 0 ms --root "$R9" --only repos plan
ms --root "$R9" rollback >/dev/null
snapshot "$R9" >"$T/after9"
diff -u "$T/before9" "$T/after9" || die "el9 rollback: root differs"
ok "el9: EPEL written, CRB enabled, converged; rollback byte-identical"

# 6. Debian: nothing to do.
mkroot "$T/deb" debian12
expect_rc 0 ms --root "$T/deb" --only repos plan
ok "debian12: nothing to do"
