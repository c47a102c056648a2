/*
 * test_maincf.c - unit tests for the main.cf editor, and a cross-check of
 * its reading against the real postconf(1) when it is installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maincf.h"
#include "testutil.h"
#include "util.h"

static struct maincf *parse_ok(const char *text)
{
	struct maincf *mc = NULL;
	char *err = NULL;

	if (maincf_parse(text, strlen(text), &mc, &err) < 0)
		fail_msg("parse failed: %s", err);
	return mc;
}

static void assert_render(const struct maincf *mc, const char *want)
{
	char *out = maincf_render(mc, NULL);

	assert_string_equal(out, want);
	free(out);
}

static void assert_parse_error(const char *text, size_t len, const char *want)
{
	struct maincf *mc = NULL;
	char *err = NULL;

	assert_int_equal(maincf_parse(text, len, &mc, &err), -EINVAL);
	assert_null(mc);
	assert_string_equal(err, want);
	free(err);
}

static void test_get_set(void **state)
{
	struct maincf *mc = parse_ok("# c\nmyhostname = a\nrelayhost=\nmyhostname =\tb \n");

	(void)state;
	assert_string_equal(maincf_get(mc, "myhostname"), "b");
	assert_string_equal(maincf_get(mc, "relayhost"), "");
	assert_null(maincf_get(mc, "mydomain"));
	assert_int_equal(maincf_count(mc, "myhostname"), 2);
	assert_int_equal(maincf_set(mc, "myhostname", "mail.example.com"), 0);
	assert_render(mc, "# c\nmyhostname = mail.example.com\nrelayhost=\n"
		      MAINCF_DISABLED_PREFIX "myhostname =\tb \n");
	assert_int_equal(maincf_set(mc, "mydomain", "example.com"), 0);
	assert_string_equal(maincf_get(mc, "mydomain"), "example.com");
	assert_int_equal(maincf_set(mc, "relayhost", ""), 0);
	assert_render(mc, "# c\nmyhostname = mail.example.com\nrelayhost =\n"
		      MAINCF_DISABLED_PREFIX "myhostname =\tb \nmydomain = example.com\n");
	assert_int_equal(maincf_unset(mc, "myhostname"), 0);
	assert_null(maincf_get(mc, "myhostname"));
	assert_int_equal(maincf_unset(mc, "nothing"), 0);
	maincf_free(mc);
}

static void test_continuation(void **state)
{
	struct maincf *mc = parse_ok("a = x,\n# comment\n\n  y\n\tz\nb = # not a comment\n");
	const char *owner;
	size_t len;

	(void)state;
	assert_string_equal(maincf_get(mc, "a"), "x, y z");
	assert_string_equal(maincf_get(mc, "b"), "# not a comment");
	assert_int_equal(maincf_line_count(mc), 6);
	assert_non_null(maincf_line(mc, 1, &len, &owner));
	assert_null(owner);
	maincf_line(mc, 3, &len, &owner);
	assert_string_equal(owner, "a");
	assert_int_equal(len, 4);
	assert_int_equal(maincf_set(mc, "a", "w"), 0);
	assert_render(mc, "a = w\n# comment\n\nb = # not a comment\n");
	maincf_free(mc);
}

static void test_crlf_and_eof(void **state)
{
	struct maincf *mc = parse_ok("a = 1\r\nb = 2");

	(void)state;
	assert_string_equal(maincf_get(mc, "a"), "1");
	assert_int_equal(maincf_set(mc, "c", "3"), 0);
	assert_render(mc, "a = 1\r\nb = 2\r\nc = 3\r\n");
	assert_int_equal(maincf_set(mc, "a", "9"), 0);
	assert_render(mc, "a = 9\r\nb = 2\r\nc = 3\r\n");
	maincf_free(mc);
	mc = parse_ok("");
	assert_int_equal(maincf_set(mc, "a", "1"), 0);
	assert_render(mc, "a = 1\n");
	maincf_free(mc);
}

static void test_errors(void **state)
{
	(void)state;
	assert_parse_error("a = 1\nb\0 = 2\n", 12, "line 2: NUL byte");
	assert_parse_error("a = 1\n\x01\n", 8, "line 2: control character 0x01");
	assert_parse_error("a = 1\rb = 2\n", 12, "line 1: carriage return not followed by a newline");
	assert_parse_error("\n  a = 1\n", 9, "line 2: continuation line without a preceding parameter");
	assert_parse_error("a 1\n", 4, "line 1: missing '=' after parameter name");
	assert_parse_error("=1\n", 3, "line 1: missing parameter name before '='");
}

static void test_invalid_edits(void **state)
{
	struct maincf *mc = parse_ok("a = 1\n");

	(void)state;
	assert_int_equal(maincf_set(mc, "", "x"), -EINVAL);
	assert_int_equal(maincf_set(mc, "a b", "x"), -EINVAL);
	assert_int_equal(maincf_set(mc, "a=b", "x"), -EINVAL);
	assert_int_equal(maincf_set(mc, "#a", "x"), -EINVAL);
	assert_int_equal(maincf_set(mc, "a", "x\ny"), -EINVAL);
	assert_int_equal(maincf_set(mc, "a", " x"), -EINVAL);
	assert_int_equal(maincf_set(mc, "a", "x "), -EINVAL);
	assert_int_equal(maincf_set(mc, "a", "x\ty"), 0);
	assert_string_equal(maincf_get(mc, "a"), "x\ty");
	maincf_free(mc);
}

/* ---- the real postconf ---- */

/* Collapse whitespace runs (including CR) to one space, trim. */
static char *norm(const char *s)
{
	struct buf b = { 0 };
	int space = 0;

	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			space = 1;
			continue;
		}
		if (space && b.len)
			buf_puts(&b, " ");
		space = 0;
		buf_append(&b, s, 1);
	}
	return buf_steal(&b);
}

