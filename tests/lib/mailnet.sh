# tests/lib/mailnet.sh - live mail hosts on this machine, for the integration
# and end-to-end tests (sourced by bash scripts that run as root).
#
# A test network of its own: one L2 bridge in a hub network namespace, and
# one network namespace per host ("srv", "dns", "client", ...) with a veth
# into the bridge, addresses from the documentation ranges 192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 (on-link, so every host
# reaches every other without a router), and lo up.  Each host also gets a
# private mount namespace, held by one `sleep` process, with:
#   /etc   an overlay (tmpfs upper): the test may change it, the host's is untouched;
#          whatever is mounted under /etc stays mounted there (tests/hermetic's
#          masks of this machine's mail configuration)
#   /dev   an overlay too, with /dev/log served by tests/lib/mn-syslog.py into
#          $MN_DIR/NAME/syslog (OpenDKIM, saslauthd and Postfix log there)
#   /run   a private tmpfs
#   /etc/resolv.conf  -> the test's nsd (mn_dns_start), "nameserver ADDR"
# Commands run inside a host with `mn_in NAME CMD...` (nsenter into its net
# and mount namespaces).
#
# mn_mail_start NAME ROOT starts the REAL Postfix, OpenDKIM and saslauthd of
# this machine from the mail configuration a `mailstage --root ROOT apply`
# wrote: ROOT's /etc/postfix, /etc/opendkim*, /etc/default/{opendkim,saslauthd},
# /etc/aliases*, /etc/ssl (with /etc/postfix/sasl inside /etc/postfix),
# /etc/group and /etc/gshadow are bind-mounted over the host's inside NAME's
# mount namespace, /etc/passwd is ROOT's plus the mn_add_user users and
# /etc/shadow holds those users only; /var/spool/postfix, /var/lib/postfix and /var/mail are
# private directories under $MN_DIR.  Postfix's smtpd stays chrooted in the
# (private) /var/spool/postfix exactly as Debian runs it: the chroot is
# prepared by Debian's own /usr/lib/postfix/configure-instance.sh, and
# saslauthd is started from ROOT's /etc/default/saslauthd (its socket in the
# chroot when mailstage put it there).  The daemons are started the way the
# Debian packages' units start them (options read from the defaults files).
#
# mn_cleanup (installed as an EXIT trap by mn_init, chained with any trap set
# before) kills every process in the test's namespaces by pid, which also
# drops their mount namespaces and mounts, and deletes the namespaces.
#
# Requires: iproute2, util-linux (nsenter, unshare), nsd, postfix, opendkim,
# sasl2-bin, python3.  Measured on Debian 12: network and hosts up in well
# under a second; Postfix + OpenDKIM + saslauthd start in about 1-2 s.

MN_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Debian's python3 (python3-dkim, python3-dnspython are its packages), never a PATH shim.
MN_PY=/usr/bin/python3
MN_ID=""
MN_VETH=""
MN_DIR=""
MN_OWN_DIR=""
MN_HOSTS=()
declare -A MN_HOLDER=()

# mn_init [DIR]: the hub and its bridge; state under DIR (default: a new temp dir).
mn_init() {
	[ "$(id -u)" = 0 ] || { echo "mailnet: needs root" >&2; return 1; }
	# MN_PREFIX (optional, e.g. "ms-b-") goes before every namespace name
	MN_VETH=m$(printf '%04x' $(( ($$ ^ RANDOM) & 0xffff )))
	MN_ID=${MN_PREFIX:-}$MN_VETH
	if [ -n "${1:-}" ]; then
		MN_DIR=$1
		mkdir -p "$MN_DIR"
	else
		MN_DIR=$(mktemp -d /tmp/mailnet.XXXXXXXX)
		MN_OWN_DIR=1
	fi
	# Chain with an existing EXIT trap (tests/integration/lib.sh removes $T).
	local prev
	prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
	# shellcheck disable=SC2064
	trap "mn_cleanup; $prev" EXIT
	trap 'exit 130' INT TERM
	ip netns add "$MN_ID-hub"
	ip -n "$MN_ID-hub" link add br0 type bridge
	ip -n "$MN_ID-hub" link set br0 up
	ip -n "$MN_ID-hub" link set lo up
	printf 'nameserver 127.0.0.1\n' >"$MN_DIR/resolv.conf"
}

