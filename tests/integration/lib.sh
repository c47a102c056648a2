# tests/integration/lib.sh - shared helpers for the integration scripts (sourced).
set -eu
# English messages in every test (golden outputs); 82-i18n sets its own locale.
export LC_ALL=C
: "${MAILSTAGE_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MAILSTAGE_BUILD:=build/std}"
: "${MAILSTAGE_BIN:=$MAILSTAGE_SRC/mailstage}"
: "${MAILSTAGE_TESTBIN:=$MAILSTAGE_SRC/$MAILSTAGE_BUILD/mailstage-test}"
# Under valgrind when VALGRIND=1 (a leak or error makes the command fail with 99).
# --run-libc-freeres=no: glibc 2.36's own exit-time release of getaddrinfo_a's
# request pool reads uninitialised memory under valgrind (a 3-line program
# calling getaddrinfo_a once shows it); what glibc keeps is still reachable,
# never a definite leak, so no leak is hidden.  Without that release, the
# loader's own bookkeeping of a dlopen()ed library shows as "possibly lost":
# only definite leaks are shown (--show-leak-kinds) and counted.
if [ "${VALGRIND:-0}" = 1 ]; then
	MS_WRAP=(valgrind -q --error-exitcode=99 --run-libc-freeres=no --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite)
else
	MS_WRAP=()
fi
T=$(mktemp -d /tmp/mailstage-test.XXXXXXXX)
trap 'rm -rf "$T"' EXIT

# Stages that need a real booted host (packages, services) are skipped on
# scratch roots: SCRATCH holds the --skip option for them (the container
# tests run them for real).
SCRATCH=()
_host_stages=$("$MAILSTAGE_BIN" stages | awk '$2 == "packages" || $2 == "services" {print $2}' | paste -sd, -)
[ -n "$_host_stages" ] && SCRATCH=(--skip "$_host_stages")
ms() { "${MS_WRAP[@]}" "$MAILSTAGE_BIN" "$@"; }
mst() { "${MS_WRAP[@]}" "$MAILSTAGE_TESTBIN" "$@"; }
mkroot() { "$MAILSTAGE_SRC/tests/lib/mkroot" "$@"; }
# host_daemon_users ROOT NAME...: this machine's entries for the daemon users
# and groups NAME (and only those) in mkroot's account files, for a test that
# runs this machine's Postfix/OpenDKIM on ROOT (tests/lib/host-daemon-users
# says why these come from this machine).
host_daemon_users() { "$MAILSTAGE_SRC/tests/lib/host-daemon-users" "$@"; }
die() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# expect_rc WANT command...   (runs the command, checks its exit code)
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$want" ] || die "\`$*\` exited $rc, expected $want"
}
# snapshot DIR > FILE: every path's type, mode, owner, size, content hash and
# xattrs (security.selinux included), ignoring mailstage's own state.
snapshot() { python3 "$MAILSTAGE_SRC/tests/lib/snapshot.py" "$1"; }
