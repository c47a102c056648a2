# mailstage - build, test, install.
#
#   make                 build ./mailstage
#   make check           unit tests (cmocka) and integration tests
#   make check SANITIZE=1  the same, built with AddressSanitizer + UBSan
#   make check-vm        SELinux for real: a qemu VM, enforcing (root; tests/vm/run)
#   make test            every tier (check, unit under ASan+UBSan, integration under
#                        ASan+UBSan, valgrind, fuzz, the SELinux VM), hermetic (tests/tiers inside
#                        tests/hermetic); one closing line "N passed, N failed" over
#                        all of them.  The sanitize-integration tier builds
#                        `make SANITIZE=1 test-bins` (build/san/mailstage and
#                        build/san/mailstage-test) and runs the integration scripts
#                        that need no container against them (tests/tiers SAN_TESTS):
#                        any ASan/UBSan/leak report fails its script
#   make bench           benchmark figures (no timing is asserted anywhere; as root,
#                        also a no-op apply on a converged systemd container)
#   make demo            the main job end to end: receivers judge its mail SPF/DKIM/DMARC pass (root)
#   make install DESTDIR=...
VERSION    = 0.1.0
PREFIX    ?= /usr
SBINDIR   ?= $(PREFIX)/sbin
DATADIR   ?= $(PREFIX)/share/mailstage
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
STATEDIR  ?= /var/lib/mailstage
LOCALEDIR ?= $(PREFIX)/share/locale

CC        ?= gcc
PKGS       = libcurl libarchive expat libsystemd libselinux libsemanage libcrypto
# libcurl, libarchive, expat (installer/lazylib.h), libselinux, libsemanage
# (installer/lazyse.h), libcrypto (installer/lazycrypto.h) and libsystemd
# (installer/msg.c) are dlopen()ed on first use:
# pkg-config gives their headers; they are not linked.
PKGS_LINKED =
# Recursive (=), not :=: pkg-config runs only when a compile or link command
# is expanded, never when the Makefile is read, so `make demo`/`make test` on
# a host without the -dev packages installs them (tests/deps) before anything
# asks pkg-config (tests/integration/80-docs.sh checks it stays quiet).
# Each is computed once, on first use (the $(eval) turns it into a simple variable).
PKG_CFLAGS  = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $$(PKGS)))$(PKG_CFLAGS)
PKG_LIBS    = $(eval PKG_LIBS := $$(if $$(PKGS_LINKED),$$(shell pkg-config --libs $$(PKGS_LINKED))) -ldl)$(PKG_LIBS)
# tests/unit/test_crypto.c calls OpenSSL itself: the unit tests link libcrypto.
UNIT_LIBS   = $(eval UNIT_LIBS := $$(shell pkg-config --libs libcrypto))$(UNIT_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $$(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka))$(CMOCKA_LIBS)

WARN       = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu99 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -D_GNU_SOURCE \
             -DMAILSTAGE_VERSION='"$(VERSION)"' -DMAILSTAGE_DATADIR='"$(DATADIR)"' -DMAILSTAGE_LOCALEDIR='"$(LOCALEDIR)"' \
             -Iinstaller -Isteps
LDLIBS_ALL = $(PKG_LIBS) -lanl -lpthread
# Full RELRO: every symbol bound at start (the GOT read-only after), no lazy
# binding through a trampoline that saves the whole vector state per call.
LDFLAGS   += -Wl,-z,relro,-z,now

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
B          = build/san
else
B          = build/std
endif