# mn_host NAME ADDR...: a host on the bridge with these addresses (IPv4 get
# /24, IPv6 /64); its private mount namespace; its syslog sink.
mn_host() {
	local name=$1 ns=$MN_ID-$1 a d=$MN_DIR/$1 pid i
	shift
	# the hub's end of the veth is "$MN_VETH$name": at most 15 characters
	[ ${#name} -le 10 ] && [ -n "$name" ] || { echo "mailnet: host name \"$name\" must be 1-10 characters" >&2; return 1; }
	ip netns add "$ns"
	MN_HOSTS+=("$name")
	ip link add "$MN_VETH$name" netns "$MN_ID-hub" type veth peer name eth0 netns "$ns"
	ip -n "$MN_ID-hub" link set "$MN_VETH$name" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a/64" dev eth0 nodad ;;
		*) ip -n "$ns" addr add "$a/24" dev eth0 ;;
		esac
	done
	for a in 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24; do
		ip -n "$ns" route replace "$a" dev eth0 2>/dev/null || true
	done
	ip -n "$ns" -6 route replace 2001:db8::/32 dev eth0 2>/dev/null || true
	mkdir -p "$d/ovl"
	: >"$d/syslog"
	# The holder: a private mount namespace inside the host's network
	# namespace, set up once and kept by `sleep`; everything else nsenters it.
	ip netns exec "$ns" unshare -m --propagation private /bin/bash -c '
		set -e
		d=$1
		mount -t tmpfs -o mode=0755 mailnet "$d/ovl"
		mkdir -p "$d/ovl/etc.u" "$d/ovl/etc.w" "$d/ovl/dev.u" "$d/ovl/dev.w" "$d/ovl/keep"
		# What is mounted under /etc (the masks of tests/hermetic, the hosts
		# file of a container) stays on top of the overlay, which alone
		# would show the files beneath those mounts.
		keep=() i=0
		mounts=$(cut -d" " -f5 /proc/self/mountinfo)
		for m in $mounts; do
			case $m in /etc/resolv.conf|*\\*) continue ;; /etc/?*) ;; *) continue ;; esac
			if [ -d "$m" ]; then mkdir "$d/ovl/keep/$i"; else : >"$d/ovl/keep/$i"; fi
			mount --bind "$m" "$d/ovl/keep/$i"
			keep+=("$m")
			i=$((i + 1))
		done
		mount -t overlay overlay -o lowerdir=/etc,upperdir="$d/ovl/etc.u",workdir="$d/ovl/etc.w" /etc
		for i in "${!keep[@]}"; do
			mount --bind "$d/ovl/keep/$i" "${keep[$i]}"
		done
		mount -t overlay overlay -o lowerdir=/dev,upperdir="$d/ovl/dev.u",workdir="$d/ovl/dev.w" /dev
		mount -t tmpfs -o mode=0755 mailnet-run /run
		rm -f /etc/resolv.conf
		touch /etc/resolv.conf
		mount --bind "$2" /etc/resolv.conf
		touch "$d/ready"
		exec sleep infinity' mailnet-holder "$d" "$MN_DIR/resolv.conf" &
	pid=$!
	disown "$pid"
	for i in $(seq 1 100); do
		[ -e "$d/ready" ] && break
		kill -0 "$pid" 2>/dev/null || { echo "mailnet: host $name did not start" >&2; return 1; }
		sleep 0.05
	done
	[ -e "$d/ready" ] || { echo "mailnet: host $name: mount namespace not ready" >&2; return 1; }
	MN_HOLDER[$name]=$pid
	mn_bg "$name" "$d/syslog.out" "$MN_PY" "$MN_SRC/tests/lib/mn-syslog.py" "$d/syslog" /dev/log
	for i in $(seq 1 100); do
		mn_in "$name" test -S /dev/log && break
		sleep 0.05
	done
}

# mn_in NAME CMD...: run CMD inside host NAME (network and mount namespaces).
# -r keeps the holder's root: entering a mount namespace otherwise moves to
# the namespace's own root, which in a chroot (tests/hosts/fresh-suite) is the
# machine's real / - the host's files, not the test system's.
mn_in() {
	local name=$1
	shift
	nsenter -t "${MN_HOLDER[$name]}" -m -n -r -- "$@"
}

# mn_bg NAME LOGFILE CMD...: start CMD inside host NAME in the background
# (not a job of this shell: mn_cleanup ends it with the namespace).
mn_bg() {
	local name=$1 log=$2
	shift 2
	mn_in "$name" "$@" </dev/null >>"$log" 2>&1 &
	disown $!
}

