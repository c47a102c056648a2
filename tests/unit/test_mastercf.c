/*
 * test_mastercf.c - unit tests for the master.cf editor, and a cross-check
 * against the real postconf(1) -M/-P when it is installed.
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
#include <sys/wait.h>
#include <unistd.h>

#include "mastercf.h"
#include "testutil.h"
#include "util.h"

static struct mastercf *parse_ok(const char *text)
{
	struct mastercf *mf = NULL;
	char *err = NULL;

	if (mastercf_parse(text, strlen(text), &mf, &err) < 0)
		fail_msg("parse failed: %s", err);
	return mf;
}

static void assert_render(const struct mastercf *mf, const char *want)
{
	char *out = mastercf_render(mf, NULL);

	assert_string_equal(out, want);
	free(out);
}

static void assert_parse_error(const char *text, const char *want)
{
	struct mastercf *mf = NULL;
	char *err = NULL;

	assert_int_equal(mastercf_parse(text, strlen(text), &mf, &err), -EINVAL);
	assert_null(mf);
	assert_string_equal(err, want);
	free(err);
}

#define SMTP "smtp      inet  n       -       y       -       -       smtpd\n"

static void test_find_and_options(void **state)
{
	struct mastercf *mf = parse_ok("# c\n" SMTP "  -o a=1\n# inside\n  -o b=2 -o a=3\n"
				       "smtp      unix  -       -       y       -       -       smtp\n");
	struct mastercf_service s;
	const char *v;

	(void)state;
	assert_int_equal(mastercf_service_count(mf), 2);
	assert_int_equal(mastercf_find(mf, "smtp", "inet", &s), 0);
	assert_string_equal(s.field[4], "y");
	assert_string_equal(s.field[7], "smtpd");
	assert_int_equal(s.first_line, 2);
	assert_int_equal(s.last_line, 5);
	assert_int_equal(s.nargs, 6);
	assert_int_equal(mastercf_find(mf, "smtp", "fifo", &s), -ENOENT);
	assert_int_equal(mastercf_get_option(mf, "smtp", "inet", "a", &v), 0);
	assert_string_equal(v, "3");
	assert_int_equal(mastercf_get_option(mf, "smtp", "unix", "a", &v), 0);
	assert_null(v);
	assert_int_equal(mastercf_get_option(mf, "nope", "unix", "a", &v), -ENOENT);
	assert_int_equal(mastercf_set_option(mf, "smtp", "inet", "a", "9"), 0);
	assert_int_equal(mastercf_set_option(mf, "smtp", "inet", "c", "x,y"), 0);
	assert_render(mf, "# c\n" SMTP "  -o a=9\n# inside\n  -o b=2 -o a=9\n  -o c=x,y\n"
		      "smtp      unix  -       -       y       -       -       smtp\n");
	assert_int_equal(mastercf_unset_option(mf, "smtp", "inet", "a"), 0);
	assert_render(mf, "# c\n" SMTP "# inside\n  -o b=2\n  -o c=x,y\n"
		      "smtp      unix  -       -       y       -       -       smtp\n");
	assert_int_equal(mastercf_set_option(mf, "smtp", "inet", "d", "a b"), -EINVAL);
	assert_int_equal(mastercf_set_option(mf, "smtp", "inet", "d=", "x"), -EINVAL);
	assert_int_equal(mastercf_set_option(mf, "smtp", "inet", "d", "{x}"), -EINVAL);
	mastercf_free(mf);
}

static void test_add_dedupe(void **state)
{
	struct mastercf *mf = parse_ok(SMTP "#submission inet n - y - - smtpd\n#  -o x=y\n"
				       "pickup    unix  n       -       y       60      1       pickup\n"
				       SMTP "  -o z=1\n");
	const char *opts[] = { "syslog_name=postfix/submission", NULL };
	struct mastercf_new_service ns;

	(void)state;
	memset(&ns, 0, sizeof(ns));
	ns.name = "submission";
	ns.type = "inet";
	ns.template_name = "pickup";
	ns.template_type = "unix";
	ns.fields[3] = "-";
	ns.fields[4] = "-";
	ns.command = "smtpd";
	ns.options = opts;
	assert_int_equal(mastercf_count(mf, "smtp", "inet"), 2);
	assert_int_equal(mastercf_add_service(mf, &ns), 0);
	assert_int_equal(mastercf_add_service(mf, &ns), -EEXIST);
	ns.name = "smtps";
	ns.template_name = "nothere";
	assert_int_equal(mastercf_add_service(mf, &ns), -ENOENT);
	assert_int_equal(mastercf_dedupe(mf, "smtp", "inet", 0), 0);
	assert_int_equal(mastercf_count(mf, "smtp", "inet"), 1);
	assert_render(mf, SMTP "#submission inet n - y - - smtpd\n#  -o x=y\n"
		      "submission inet  n       -       y       -       -       smtpd\n"
		      "  -o syslog_name=postfix/submission\n"
		      "pickup    unix  n       -       y       60      1       pickup\n"
		      MASTERCF_DISABLED_PREFIX SMTP MASTERCF_DISABLED_PREFIX "  -o z=1\n");
	assert_int_equal(mastercf_set_field(mf, "smtp", "inet", MASTERCF_CHROOT, "n"), 0);
	assert_int_equal(mastercf_set_field(mf, "smtp", "inet", MASTERCF_CHROOT, "no"), -EINVAL);
	mastercf_free(mf);
	mf = parse_ok("");
	ns.name = "x";
	ns.template_name = NULL;
	ns.options = NULL;
	assert_int_equal(mastercf_add_service(mf, &ns), 0);
	assert_render(mf, "x         inet  -       -       -       -       -       smtpd\n");
	mastercf_free(mf);
}

static void assert_endpoint(const char *service, const char *host, const char *port)
{
	char *h = NULL, *p = NULL;

	if (!host) {
		assert_int_equal(mastercf_inet_endpoint(service, &h, &p), -EINVAL);
		assert_null(h);
		assert_null(p);
		return;
	}
	assert_int_equal(mastercf_inet_endpoint(service, &h, &p), 0);
	assert_string_equal(h, host);
	assert_string_equal(p, port);
	free(h);
	free(p);
}

static void test_inet_endpoint(void **state)
{
	(void)state;
	assert_endpoint("smtp", "", "smtp");
	assert_endpoint(":25", "", "25");
	assert_endpoint("203.0.113.10:smtp", "203.0.113.10", "smtp");
	assert_endpoint("localhost:587", "localhost", "587");
	assert_endpoint("[2001:db8::1]:smtp", "2001:db8::1", "smtp");
	assert_endpoint("[::1]:465", "::1", "465");
	assert_endpoint("[2001:db8::1", NULL, NULL);
	assert_endpoint("[2001:db8::1]smtp", NULL, NULL);
	assert_endpoint("[2001:db8::1]:", NULL, NULL);
	assert_endpoint("203.0.113.10:", NULL, NULL);
}

/* mastercf_disable comments out every entry of (name, type), nothing else */
static void test_disable(void **state)
{
	struct mastercf *mf = parse_ok(SMTP "  -o a=1\n# keep\n25        inet  n - y - - smtpd\n"
				       "  -o b=2\n" SMTP);

	(void)state;
	assert_int_equal(mastercf_disable(mf, "25", "inet"), 0);
	assert_render(mf, SMTP "  -o a=1\n# keep\n" MASTERCF_DISABLED_PREFIX "25        inet  n - y - - smtpd\n"
		      MASTERCF_DISABLED_PREFIX "  -o b=2\n" SMTP);
	assert_int_equal(mastercf_count(mf, "25", "inet"), 0);
	assert_int_equal(mastercf_disable(mf, "25", "inet"), 0);	/* none left: no change */
	assert_int_equal(mastercf_disable(mf, "smtp", "inet"), 0);
	assert_int_equal(mastercf_service_count(mf), 0);
	assert_render(mf, MASTERCF_DISABLED_PREFIX SMTP MASTERCF_DISABLED_PREFIX "  -o a=1\n# keep\n"
		      MASTERCF_DISABLED_PREFIX "25        inet  n - y - - smtpd\n"
		      MASTERCF_DISABLED_PREFIX "  -o b=2\n" MASTERCF_DISABLED_PREFIX SMTP);
	mastercf_free(mf);
}