LIB_SRC    = $(filter-out installer/main.c,$(wildcard installer/*.c)) $(wildcard steps/*.c)
LIB_OBJ    = $(patsubst %.c,$(B)/%.o,$(LIB_SRC))
# The test build compiles the failure-injection hooks in (MAILSTAGE_TEST_HOOKS);
# the shipped binary has none.
TLIB_OBJ   = $(patsubst %.c,$(B)/hooks/%.o,$(LIB_SRC))
# payload/ embedded as a tar archive (installer/payload.c; rules at the end)
LIB_OBJ   += $(B)/gen/payload_tar.o
TLIB_OBJ  += $(B)/gen/payload_tar.o
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_BIN   = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
HDRS       = $(wildcard installer/*.h steps/*.h)

all: mailstage

mailstage: $(B)/installer/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(B)/mailstage-test: $(B)/hooks/installer/main.o $(TLIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# The command in the build directory too: `make SANITIZE=1 test-bins` gives
# build/san/mailstage and build/san/mailstage-test, the binaries the
# sanitize-integration tier runs the integration scripts against.
$(B)/mailstage: $(B)/installer/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)
test-bins: $(B)/mailstage $(B)/mailstage-test mo

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/hooks/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DMAILSTAGE_TEST_HOOKS -c -o $@ $<

# tests/unit/testutil.c: helpers shared by the unit tests, linked into each.
$(B)/tests/%: tests/unit/%.c tests/unit/testutil.c tests/unit/testutil.h $(TLIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DMAILSTAGE_TEST_HOOKS $(LDFLAGS) -o $@ $< tests/unit/testutil.c $(TLIB_OBJ) $(LDLIBS_ALL) $(UNIT_LIBS) $(CMOCKA_LIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done
unit-build: $(UNIT_BIN)

# Everything the tests need, built once.
test-build: mailstage $(B)/mailstage-test $(UNIT_BIN) mo

check: test-build
	MAILSTAGE_BUILD=$(B) tests/run-all

# The end-to-end run alone (tests/integration/45-e2e-auth.sh, also part of
# `make check`), its output shown: receivers' verdicts and the verify report.
check-e2e: test-build
	VERBOSE=1 TESTS='45*' MAILSTAGE_BUILD=$(B) tests/run-all

# The SELinux tier (tests/vm/run, root): a Debian 12 virtual machine under
# qemu TCG with an enforcing SELinux kernel and selinux-policy-default; all
# stages applied inside, judged by the kernel (booleans, labels, domains,
# AVC denials, DKIM-signed mail), across a reboot.  The image is built and
# cached on first use (tests/vm/build-image).
check-vm: mailstage
	tests/vm/run $(CURDIR)/mailstage

# tests/bench runs tests/bench-host (the container) last and closes with
# issue 11's three targets, met or missed, from that one run.
bench: mailstage
	tests/bench

# The README's two commands.  Each installs what it needs with apt-get first
# (tests/deps), then builds in a sub-make (pkg-config must see the libraries).
# `make test`: tests/tiers runs every tier (check, sanitize,
# sanitize-integration, valgrind, fuzz, vm),
# each even after one failed, and closes with one "N passed, N failed" line
# over all of them; tests/hermetic runs it where this machine's mail
# configuration (/etc/postfix, /etc/aliases, ...) is masked.  The install
# stays outside the mask (package scripts write /etc).
demo:
	tests/deps demo
	$(MAKE) mailstage
	tests/demo

test:
	tests/deps test
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/hermetic tests/tiers

# `make test-fresh`: the same `make test` from a clone of HEAD on a pristine
# debootstrap'd Debian 12 (tests/hosts/fresh-suite; root, about 45 min):
# the proof that nothing leans on this machine.  Not part of `make test`.
test-fresh:
	tests/hosts/fresh-suite HEAD -- test

# Integration runs under valgrind (errors and definite leaks fail).
check-valgrind: test-build
	VALGRIND=1 TESTS='2*' MAILSTAGE_BUILD=$(B) tests/run-all

install: mailstage install-data
	install -D -m 0755 mailstage $(DESTDIR)$(SBINDIR)/mailstage
	install -D -m 0640 payload/mailstage.conf $(DESTDIR)$(SYSCONFDIR)/mailstage/mailstage.conf
	install -D -m 0644 payload/mailstage.conf $(DESTDIR)$(DATADIR)/mailstage.conf.example
	install -d -m 0700 $(DESTDIR)$(STATEDIR)

clean:
	rm -rf build mailstage

.PHONY: test-fresh all unit unit-build test-bins check check-e2e check-vm check-valgrind test-build bench demo test install clean

# libFuzzer targets (clang, ASan+UBSan): tests/fuzz/fuzz_NAME.c, corpus tests/fuzz/corpus/NAME.
# `make fuzz-ci` runs each for FUZZ_SECONDS (CI), `make fuzz` longer.
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_LIB   = $(filter-out installer/main.c,$(wildcard installer/*.c)) build/gen/payload_tar.c $(wildcard steps/*.c)
FUZZ_SECONDS ?= 60
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	clang -std=gnu99 -g -O1 -D_GNU_SOURCE -DMAILSTAGE_VERSION='"$(VERSION)"' -DMAILSTAGE_DATADIR='"$(DATADIR)"' \
	  -Iinstaller -Isteps $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) -lanl -lresolv -lpthread
fuzz-build: $(FUZZ_BIN)
fuzz-ci: $(FUZZ_BIN)
	tests/run-fuzz $(FUZZ_SECONDS) $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	tests/run-fuzz 600 $(FUZZ_BIN)
.PHONY: fuzz fuzz-ci fuzz-build

# ---- payload, install-data, dist, rpm (issue 6) ----
# payload/ becomes one ustar archive embedded in the binary (installer/payload.c
# reads it with libarchive).  od (coreutils) turns it into a C array: no xxd or
# objcopy needed on the build host.  Reproducible: sorted names, owner 0, mtime 0.
PAYLOAD_FILES := $(shell find payload -type f ! -name '*~' 2>/dev/null | LC_ALL=C sort)
build/gen/payload.tar: $(PAYLOAD_FILES)
	@mkdir -p $(dir $@)
	cd payload && find . -type f ! -name '*~' | sed 's,^\./,,' | LC_ALL=C sort | \
	  tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=@0 --mode=u+rw,go+r,go-w \
	      --transform='s,^mailstage\.conf$$,mailstage.conf.example,' --no-recursion \
	      -cf $(CURDIR)/$@.tmp -T -
	mv $@.tmp $@
build/gen/payload_tar.c: build/gen/payload.tar
	{ echo '/* generated from payload/ by the Makefile: do not edit */'; \
	  echo '#include "payload.h"'; \
	  echo 'const unsigned char mailstage_payload_tar[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t mailstage_payload_tar_len = sizeof(mailstage_payload_tar);'; } >$@.tmp
	mv $@.tmp $@
$(B)/gen/payload_tar.o: build/gen/payload_tar.c installer/payload.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Files outside /usr/share/mailstage: units, manual pages, bash completion.
# Everything else under payload/ (templates) goes to DATADIR, where it
# overrides the embedded copy.
UNITDIR       ?= /usr/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
install-data: mo
	install -D -m 0644 build/locale/ja/LC_MESSAGES/mailstage.mo $(DESTDIR)$(LOCALEDIR)/ja/LC_MESSAGES/mailstage.mo
	install -D -m 0644 payload/units/mailstage-converge.timer $(DESTDIR)$(UNITDIR)/mailstage-converge.timer
	sed 's,/usr/sbin/mailstage,$(SBINDIR)/mailstage,g' payload/units/mailstage-converge.service >build/mailstage-converge.service
	install -D -m 0644 build/mailstage-converge.service $(DESTDIR)$(UNITDIR)/mailstage-converge.service
	install -D -m 0644 payload/man/mailstage.8 $(DESTDIR)$(MANDIR)/man8/mailstage.8
	install -D -m 0644 payload/man/mailstage.conf.5 $(DESTDIR)$(MANDIR)/man5/mailstage.conf.5
	install -D -m 0644 payload/completion/mailstage $(DESTDIR)$(COMPLETIONDIR)/mailstage
	cd payload && find . -type f ! -name '*~' ! -name mailstage.conf ! -path './units/*' ! -path './man/*' \
	  ! -path './completion/*' | while read -r f; do install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/$$f"; done

# Release tarball of the committed tree (HEAD): uncommitted work is not in it.
dist:
	@git rev-parse --git-dir >/dev/null 2>&1 || { echo "make dist needs the git checkout" >&2; exit 1; }
	git archive --format=tar.gz --prefix=mailstage-$(VERSION)/ -o mailstage-$(VERSION).tar.gz HEAD
	@echo "wrote mailstage-$(VERSION).tar.gz from $$(git rev-parse --short HEAD)"

# Source and binary RPM with this host's rpmbuild, under build/rpm/.
# RPM_RELEASE=N builds another release (the upgrade test uses it).  A binary
# RPM built on Debian is for testing the packaging only: EL binaries must be
# built on EL (docs: el7-floors, rpm row).
RPM_RELEASE ?= 1
RPMTOP = $(CURDIR)/build/rpm
# On Debian the BuildRequires (EL names) are not in an rpm database: --nodeps
# (the Debian build dependencies are the -dev packages .ci/run installs); and
# Debian's brp-compress needs bash (`read -d`), under dash it gzips nothing.
RPMBUILD_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps \
  --define '__brp_compress /bin/bash %{_rpmconfigdir}/brp-compress %{?_prefix}')
