# tests/hosts/nspawn.sh - boot the cached Debian 12 test host under
# systemd-nspawn and run commands in it (sourced by integration tests).
#
#   ct_image                 build the image when missing; sets CT_IMAGE (dir)
#   ct_start [nspawn args]   boot a throw-away instance (--volatile=overlay:
#                            nothing reaches the cached rootfs), private
#                            network, the local apt repository at /srv/repo,
#                            and the host-built binaries at /opt/mailstage/
#                            (mailstage, mailstage-test); waits until systemd
#                            reports the system running.  Sets CT_LEADER.
#   ct_in CMD...             run CMD inside (nsenter into PID 1's namespaces)
#   ct_stop                  power off, wait, kill what is left; idempotent
#   CT_VETH=1 ct_start ...   the same, but the container's network is a veth
#                            pair whose host end lives in a network namespace
#                            of the test's own (CT_NS, never the host's
#                            network): host end CT_HOST_ADDR, container's
#                            host0 CT_ADDR (a /30), so a connection can come
#                            from OUTSIDE the container.
#   ct_host CMD...           run CMD in that namespace (the host end)
# Several containers at once (59-ansible): CT_MACHINE names the instance
# (default mst$$), CT_HOST_ADDR/CT_ADDR give each its own /30, and a CT_NS
# that exists already is joined (its veth is the one without an address) and
# left for its creator to delete.  ct_save NAME / ct_use NAME keep and select
# an instance's state; ct_stop_all stops every saved one.
# ct_start registers ct_stop_all on EXIT (before the caller's own trap), so every
# process, mount and namespace goes away however the test ends.
#
# Never booted on the host network: firewalld inside would rewrite the
# host's nftables rules.  --register=no --keep-unit: this machine's PID 1 is
# not systemd (no machined, no host D-Bus).
CT_SRC=${MAILSTAGE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CT_PID="" CT_LEADER="" CT_LOG="" CT_IMAGE="" CT_NS="" CT_NS_OWN=0 CT_SAVED=""
CT_HOST_ADDR=10.231.57.1 CT_ADDR=10.231.57.2

ct_image() {
	CT_IMAGE=$("$CT_SRC/tests/hosts/build-debian12") || { echo "FAIL: cannot build the test image" >&2; return 1; }
}

# Descendant of $1 named systemd (the container's PID 1).
_ct_find_leader() {
	local p c
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = systemd ] && { echo $p; return 0; }
		for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
			[ "$(cat /proc/$c/comm 2>/dev/null)" = systemd ] && { echo $c; return 0; }
		done
	done
	return 1
}

