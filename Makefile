# mailstage - build, test, install.
#
#   make                 build ./mailstage
#   make check           unit tests (cmocka) and integration tests
#   make check SANITIZE=1  the same, built with AddressSanitizer + UBSan
#   make bench           benchmark figures (no timing is asserted anywhere)
#   make demo            the main job on an embedded default, in a throwaway root
#   make install DESTDIR=...
VERSION    = 0.1.0
PREFIX    ?= /usr
SBINDIR   ?= $(PREFIX)/sbin
DATADIR   ?= $(PREFIX)/share/mailstage
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
STATEDIR  ?= /var/lib/mailstage

CC        ?= gcc
PKGS       = libcurl libarchive libsystemd libselinux libsemanage libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN       = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu99 $(WARN) $(CFLAGS) $(PKG_CFLAGS) -D_GNU_SOURCE \
             -DMAILSTAGE_VERSION='"$(VERSION)"' -DMAILSTAGE_DATADIR='"$(DATADIR)"' -Iinstaller -Isteps
LDLIBS_ALL = $(PKG_LIBS)

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
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_BIN   = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
HDRS       = $(wildcard installer/*.h steps/*.h)

all: mailstage

mailstage: $(B)/installer/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(B)/mailstage-test: $(B)/hooks/installer/main.o $(TLIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/hooks/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DMAILSTAGE_TEST_HOOKS -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(TLIB_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DMAILSTAGE_TEST_HOOKS $(LDFLAGS) -o $@ $< $(TLIB_OBJ) $(LDLIBS_ALL) $(CMOCKA_LIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Everything the tests need, built once.
test-build: mailstage $(B)/mailstage-test $(UNIT_BIN)

check: test-build
	MAILSTAGE_BUILD=$(B) tests/run-all

bench: mailstage
	tests/bench

demo: mailstage
	tests/demo

install: mailstage
	install -D -m 0755 mailstage $(DESTDIR)$(SBINDIR)/mailstage
	install -D -m 0640 payload/mailstage.conf $(DESTDIR)$(SYSCONFDIR)/mailstage/mailstage.conf
	install -D -m 0644 payload/mailstage.conf $(DESTDIR)$(DATADIR)/mailstage.conf.example
	install -d -m 0700 $(DESTDIR)$(STATEDIR)

clean:
	rm -rf build mailstage

.PHONY: all unit check test-build bench demo install clean

# libFuzzer targets (clang, ASan+UBSan): tests/fuzz/fuzz_NAME.c, corpus tests/fuzz/corpus/NAME.
# `make fuzz-ci` runs each for FUZZ_SECONDS (CI), `make fuzz` longer.
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_LIB   = $(filter-out installer/main.c,$(wildcard installer/*.c)) $(wildcard steps/*.c)
FUZZ_SECONDS ?= 60
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(HDRS)
	@mkdir -p $(dir $@)
	clang -std=gnu99 -g -O1 -D_GNU_SOURCE -DMAILSTAGE_VERSION='"$(VERSION)"' -DMAILSTAGE_DATADIR='"$(DATADIR)"' \
	  -Iinstaller -Isteps $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)
fuzz-build: $(FUZZ_BIN)
fuzz-ci: $(FUZZ_BIN)
	tests/run-fuzz $(FUZZ_SECONDS) $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	tests/run-fuzz 600 $(FUZZ_BIN)
.PHONY: fuzz fuzz-ci fuzz-build
