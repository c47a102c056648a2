/*
 * test_dpkgstatus.c - dpkg's database read without dpkg-query
 * (installer/dpkgstatus.h): which stanzas count as installed (the states
 * of dpkg-query(1)'s db:Status-Abbrev, "?i?" only), continuation lines,
 * CRLF, what is refused (garbage, a cut file, a NUL, a bad Status, a field
 * twice), a very long line, an empty file, architectures, the updates/
 * journal; and on a root: no database, a FIFO, a symlink out of the root,
 * a file too large, updates/ in order.  The expected answers are those of
 * dpkg-query 1.21.22 (Debian 12) on the same texts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpkgstatus.h"
#include "testutil.h"
#include "util.h"

#define STANZA(name, status) "Package: " name "\nStatus: " status "\nPriority: optional\nSection: mail\n" \
	"Installed-Size: 10\nMaintainer: m <m@example.org>\nArchitecture: amd64\nVersion: 1.0-1\n" \
	"Description: test\n more text\n .\n and more\n"

static char *const mail_pkgs[] = { "postfix", "opendkim", "sasl2-bin", NULL };

/* The wanted names installed per text (space-separated, in want order), or "ERR line N: ..." */
static char *answer(const char *text, size_t len, char *const *want)
{
	struct dpkg_db *db;
	struct strv out = { 0 };
	char *err = NULL, *s;
	size_t n = 0;
	struct buf b = { 0 };

	while (want[n])
		n++;
	db = dpkg_db_new(want, n);
	if (dpkg_db_parse(db, text, len, 0, &err) < 0) {
		s = xasprintf("ERR %s", err);
		free(err);
		dpkg_db_free(db);
		return s;
	}
	dpkg_db_installed(db, &out);
	buf_puts(&b, "");
	for (n = 0; n < out.n; n++)
		buf_printf(&b, "%s%s", n ? " " : "", out.v[n]);
	strv_free(&out);
	dpkg_db_free(db);
	return buf_steal(&b);
}

static void expect(const char *text, char *const *want, const char *result)
{
	char *got = answer(text, strlen(text), want);
	assert_string_equal(got, result);
	free(got);
}

static void test_states(void **state)
{
	(void)state;
	expect(STANZA("postfix", "install ok installed"), mail_pkgs, "postfix");
	expect(STANZA("postfix", "install ok not-installed"), mail_pkgs, "");
	expect(STANZA("postfix", "install ok half-configured"), mail_pkgs, "");
	expect(STANZA("postfix", "install ok unpacked"), mail_pkgs, "");
	expect(STANZA("postfix", "install reinstreq half-installed"), mail_pkgs, "");
	expect(STANZA("postfix", "install ok triggers-pending"), mail_pkgs, "");
	expect(STANZA("postfix", "deinstall ok config-files"), mail_pkgs, "");
	expect(STANZA("postfix", "purge ok config-files"), mail_pkgs, "");
	/* dpkg-query says "ri " and "iiR", "hi ": the current state is what counts */
	expect(STANZA("postfix", "deinstall ok installed"), mail_pkgs, "postfix");
	expect(STANZA("postfix", "install reinstreq installed"), mail_pkgs, "postfix");
	expect(STANZA("postfix", "hold ok installed"), mail_pkgs, "postfix");
	/* no Status: dpkg-query "un" */
	expect("Package: postfix\nArchitecture: amd64\nVersion: 1\n", mail_pkgs, "");
	/* a package not wanted, or a name only sharing a prefix */
	expect(STANZA("postfix-pcre", "install ok installed") "\n" STANZA("opendkim", "install ok installed"),
	       mail_pkgs, "opendkim");
	/* every stanza, in want order, blanks and more blank lines around */
	expect("\n\n" STANZA("sasl2-bin", "install ok installed") "\n\n\n" STANZA("postfix", "install ok installed")
	       "\n" STANZA("opendkim", "install ok config-files") "\n\n", mail_pkgs, "postfix sasl2-bin");
	/* words separated by any blanks; field names without case; a field with no blank after ':' */
	expect("package:postfix\nSTATUS:\tinstall  ok\tinstalled  \nversion: 1\n", mail_pkgs, "postfix");
	/* the database's name is folded to lower case (dpkg does); the pattern is not */
	{
		char *const upper[] = { "postfix", "Postfix", NULL };
		expect("Package: Postfix\nStatus: install ok installed\nVersion: 1\n", upper, "postfix");
	}
	/* the old stanza-level shape dpkg accepts: no Architecture, no Description */
	expect("Package: postfix\nStatus: install ok installed\nVersion: 1\n", mail_pkgs, "postfix");
}