ct_start() {
	local i state bins=() net=(--private-network) nsexec=() veth
	[ -n "$CT_IMAGE" ] || ct_image || return 1
	command -v systemd-nspawn >/dev/null || { echo "FAIL: systemd-nspawn missing: apt-get install systemd-container" >&2; return 1; }
	CT_LOG=$(mktemp /tmp/mailstage-ct.XXXXXX)
	# Chain the caller's EXIT trap after ours (once: ct_start may run again).
	if [ -z "${CT_TRAP_SET:-}" ]; then
		CT_OLD_TRAP=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT$/\1/")
		trap 'ct_stop_all; eval "$CT_OLD_TRAP"' EXIT
		CT_TRAP_SET=1
	fi
	if [ "${CT_VETH:-0}" = 1 ]; then
		if [ -n "$CT_NS" ] && [ -e "/run/netns/$CT_NS" ]; then
			CT_NS_OWN=0
		else
			CT_NS=mst$$ CT_NS_OWN=1
			ip netns add "$CT_NS" || return 1
			ip -n "$CT_NS" link set lo up
		fi
		nsexec=(nsenter --net=/run/netns/"$CT_NS")
		net=(--network-veth)
	fi
	[ -x "${MAILSTAGE_BIN:-}" ] && bins+=(--bind-ro="$MAILSTAGE_BIN:/opt/mailstage/mailstage")
	[ -x "${MAILSTAGE_TESTBIN:-}" ] && bins+=(--bind-ro="$MAILSTAGE_TESTBIN:/opt/mailstage/mailstage-test")
	setsid "${nsexec[@]}" systemd-nspawn -q -b -D "$CT_IMAGE/rootfs" --volatile=overlay --register=no --keep-unit \
		--machine="${CT_MACHINE:-mst$$}" "${net[@]}" --bind-ro="$CT_IMAGE/repo:/srv/repo" "${bins[@]}" "$@" \
		>"$CT_LOG" 2>&1 </dev/null &
	CT_PID=$!
	for i in $(seq 1 200); do
		CT_LEADER=$(_ct_find_leader $CT_PID) && break
		kill -0 $CT_PID 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$CT_LEADER" ]; then
		echo "FAIL: the container did not start:" >&2
		cat "$CT_LOG" >&2
		return 1
	fi
	for i in $(seq 1 300); do
		nsenter -t $CT_LEADER -a -r -w test -S /run/systemd/private 2>/dev/null && break
		sleep 0.1
	done
	state=$(ct_in timeout 120 systemctl is-system-running --wait 2>&1) || true
	if [ "$state" != running ]; then
		echo "container state: $state" >&2
		ct_in systemctl --failed --no-pager >&2 || true
		[ "$state" = degraded ] || return 1
	fi
	if [ -n "$CT_NS" ]; then
		for veth in $(ip -n "$CT_NS" -o link show | awk -F': ' '$2 ~ /^ve-/ { sub(/@.*/, "", $2); print $2 }') ""; do
			[ -n "$veth" ] && [ -z "$(ip -n "$CT_NS" -o -4 addr show dev "$veth")" ] && break
		done
		[ -n "$veth" ] || { echo "FAIL: no veth in namespace $CT_NS" >&2; return 1; }
		ip -n "$CT_NS" addr add "$CT_HOST_ADDR/30" dev "$veth" && ip -n "$CT_NS" link set "$veth" up &&
			ct_in ip addr add "$CT_ADDR/30" dev host0 && ct_in ip link set host0 up || return 1
	fi
}

ct_host() {
	ip netns exec "$CT_NS" "$@"
}

# -r -w: the container's root and cwd as its PID 1 has them.  nspawn enters
# its root by MS_MOVE + chroot, so entering the mount namespace alone lands at
# the namespace's real root - in a chroot (tests/hosts/fresh-suite) the
# machine's own /, not the container.
ct_in() {
	nsenter -t "$CT_LEADER" -a -r -w env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
}

ct_stop() {
	local i
	[ -n "$CT_PID" ] || return 0
	if kill -0 $CT_PID 2>/dev/null; then
		[ -n "$CT_LEADER" ] && timeout 20 nsenter -t $CT_LEADER -a -r -w systemctl poweroff >/dev/null 2>&1 || true
		for i in $(seq 1 200); do
			kill -0 $CT_PID 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 $CT_PID 2>/dev/null; then
			kill -TERM -- -$CT_PID 2>/dev/null || true
			sleep 2
			kill -KILL -- -$CT_PID 2>/dev/null || true
		fi
	fi
	wait $CT_PID 2>/dev/null || true
	[ -n "$CT_NS" ] && [ "$CT_NS_OWN" = 1 ] && ip netns del "$CT_NS" 2>/dev/null
	[ "$CT_NS_OWN" = 1 ] && CT_NS=""
	CT_NS_OWN=0
	rm -f "$CT_LOG"
	CT_PID="" CT_LEADER=""
}

ct_save() {
	eval "CT_S_$1=(\"\$CT_PID\" \"\$CT_LEADER\" \"\$CT_LOG\" \"\$CT_NS_OWN\")"
	case " $CT_SAVED " in *" $1 "*) ;; *) CT_SAVED="$CT_SAVED $1" ;; esac
	CT_PID="" CT_LEADER="" CT_LOG="" CT_NS_OWN=0
}

ct_use() {
	eval "CT_PID=\${CT_S_$1[0]} CT_LEADER=\${CT_S_$1[1]} CT_LOG=\${CT_S_$1[2]} CT_NS_OWN=\${CT_S_$1[3]}"
}

ct_stop_all() {
	local n
	ct_stop
	for n in $CT_SAVED; do
		ct_use "$n"
		ct_stop
		eval "CT_S_$n=()"
	done
	CT_SAVED=""
}