static void test_errors(void **state)
{
	(void)state;
	assert_parse_error("smtp inet n - n - smtpd\n",
			   "line 1: service entry has 7 fields, expected at least 8 "
			   "(service type private unpriv chroot wakeup maxproc command)");
	assert_parse_error("\n  -o a=b\n", "line 2: continuation line without a preceding service entry");
	assert_parse_error("smtp inet n - n -1 - smtpd\n", "line 1: bad wakeup field \"-1\"");
	assert_parse_error("smtp inet n - n - x smtpd\n", "line 1: bad maxproc field \"x\"");
	assert_parse_error("smtp inet n maybe n - - smtpd\n", "line 1: bad unpriv field \"maybe\"");
	assert_parse_error("smtp inet n - n - -\n\n  \x02\n", "line 3: control character 0x02");
}

/* postconf -M lists the same entries (and duplicates) as mastercf, and
 * postconf -P the same effective -o values. */
static size_t check_with_postconf(const char *postconf, const char *file)
{
	char tmpl[] = "/tmp/mastercf-test.XXXXXX", *dir = mkdtemp(tmpl);
	char *text, *out = NULL, *errout = NULL, *save = NULL, *line, *p;
	struct mastercf *mf = NULL;
	struct mastercf_service s;
	char *err = NULL;
	size_t len, i, entries = 0, opts = 0;
	int rc;

	assert_non_null(dir);
	text = tu_read_case("mastercf", file, &len);
	if (mastercf_parse(text, len, &mf, &err) < 0)
		fail_msg("%s: %s", file, err);
	tu_write_file(dir, "master.cf", text, len);
	tu_write_file(dir, "main.cf", "", 0);
	{
		char *argv[] = { (char *)postconf, (char *)"-c", dir, (char *)"-M", NULL };
		rc = tu_run_str(argv, &out, &errout);
	}
	if (rc != 0)
		fail_msg("%s: postconf -M failed (%d): %s", file, rc, errout);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256], type[64];

		if (sscanf(line, "%255s %63s", name, type) != 2)
			fail_msg("%s: unexpected postconf -M output: %s", file, line);
		entries++;
		if (mastercf_count(mf, name, type) == 0)
			fail_msg("%s: postconf has %s/%s, mastercf does not", file, name, type);
	}
	if (entries != mastercf_service_count(mf))
		fail_msg("%s: postconf -M shows %zu entries, mastercf %zu", file, entries,
			 mastercf_service_count(mf));
	/* after the edits no (service, type) may appear twice */
	if (strstr(file, "expected"))
		for (i = 0; i < mastercf_service_count(mf); i++) {
			assert_int_equal(mastercf_service_at(mf, i, &s), 0);
			if (mastercf_count(mf, s.name, s.type) != 1)
				fail_msg("%s: %s/%s is defined twice", file, s.name, s.type);
		}
	free(out);
	free(errout);
	{
		char *argv[] = { (char *)postconf, (char *)"-c", dir, (char *)"-P", NULL };
		rc = tu_run_str(argv, &out, &errout);
	}
	assert_int_equal(rc, 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *s1 = strchr(line, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
		char *eq = s2 ? strstr(s2, " = ") : NULL;
		const char *v;

		if (!eq)
			fail_msg("%s: unexpected postconf -P output: %s", file, line);
		*s1 = *s2 = *eq = 0;
		if (mastercf_count(mf, line, s1 + 1) != 1)
			continue;	/* postconf -P merges duplicates its own way */
		assert_int_equal(mastercf_get_option(mf, line, s1 + 1, s2 + 1, &v), 0);
		if (!v || strcmp(v, eq + 3) != 0)
			fail_msg("%s: %s/%s/%s: mastercf \"%s\", postconf \"%s\"", file, line, s1 + 1,
				 s2 + 1, v ? v : "(absent)", eq + 3);
		opts++;
	}
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
	mastercf_free(mf);
	return opts;
}