static void test_continuation(void **state)
{
	(void)state;
	/* continuation lines of another field never start a field (" Package: x" is text) */
	expect("Package: postfix\nStatus: install ok config-files\nVersion: 1\nDescription: x\n Package: opendkim\n"
	       " Status: install ok installed\n .\n", mail_pkgs, "");
	expect("Package: postfix\nStatus: install ok installed\nVersion: 1\nConffiles:\n /etc/postfix/x 0123\n"
	       "\t/etc/postfix/y 4567\n", mail_pkgs, "postfix");
	/* a Status continued on the next line: its words are still three (dpkg-query "ii ") */
	expect("Package: postfix\nStatus: install ok\n installed\nVersion: 1\n", mail_pkgs, "postfix");
	/* a line of one blank is a continuation, not the end of the stanza: the next Package is a second one */
	expect("Package: postfix\nStatus: install ok installed\nVersion: 1\n \nPackage: opendkim\n", mail_pkgs,
	       "ERR line 5: a second Package field in one stanza");
	/* a continuation before any field */
	expect(" Package: postfix\nStatus: install ok installed\nVersion: 1\n", mail_pkgs,
	       "ERR line 1: a line starting with a blank before the stanza's first field");
	expect("Package: postfix\nStatus: install ok installed\nVersion: 1\n\n .\n", mail_pkgs,
	       "ERR line 5: a line starting with a blank before the stanza's first field");
}

static void test_crlf(void **state)
{
	(void)state;
	/* dpkg takes the "\r" as the value's trailing blank: installed */
	expect("Package: postfix\r\nStatus: install ok installed\r\nArchitecture: amd64\r\nVersion: 1\r\n", mail_pkgs,
	       "postfix");
	/* ... and a "\r" line as a continuation: two stanzas are one with two Package fields (dpkg refuses too) */
	expect("Package: postfix\r\nStatus: install ok installed\r\nVersion: 1\r\n\r\nPackage: opendkim\r\n"
	       "Status: install ok installed\r\nVersion: 1\r\n", mail_pkgs,
	       "ERR line 5: a second Package field in one stanza");
}

