#!/bin/bash
# 09-hermetic.sh - tests/hermetic, the mask `make test` runs the tiers in:
# this machine's mail configuration is out of reach, in the wrapper and in
# the hosts tests/lib/mailnet.sh makes inside it.  In a private mount
# namespace of its own the test first plants a "host configuration" over
# the real paths (a main.cf in /etc/postfix, content in
# /etc/default/saslauthd: bind mounts over what the postfix and sasl2-bin
# packages install, the machine's files are not touched), then:
#   - control: without the mask, the planted files are read, also in a
#     mailnet host (its /etc overlay keeps what is mounted under /etc);
#   - under tests/hermetic: /etc/postfix is empty and read-only, the file
#     (and /etc/aliases where this machine has one) empty and read-only, in
#     the wrapper and in a mailnet host (whose own /etc stays writable: the
#     overlay);
#   - the wrapper passes the command's exit status through and leaves no
#     mount and no temporary directory behind.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "needs root"
[ -d /etc/postfix ] || die "/etc/postfix is missing (apt-get install postfix; tests/deps test)"
[ -f /etc/default/saslauthd ] || die "/etc/default/saslauthd is missing (apt-get install sasl2-bin; tests/deps test)"
H=$MAILSTAGE_SRC/tests/hermetic
rc=0
"$H" sh -c 'exit 7' || rc=$?
[ $rc -eq 7 ] || die "tests/hermetic returned $rc for a command that exited 7"
before=$(find /tmp -maxdepth 1 -name 'hermetic.*' | wc -l)
"$H" true
[ "$(find /tmp -maxdepth 1 -name 'hermetic.*' | wc -l)" = "$before" ] || die "tests/hermetic left its staging directory in /tmp"
if findmnt -rno TARGET | grep -q '^/tmp/hermetic\.'; then die "a tests/hermetic mount is visible outside it"; fi
ok "exit status passed through; no mount or directory left outside"

# The checks, run twice in the planted namespace: "control" and "masked".
cat >"$T/inner" <<'EOF'
set -eu
. "$MAILSTAGE_SRC/tests/lib/mailnet.sh"
die() { echo "FAIL: $*" >&2; exit 1; }
sees() {	# sees WHERE CMD...: what the files read as there (CMD runs cat)
	local w=$1 pf sa
	shift
	pf=$("$@" cat /etc/postfix/main.cf 2>/dev/null || echo absent)
	sa=$("$@" cat /etc/default/saslauthd 2>/dev/null || echo absent)
	echo "$w: main.cf=[$pf] saslauthd=[$sa]"
}
mn_init "$T/net-$1"
mn_host a 192.0.2.1
out=$(sees wrapper env; sees mailnet mn_in a)
case $1 in
control)
	[ "$(printf '%s\n' "$out" | grep -c 'main.cf=\[myhostname = planted\] saslauthd=\[START=planted\]')" = 2 ] ||
		die "control: the planted configuration is not read everywhere: $out" ;;
masked)
	[ "$(printf '%s\n' "$out" | grep -c 'main.cf=\[absent\] saslauthd=\[\]')" = 2 ] ||
		die "the mask does not hide the planted configuration: $out"
	[ -z "$(ls -A /etc/postfix)" ] || die "/etc/postfix is not empty: $(ls -A /etc/postfix)"
	[ -z "$(mn_in a ls -A /etc/postfix)" ] || die "a mailnet host's /etc/postfix is not empty"
	if touch /etc/postfix/x 2>/dev/null; then die "/etc/postfix is writable under the mask"; fi
	if sh -c 'echo x >>/etc/default/saslauthd' 2>/dev/null; then die "/etc/default/saslauthd is writable under the mask"; fi
	if [ -e /etc/aliases ]; then
		[ ! -s /etc/aliases ] || die "/etc/aliases is not empty under the mask"
		[ -z "$(mn_in a cat /etc/aliases)" ] || die "a mailnet host reads this machine's /etc/aliases"
	fi
	mn_in a touch /etc/mailnet-own || die "a mailnet host's /etc overlay is not writable"
	[ ! -e /etc/mailnet-own ] || die "a mailnet host's /etc write reached the wrapper's /etc" ;;
esac
echo "ok: $1: $(echo $out)"
EOF
mkdir -p "$T/plant/postfix"
echo "myhostname = planted" >"$T/plant/postfix/main.cf"
echo "START=planted" >"$T/plant/saslauthd"
T=$T unshare -m --propagation private /bin/bash -c '
	set -eu
	mount --bind "$T/plant/postfix" /etc/postfix
	mount --bind "$T/plant/saslauthd" /etc/default/saslauthd
	bash "$T/inner" control
	"$MAILSTAGE_SRC/tests/hermetic" bash "$T/inner" masked' || die "see above"
ok "planted configuration read without the mask (also in a mailnet host), hidden and read-only under it"