static void test_postconf_agrees(void **state)
{
	static const char *const files[] = {
		"001-debian-dist-roundtrip/input", "002-debian-add-submission/expected",
		"003-seed-duplicate-smtp-keep-first/input",
		"003-seed-duplicate-smtp-keep-first/expected",
		"004-seed-duplicate-smtp-keep-last/expected",
		"005-options-inline-attached/input", "005-options-inline-attached/expected",
		"006-comments-inside-entry/input", "006-comments-inside-entry/expected",
		"008-postfix3-braces/input", "008-postfix3-braces/expected",
		"009-crlf-no-trailing-newline/expected", "010-el7-packaged-submission/input",
		"010-el7-packaged-submission/expected", "011-unset-option/expected",
		"012-fields-on-continuation/expected", "013-set-field/expected",
		"014-add-service-at-end/expected",
		"030-postscreen-debian/input", "030-postscreen-debian/expected",
		"031-postscreen-stale-limits/expected", "032-postscreen-no-pass/expected",
		"033-bound-listener/expected", "034-bound-listeners-several/input",
		"034-bound-listeners-several/expected", "035-postscreen-bound/expected",
		"036-continuation-lines/input", "036-continuation-lines/expected",
		"037-endpoint-duplicates/expected", "039-postscreen-el7-packaged/expected",
	};
	const char *postconf = tu_find_tool("postconf");
	size_t i, opts = 0;

	(void)state;
	if (!postconf) {
		printf("NOTE: postconf not installed: postconf -M/-P cross-check skipped\n");
		skip();
	}
	for (i = 0; i < ARRAY_SIZE(files); i++)
		opts += check_with_postconf(postconf, files[i]);
	assert_true(opts >= 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_and_options),
		cmocka_unit_test(test_add_dedupe),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_inet_endpoint),
		cmocka_unit_test(test_disable),
		cmocka_unit_test(test_postconf_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