static void test_refused(void **state)
{
	(void)state;
	/* garbage: a line that is no field */
	expect(STANZA("postfix", "install ok installed") "this is garbage\n", mail_pkgs,
	       "ERR line 13: field name \"this\" is not followed by a colon");
	expect("<html>\n", mail_pkgs, "ERR line 1: field name \"<html>\" is not followed by a colon");
	expect("Package: postfix\n: x\n", mail_pkgs, "ERR line 2: a field without a name");
	/* a stanza cut short, in the middle of a line or of the Status */
	expect("Package: postfix\nStatus: install ok installed\nVersion: 1", mail_pkgs,
	       "ERR line 3: no newline at its end: the file is cut short");
	expect("Package: postfix\nStatus: install ok inst", mail_pkgs,
	       "ERR line 2: no newline at its end: the file is cut short");
	expect("Package: postfix\nStatus: install ok inst\n", mail_pkgs,
	       "ERR line 1: Status is not the three words WANT FLAG STATE of dpkg (as \"install ok installed\")");
	/* a stanza that is only what survived of one: no Package */
	expect(STANZA("postfix", "install ok installed") "\nStatus: install ok installed\nVersion: 1\n", mail_pkgs,
	       "ERR line 14: a stanza without a Package field");
	{
		static const char nul[] = "Package: postfix\nStatus: install ok installed\nVersion: 1\n\0\n";
		char *got = answer(nul, sizeof(nul) - 1, mail_pkgs);
		assert_string_equal(got, "ERR line 4: a NUL byte");
		free(got);
	}
	/* Status: three words of dpkg's vocabulary, nothing after */
	expect("Package: postfix\nStatus: install ok installed extra\nVersion: 1\n", mail_pkgs,
	       "ERR line 1: Status is not the three words WANT FLAG STATE of dpkg (as \"install ok installed\")");
	expect("Package: postfix\nStatus: frob ok installed\nVersion: 1\n", mail_pkgs,
	       "ERR line 1: Status is not the three words WANT FLAG STATE of dpkg (as \"install ok installed\")");
	expect("Package: postfix\nStatus: install hold installed\nVersion: 1\n", mail_pkgs,
	       "ERR line 1: Status is not the three words WANT FLAG STATE of dpkg (as \"install ok installed\")");
	expect("Package: postfix\nStatus:\nVersion: 1\n", mail_pkgs,
	       "ERR line 1: Status is not the three words WANT FLAG STATE of dpkg (as \"install ok installed\")");
	/* a field twice; a bad name; no Version where the state needs one */
	expect("Package: postfix\nStatus: install ok installed\nstatus: install ok installed\nVersion: 1\n", mail_pkgs,
	       "ERR line 3: a second Status field in one stanza");
	expect("Package: post fix\nStatus: install ok installed\nVersion: 1\n", mail_pkgs,
	       "ERR line 1: \"post fix\" is not a package name");
	expect("Package:\nStatus: install ok installed\nVersion: 1\n", mail_pkgs,
	       "ERR line 1: \"\" is not a package name");
	expect("Package: postfix\nStatus: install ok installed\n", mail_pkgs,
	       "ERR line 1: package postfix is installed but has no Version");
	expect("Package: postfix\nStatus: deinstall ok config-files\nVersion:\n", mail_pkgs,
	       "ERR line 1: package postfix is config-files but has no Version");
	expect("Package: postfix\nStatus: install ok not-installed\n", mail_pkgs, "");
	/* one package and architecture twice */
	expect(STANZA("postfix", "install ok installed") "\n" STANZA("postfix", "deinstall ok config-files"),
	       mail_pkgs, "ERR line 14: package postfix:amd64 is in the file twice");
}

static void test_long_and_empty(void **state)
{
	struct buf b = { 0 };
	char *got, *big;
	size_t i;
	(void)state;

	expect("", mail_pkgs, "");
	expect("\n\n\n", mail_pkgs, "");
	/* a 4 MiB line (a Description, a Conffiles entry): no line length limit */
	big = xmalloc(4u << 20);
	memset(big, 'x', 4u << 20);
	buf_puts(&b, "Package: postfix\nStatus: install ok installed\nVersion: 1\nDescription: ");
	buf_append(&b, big, 4u << 20);
	buf_puts(&b, "\n\nPackage: opendkim\nStatus: install ok installed\nVersion: 1\nX-Long: ");
	buf_append(&b, big, 4u << 20);
	buf_puts(&b, "\n ");
	buf_append(&b, big, 4u << 20);
	buf_puts(&b, "\n");
	got = answer(b.data, b.len, mail_pkgs);
	assert_string_equal(got, "postfix opendkim");
	free(got);
	/* a long Package value is named in the error, cut */
	buf_free(&b);
	buf_puts(&b, "Package: ");
	for (i = 0; i < 1000; i++)
		buf_puts(&b, "a ");
	buf_puts(&b, "\n");
	got = answer(b.data, b.len, mail_pkgs);
	assert_true(strncmp(got, "ERR line 1: \"a a a", 18) == 0);
	free(got);
	buf_free(&b);
	/* a field name of a megabyte is quoted short */
	buf_append(&b, big, 1u << 20);
	buf_puts(&b, " x\n");
	got = answer(b.data, b.len, mail_pkgs);
	assert_true(strlen(got) < 200);
	assert_non_null(strstr(got, "is not followed by a colon"));
	free(got);
	buf_free(&b);
	free(big);
}

