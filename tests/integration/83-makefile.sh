#!/bin/bash
# 83-makefile.sh - the newcomer's two commands on a host without the -dev
# packages: reading the Makefile runs no pkg-config, so `make demo` and
# `make test` print nothing before tests/deps has installed what they need
# (issue 9: 14 lines of "Package libcurl was not found in the pkg-config
# search path" came first).  Shown with `make -n` twice: pkg-config finding
# no package (PKG_CONFIG_LIBDIR pointing nowhere, the message of the issue)
# and no pkg-config on PATH at all.  Under -n make still runs the sub-make
# lines ($(MAKE) mailstage, which in a real run comes after tests/deps):
# MAKE=true stands for it.  Controls: the same set-up makes `make -n -B
# mailstage` (the build itself) print the noise, so it would be seen.
# Also: demo and test start with tests/deps; test runs tests/tiers inside
# tests/hermetic.
. "$(dirname "$0")/lib.sh"
cd "$MAILSTAGE_SRC"
command -v pkg-config >/dev/null || die "pkg-config is not installed (tests/deps build)"
# a PATH with every program of this machine but pkg-config
mkdir -p "$T/bin" "$T/nowhere"
for d in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
	[ -d "$d" ] || continue
	for p in "$d"/*; do
		b=${p##*/}
		case $b in *pkg-config*|pkgconf*) continue ;; esac
		[ -e "$T/bin/$b" ] || ln -s "$p" "$T/bin/$b"
	done
done
PATH=$T/bin command -v pkg-config >/dev/null && die "setup: pkg-config still on the reduced PATH"
mk() {	# mk HOW MAKE-ARGS...: make's stderr (stdout to $T/out), no outer make's flags
	local how=$1
	shift
	case $how in
	nopc) env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PKG_CONFIG_LIBDIR="$T/nowhere" PKG_CONFIG_PATH="$T/nowhere" \
		make "$@" 2>&1 >"$T/out" ;;
	nopath) env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PATH="$T/bin" make "$@" 2>&1 >"$T/out" ;;
	esac
}
for how in nopc nopath; do
	err=$(mk $how -n demo MAKE=true) || die "$how: make -n demo failed: $err"
	[ -z "$err" ] || die "$how: make -n demo printed on stderr before installing anything: $err"
	[ "$(head -1 "$T/out")" = "tests/deps demo" ] || die "$how: make demo does not start with tests/deps: $(head -1 "$T/out")"
	err=$(mk $how -n test) || die "$how: make -n test failed: $err"
	[ -z "$err" ] || die "$how: make -n test printed on stderr before installing anything: $err"
	[ "$(head -1 "$T/out")" = "tests/deps test" ] || die "$how: make test does not start with tests/deps: $(head -1 "$T/out")"
	grep -q 'tests/hermetic tests/tiers$' "$T/out" || die "$how: make test does not run tests/tiers in tests/hermetic: $(cat "$T/out")"
	# control: building does ask pkg-config, and its complaint is seen
	err=$(mk $how -n -B mailstage) || true
	case $how in
	nopc) case $err in *"was not found in the pkg-config search path"*) ;;
	      *) die "control: make -n -B mailstage printed no pkg-config complaint with PKG_CONFIG_LIBDIR nowhere: $err" ;; esac ;;
	nopath) case $err in *pkg-config*"not found"*|*pkg-config*"No such file"*) ;;
	      *) die "control: make -n -B mailstage did not miss pkg-config on the reduced PATH: $err" ;; esac ;;
	esac
done
ok "make -n demo / make -n test: silent without pkg-config's packages or pkg-config itself; tests/deps first"