/* postconf -n must report exactly the values maincf_get() returns. */
static void check_with_postconf(const char *postconf, const char *file)
{
	char tmpl[] = "/tmp/maincf-test.XXXXXX", *dir = mkdtemp(tmpl);
	char *text, *out = NULL, *errout = NULL, *save = NULL, *line, *cdir, *mp, *cp;
	struct maincf *mc = NULL;
	char *err = NULL;
	size_t len, seen = 0;
	int rc;

	assert_non_null(dir);
	text = tu_read_case("maincf", file, &len);
	if (maincf_parse(text, len, &mc, &err) < 0)
		fail_msg("%s: %s", file, err);
	tu_write_file(dir, "main.cf", text, len);
	tu_write_file(dir, "master.cf", "", 0);
	cdir = xstrdup(dir);
	{
		char *argv[] = { (char *)postconf, (char *)"-c", cdir, (char *)"-n", NULL };
		rc = tu_run_str(argv, &out, &errout);
	}
	if (rc != 0)
		fail_msg("%s: postconf -n failed (%d): %s", file, rc, errout);
	/* after set() no parameter is defined twice: Postfix must not warn */
	if (strstr(file, "expected") && strstr(errout, "overriding earlier entry"))
		fail_msg("%s: postconf still sees duplicates: %s", file, errout);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strstr(line, " = "), *ours, *theirs;
		const char *v;

		if (!eq) {
			eq = strstr(line, " =");
			if (!eq || eq[2])
				fail_msg("%s: unexpected postconf output: %s", file, line);
		}
		*eq = 0;
		if (strcmp(line, "config_directory") == 0)
			continue;
		v = maincf_get(mc, line);
		if (!v)
			fail_msg("%s: postconf has %s, maincf does not", file, line);
		ours = norm(v);
		theirs = norm(eq + 2 + (eq[2] == ' '));
		if (strcmp(ours, theirs) != 0)
			fail_msg("%s: %s: maincf \"%s\", postconf \"%s\"", file, line, ours, theirs);
		free(ours);
		free(theirs);
		seen++;
	}
	assert_true(seen > 0);
	mp = xasprintf("%s/main.cf", dir);
	cp = xasprintf("%s/master.cf", dir);
	unlink(mp);
	unlink(cp);
	rmdir(dir);
	free(mp);
	free(cp);
	free(cdir);
	free(out);
	free(errout);
	free(text);
	maincf_free(mc);
}

static void test_postconf_agrees(void **state)
{
	static const char *const files[] = {
		"001-debian-dist-roundtrip/input", "002-debian-etc-set/input",
		"002-debian-etc-set/expected", "003-seed-guide-appended/input",
		"003-seed-guide-appended/expected", "004-duplicates/input",
		"004-duplicates/expected", "005-continuation-across-comments/input",
		"007-tabs-spacing/input", "009-crlf/input", "009-crlf/expected",
		"010-el7-packaged-milters/input", "010-el7-packaged-milters/expected",
	};
	const char *postconf = tu_find_tool("postconf");
	size_t i;

	(void)state;
	if (!postconf) {
		printf("NOTE: postconf not installed: postconf cross-check skipped\n");
		skip();
	}
	for (i = 0; i < ARRAY_SIZE(files); i++)
		check_with_postconf(postconf, files[i]);
}

/* The values the installer sets are what Postfix sees. */
static void test_postconf_sees_edits(void **state)
{
	char tmpl[] = "/tmp/maincf-test.XXXXXX", *dir = mkdtemp(tmpl);
	const char *postconf = tu_find_tool("postconf");
	struct maincf *mc = NULL;
	char *text, *out = NULL, *errout = NULL, *err = NULL, *p;
	size_t len;
	int rc;

	(void)state;
	assert_non_null(dir);
	if (!postconf) {
		rmdir(dir);
		printf("NOTE: postconf not installed: postconf check skipped\n");
		skip();
	}
	text = tu_read_case("maincf", "003-seed-guide-appended/input", &len);
	assert_int_equal(maincf_parse(text, len, &mc, &err), 0);
	assert_int_equal(maincf_set(mc, "inet_interfaces", "loopback-only"), 0);
	assert_int_equal(maincf_set(mc, "smtpd_milters", "inet:127.0.0.1:8891"), 0);
	assert_int_equal(maincf_set(mc, "smtpd_recipient_restrictions",
				    "permit_mynetworks, reject_unauth_destination"), 0);
	free(text);
	text = maincf_render(mc, &len);
	tu_write_file(dir, "main.cf", text, len);
	tu_write_file(dir, "master.cf", "", 0);
	{
		char *argv[] = { (char *)postconf, (char *)"-c", dir, (char *)"-h",
				 (char *)"inet_interfaces", (char *)"smtpd_milters",
				 (char *)"smtpd_recipient_restrictions", NULL };
		rc = tu_run_str(argv, &out, &errout);
	}
	assert_int_equal(rc, 0);
	/* the duplicated inet_interfaces was disabled by set() */
	assert_null(strstr(errout, "overriding earlier entry: inet_interfaces"));
	assert_string_equal(out, "loopback-only\ninet:127.0.0.1:8891\n"
			    "permit_mynetworks, reject_unauth_destination\n");
	p = xasprintf("%s/main.cf", dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/master.cf", dir);
	unlink(p);
	free(p);
	rmdir(dir);
	free(out);
	free(errout);
	free(text);
	maincf_free(mc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_set),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_crlf_and_eof),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_invalid_edits),
		cmocka_unit_test(test_postconf_agrees),
		cmocka_unit_test(test_postconf_sees_edits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