/* What dpkg-query -W answers for NAME and NAME:ARCH on a multiarch database. */
static void test_arch(void **state)
{
	static const char db[] =
		"Package: libfoo\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1\n\n"
		"Package: libfoo\nStatus: install ok config-files\nArchitecture: i386\nMulti-Arch: same\nVersion: 1\n\n"
		"Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\n"
		"Package: wine32\nStatus: install ok installed\nArchitecture: i386\nVersion: 1\n";
	char *const plain[] = { "libfoo", "tzdata", "wine32", NULL };
	char *const amd[] = { "libfoo:amd64", "tzdata:amd64", "wine32:amd64", NULL };
	char *const i386[] = { "libfoo:i386", "wine32:i386", "tzdata:all", NULL };
	char *const other[] = { "libfoo:any", "libfoo:native", "libfoo:all", NULL };
	char *const glob[] = { "lib*", "wine32:*", NULL };
	(void)state;

	expect(db, plain, "libfoo tzdata wine32");
	expect(db, amd, "libfoo");
	expect(db, i386, "wine32 tzdata");	/* libfoo:i386 has only its configuration files left */
	expect(db, other, "");
	expect(db, glob, "libfoo wine32");
}

/* updates/NNNN replace the status file's record, in order. */
static void test_updates(void **state)
{
	char *const want[] = { "postfix", "opendkim", "libfoo", NULL };
	struct dpkg_db *db = dpkg_db_new(want, 3);
	struct strv out = { 0 };
	char *err = NULL;
	static const char status[] = STANZA("postfix", "install ok installed") "\n" STANZA("opendkim", "install ok installed")
		"\nPackage: libfoo\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1\n";
	static const char u0[] = STANZA("postfix", "install ok half-configured");
	static const char u1[] = "Package: sasl2-bin\nStatus: install ok unpacked\nVersion: 2\n";
	/* a cross-grade of a package that is not Multi-Arch: same replaces its one instance */
	static const char u2[] = "Package: opendkim\nStatus: install ok unpacked\nArchitecture: i386\nVersion: 2\n";
	/* another instance of a Multi-Arch: same one is added */
	static const char u3[] = "Package: libfoo\nStatus: install ok half-installed\nArchitecture: i386\nMulti-Arch: same\n";
	(void)state;

	assert_int_equal(dpkg_db_parse(db, status, strlen(status), 0, &err), 0);
	assert_int_equal(dpkg_db_parse(db, u0, strlen(u0), 1, &err), 0);
	assert_int_equal(dpkg_db_parse(db, u1, strlen(u1), 1, &err), 0);
	assert_int_equal(dpkg_db_parse(db, u2, strlen(u2), 1, &err), 0);
	assert_int_equal(dpkg_db_parse(db, u3, strlen(u3), 1, &err), 0);
	dpkg_db_installed(db, &out);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0], "libfoo");
	strv_free(&out);
	/* and the dpkg run that was interrupted is finished */
	assert_int_equal(dpkg_db_parse(db, STANZA("postfix", "install ok installed"),
				       strlen(STANZA("postfix", "install ok installed")), 1, &err), 0);
	dpkg_db_installed(db, &out);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0], "postfix");
	strv_free(&out);
	/* an update in error is refused like the status file */
	assert_int_equal(dpkg_db_parse(db, "Package: postfix\n", 16, 1, &err), -EBADMSG);
	assert_string_equal(err, "line 1: no newline at its end: the file is cut short");
	free(err);
	dpkg_db_free(db);
}

/* ---- on a root ---- */

static char tmp[64];