# mn_wait_port NAME PORT [ADDR]: wait (10 s at most) for a TCP listener.
mn_wait_port() {
	local i
	for i in $(seq 1 200); do
		mn_in "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	echo "mailnet: nothing listens on port $2 in $1" >&2
	return 1
}

# mn_nsd_conf DIR ADDR PORT: the server and remote-control sections of an
# nsd.conf for an unprivileged nsd in the foreground with its files in DIR
# (zone: sections follow; also used without the network, by 21-dns).
mn_nsd_conf() {
	cat <<-EOF
	server:
	    ip-address: $2
	    port: $3
	    username: ""
	    chroot: ""
	    zonesdir: "$1"
	    database: ""
	    zonelistfile: "$1/zone.list"
	    xfrdfile: "$1/xfrd.state"
	    pidfile: "$1/nsd.pid"
	    logfile: "$1/nsd.log"
	    server-count: 1
	    verbosity: 1
	remote-control:
	    control-enable: no
	EOF
}

# mn_dns_start NAME ADDR ZONE=FILE...: an authoritative nsd on ADDR:53 in host
# NAME serving each zone from its file (checked with nsd-checkzone first);
# every host's resolv.conf then points to ADDR.
mn_dns_start() {
	local name=$1 addr=$2 d=$MN_DIR/$1/nsd z zone file
	shift 2
	mkdir -p "$d"
	mn_nsd_conf "$d" "$addr" 53 >"$d/nsd.conf"
	for z in "$@"; do
		zone=${z%%=*} file=${z#*=}
		cp "$file" "$d/$zone.zone"
		nsd-checkzone "$zone" "$d/$zone.zone" >&2 || { echo "mailnet: zone $zone does not load" >&2; return 1; }
		printf 'zone:\n    name: "%s"\n    zonefile: "%s.zone"\n' "$zone" "$zone" >>"$d/nsd.conf"
	done
	nsd-checkconf "$d/nsd.conf" || return 1
	mn_bg "$name" "$d/nsd.out" nsd -d -c "$d/nsd.conf"
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$addr" >"$MN_DIR/resolv.conf"
	for i in $(seq 1 100); do
		mn_in "$name" ss -Hlun "sport = :53" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	echo "mailnet: nsd did not start: $(cat "$d/nsd.out" "$d/nsd.log" 2>/dev/null)" >&2
	return 1
}

# mn_add_user ROOT USER PASSWORD: a login for SASL (PAM), added to the
# /etc/passwd and /etc/shadow that mn_mail_start mounts (ROOT's own files and
# the host's are not changed; every mail host of the test gets the users).
mn_add_user() {
	local root=$1 user=$2 pass=$3 hash
	hash=$(openssl passwd -6 "$pass")
	printf '%s:x:5000:5000:mailnet test user:/nonexistent:/usr/sbin/nologin\n' "$user" >>"$MN_DIR/passwd.add"
	printf '%s:%s:19000:0:99999:7:::\n' "$user" "$hash" >>"$MN_DIR/shadow.add"
}

# mn_mail_start NAME ROOT: Postfix, OpenDKIM and saslauthd from ROOT's files, in host NAME.
mn_mail_start() {
	local name=$1 root=$2 d=$MN_DIR/$1
	mkdir -p "$d/spool" "$d/lib-postfix" "$d/mail"
	# passwd: ROOT's plus the test users.  A ROOT without one is an error,
	# never this machine's instead (tests/lib/mkroot makes it, and
	# tests/lib/host-daemon-users adds what the daemons need of this machine's)
	[ -f "$root/etc/passwd" ] && [ -f "$root/etc/group" ] ||
		{ echo "mailnet: $root has no /etc/passwd or /etc/group (make it with tests/lib/mkroot)" >&2; return 1; }
	cat "$root/etc/passwd" >"$d/passwd"
	# shadow: the test users only (no password hash of this machine is copied)
	printf 'root:*:19000:0:99999:7:::\n' >"$d/shadow"
	cat "$MN_DIR/passwd.add" >>"$d/passwd" 2>/dev/null || true
	cat "$MN_DIR/shadow.add" >>"$d/shadow" 2>/dev/null || true
	chmod 0644 "$d/passwd"
	chmod 0640 "$d/shadow"
	local rc=0
	mn_in "$name" /bin/bash -es "$root" "$d" "$MN_SRC" "$MN_PY" >>"$d/start.log" 2>&1 <<-'EOF' || rc=$?
	root=$1 d=$2 MN_SRC=$3 MN_PY=$4
	bindf() { [ -e "$root$1" ] || return 0; [ -e "$1" ] || { mkdir -p "${1%/*}"; if [ -d "$root$1" ]; then mkdir "$1"; else touch "$1"; fi; }; mount --bind "$root$1" "$1"; }
	for p in /etc/postfix /etc/opendkim /etc/opendkim.conf /etc/default/opendkim /etc/default/saslauthd \
		 /etc/aliases /etc/aliases.db /etc/ssl /etc/group /etc/gshadow; do
		bindf "$p"
	done
	mount --bind "$d/passwd" /etc/passwd
	mount --bind "$d/shadow" /etc/shadow
	mount --bind "$d/spool" /var/spool/postfix
	mount --bind "$d/lib-postfix" /var/lib/postfix
	mount --bind "$d/mail" /var/mail
	chown root:root /var/spool/postfix && chmod 0755 /var/spool/postfix
	chown postfix:postfix /var/lib/postfix && chmod 0755 /var/lib/postfix
	chown root:mail /var/mail && chmod 2775 /var/mail
	# syslog inside the chroot too (Debian's rsyslog adds the same socket)
	mkdir -p /var/spool/postfix/dev
	"$MN_PY" "$MN_SRC/tests/lib/mn-syslog.py" "$d/syslog" /var/spool/postfix/dev/log </dev/null >/dev/null 2>&1 &
	# OpenDKIM as Debian's unit runs it (/etc/default/opendkim gives socket, user, pid file)
	( NAME=opendkim
	  . /etc/default/opendkim
	  RUNDIR=${RUNDIR:-/run/opendkim}
	  mkdir -p "$RUNDIR"; chown "${USER:-opendkim}:${GROUP:-opendkim}" "$RUNDIR"; chmod 0750 "$RUNDIR"
	  opendkim -x /etc/opendkim.conf -P "${PIDFILE:-$RUNDIR/opendkim.pid}" ${SOCKET:+-p "$SOCKET"} )
	# the second OpenDKIM (Ed25519 signatures) as its unit runs it, when mailstage made one
	[ ! -f /etc/opendkim/ed25519.conf ] || opendkim -x /etc/opendkim/ed25519.conf
	# saslauthd as Debian's init script runs it (/etc/default/saslauthd)
	( . /etc/default/saslauthd
	  mkdir -p /run/saslauthd
	  case $OPTIONS in *-m*) dir=$(printf '%s\n' "$OPTIONS" | sed -n 's/.*-m[[:space:]]*\([^[:space:]]*\).*/\1/p')
	       mkdir -p "$dir"; chown root:sasl "$dir"; chmod 0710 "$dir" ;; esac
	  saslauthd -a "$MECHANISMS" ${MECH_OPTIONS:+-O "$MECH_OPTIONS"} -n "${THREADS:-5}" $OPTIONS )
	# Postfix as Debian's postfix@-.service runs it
	/usr/lib/postfix/configure-instance.sh -
	postfix start
	EOF
	[ $rc -eq 0 ] || { echo "mailnet: mail start in $name failed:" >&2; cat "$d/start.log" >&2; return 1; }
	mn_wait_port "$name" 25
}

# mn_log NAME: the host's syslog so far.
mn_log() { cat "$MN_DIR/$1/syslog"; }

# mn_cleanup: every process in the test's namespaces (by pid), then the namespaces.
mn_cleanup() {
	local ns pids i
	[ -n "$MN_ID" ] || return 0
	for i in 1 2 3; do
		pids=""
		for ns in "${MN_HOSTS[@]}" hub; do
			pids="$pids $(ip netns pids "$MN_ID-$ns" 2>/dev/null)"
		done
		pids=$(echo $pids)
		[ -n "$pids" ] || break
		if [ $i -lt 3 ]; then
			kill $pids 2>/dev/null
		else
			kill -9 $pids 2>/dev/null
		fi
		for _ in $(seq 1 40); do
			local alive=""
			for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
			[ -z "$alive" ] && break
			sleep 0.05
		done
	done
	for ns in "${MN_HOSTS[@]}" hub; do
		ip netns del "$MN_ID-$ns" 2>/dev/null
	done
	MN_HOSTS=()
	MN_ID=""
	[ -n "${MN_OWN_DIR:-}" ] && rm -rf "$MN_DIR"
	return 0
}