rpm: dist
	rm -rf $(RPMTOP)/BUILD $(RPMTOP)/BUILDROOT
	mkdir -p $(RPMTOP)/SOURCES $(RPMTOP)/SPECS
	cp mailstage-$(VERSION).tar.gz $(RPMTOP)/SOURCES/
	rpmbuild $(RPMBUILD_FLAGS) --define '_topdir $(RPMTOP)' --define 'ms_version $(VERSION)' \
	  --define 'ms_release $(RPM_RELEASE)' -ba rpm/mailstage.spec

.PHONY: install-data dist rpm

# ---- translations (po/; installer/i18n.h) ----
# `make pot` regenerates po/mailstage.pot from the sources (commit it);
# `make mo` compiles po/ja.po (msgfmt -c checks the printf formats) into
# build/locale, where MAILSTAGE_LOCALEDIR=build/locale finds it uninstalled.
POT_SRC = $(sort $(wildcard installer/*.c steps/*.c))
POT_OUT ?= po/mailstage.pot
pot:
	xgettext --language=C --keyword=_ --keyword=N_ --keyword=ngettext:1,2 --from-code=UTF-8 \
	  --add-comments=TRANSLATORS: --package-name=mailstage --package-version=$(VERSION) \
	  --msgid-bugs-address=root@localhost --no-location --sort-output -o $(POT_OUT) $(POT_SRC)
build/locale/ja/LC_MESSAGES/mailstage.mo: po/ja.po
	@mkdir -p $(dir $@)
	msgfmt -c -o $@.tmp po/ja.po
	mv $@.tmp $@
mo: build/locale/ja/LC_MESSAGES/mailstage.mo
.PHONY: pot mo