static void mk(const char *rel)
{
	char *p = xasprintf("%s%s", tmp, rel);
	char *s;
	for (s = p + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	free(p);
}

static void put(const char *rel, const char *text)
{
	char *p = xasprintf("%s%s", tmp, rel), *slash;
	mk(rel);
	slash = strrchr(p, '/');
	*slash = 0;
	tu_write_file(p, slash + 1, text, strlen(text));
	free(p);
}

static int on_root(char **out, char **why)
{
	struct root r;
	struct strv inst = { 0 };
	struct buf b = { 0 };
	char *w = NULL;
	size_t i;
	int rc;

	assert_int_equal(root_init(&r, tmp, &w), 0);
	*why = NULL;
	rc = dpkg_installed(&r, mail_pkgs, 3, &inst, why);
	buf_puts(&b, "");
	for (i = 0; i < inst.n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", inst.v[i]);
	*out = buf_steal(&b);
	strv_free(&inst);
	root_free(&r);
	return rc;
}

static void expect_root(int want_rc, const char *want, const char *why_has)
{
	char *out = NULL, *why = NULL;
	int rc = on_root(&out, &why);
	if (rc != want_rc)
		fail_msg("rc %d, expected %d (%s)", rc, want_rc, why ? why : "");
	if (want)
		assert_string_equal(out, want);
	if (why_has) {
		assert_non_null(why);
		if (!strstr(why, why_has))
			fail_msg("\"%s\" not in \"%s\"", why_has, why);
	} else
		assert_null(why);
	free(out);
	free(why);
}

static void test_root(void **state)
{
	char *p, *q;
	int fd;
	(void)state;

	strcpy(tmp, "/tmp/test_dpkgstatus.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	/* no database at all: nothing installed (dpkg-query: "no packages found matching") */
	expect_root(0, "", NULL);
	mk("/var/lib/dpkg/x");
	expect_root(0, "", NULL);
	put("/var/lib/dpkg/status", STANZA("postfix", "install ok installed") "\n" STANZA("opendkim", "install ok installed"));
	expect_root(0, "postfix opendkim", NULL);
	/* the journal, in numeric order; tmp.i (being written) and other names are not read */
	put("/var/lib/dpkg/updates/0000", STANZA("postfix", "install ok half-configured"));
	put("/var/lib/dpkg/updates/0001", STANZA("postfix", "install ok installed"));
	put("/var/lib/dpkg/updates/0002", STANZA("opendkim", "install ok unpacked"));
	put("/var/lib/dpkg/updates/tmp.i", "garbage");
	put("/var/lib/dpkg/updates/0003.bak", "garbage");
	expect_root(0, "postfix", NULL);
	/* a bad update names itself and how dpkg finishes its work */
	put("/var/lib/dpkg/updates/0004", "garbage\n");
	expect_root(-EBADMSG, NULL, "/var/lib/dpkg/updates/0004: line 1: field name \"garbage\" is not followed by a "
		    "colon; an interrupted dpkg left it: run `dpkg --configure -a`");
	p = xasprintf("%s/var/lib/dpkg/updates", tmp);
	tu_rm_rf(p);
	expect_root(0, "postfix opendkim", NULL);
	/* updates/ not a directory */
	put("/var/lib/dpkg/updates", "x");
	expect_root(-ENOTDIR, NULL, "/var/lib/dpkg/updates: ");
	unlink(p);
	/* malformed: the file, the line, what to do */
	put("/var/lib/dpkg/status", STANZA("postfix", "install ok installed") "\nPackage: opendkim\nStatus: install ok");
	expect_root(-EBADMSG, NULL, "dpkg's database cannot be read, so which packages are installed is unknown: "
		    "/var/lib/dpkg/status: line 15: no newline at its end: the file is cut short; check it with "
		    "`dpkg --audit` in the target, or restore it from dpkg's backup (/var/backups/dpkg.status.0), "
		    "and run again");
	/* a FIFO is never opened for reading (it would block) */
	q = xasprintf("%s/var/lib/dpkg/status", tmp);
	unlink(q);
	assert_int_equal(mkfifo(q, 0644), 0);
	expect_root(-EINVAL, NULL, "/var/lib/dpkg/status is not a regular file");
	unlink(q);
	/* a directory */
	assert_int_equal(mkdir(q, 0755), 0);
	expect_root(-EINVAL, NULL, "/var/lib/dpkg/status is not a regular file");
	rmdir(q);
	/* a symlink out of the root: the host's own database is never read */
	assert_int_equal(symlink("../../../../../../../../var/lib/dpkg/status", q), 0);
	expect_root(-EPERM, NULL, "points outside the root");
	unlink(q);
	/* a symlink inside the root is followed, as dpkg would */
	put("/srv/status", STANZA("sasl2-bin", "install ok installed"));
	assert_int_equal(symlink("/srv/status", q), 0);
	expect_root(0, "sasl2-bin", NULL);
	unlink(q);
	/* larger than any status file could be */
	fd = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)65 << 20), 0);
	close(fd);
	expect_root(-EFBIG, NULL, "/var/lib/dpkg/status is larger than");
	/* an empty file: nothing installed */
	assert_int_equal(truncate(q, 0), 0);
	expect_root(0, "", NULL);
	free(p);
	free(q);
	tu_rm_rf(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_and_empty),
		cmocka_unit_test(test_arch),
		cmocka_unit_test(test_updates),
		cmocka_unit_test(test_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
