/*
 * test_dkimconf.c - unit tests for the opendkim.conf editor, and a check of
 * edited files with the real `opendkim -n` when it is installed.
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
#include <sys/wait.h>
#include <unistd.h>

#include "dkimconf.h"
#include "testutil.h"
#include "util.h"

static struct dkimconf *parse_ok(const char *text)
{
	struct dkimconf *dc = NULL;
	char *err = NULL;

	if (dkimconf_parse(text, strlen(text), &dc, &err) < 0)
		fail_msg("parse failed: %s", err);
	return dc;
}

static void assert_render(const struct dkimconf *dc, const char *want)
{
	char *out = dkimconf_render(dc, NULL);

	assert_string_equal(out, want);
	free(out);
}

static void test_get_set(void **state)
{
	struct dkimconf *dc = parse_ok("## head\nMode\tv # verify\n#Domain\t\texample.org\n"
				       "socket  inet:1@localhost\nSOCKET inet:2@localhost\n");
	const char *owner;

	(void)state;
	assert_string_equal(dkimconf_get(dc, "mode"), "v");
	assert_string_equal(dkimconf_get(dc, "Socket"), "inet:2@localhost");
	assert_int_equal(dkimconf_count(dc, "socket"), 2);
	assert_null(dkimconf_get(dc, "Domain"));
	assert_non_null(dkimconf_line(dc, 1, NULL, &owner));
	assert_string_equal(owner, "Mode");
	assert_int_equal(dkimconf_set(dc, "Mode", "sv"), 0);
	assert_int_equal(dkimconf_set(dc, "Socket", "inet:8891@localhost"), 0);
	assert_int_equal(dkimconf_set(dc, "Domain", "example.com"), 0);
	assert_int_equal(dkimconf_set(dc, "Selector", "default"), 0);
	assert_render(dc, "## head\nMode\tsv # verify\n#Domain\t\texample.org\nDomain\t\texample.com\n"
		      "socket  inet:8891@localhost\n" DKIMCONF_DISABLED_PREFIX "SOCKET inet:2@localhost\n"
		      "Selector\tdefault\n");
	assert_int_equal(dkimconf_set(dc, "Mode", "s#v"), -EINVAL);
	assert_int_equal(dkimconf_set(dc, "Mode", ""), -EINVAL);
	assert_int_equal(dkimconf_set(dc, "Mo de", "s"), -EINVAL);
	assert_int_equal(dkimconf_set(dc, "Mode", "s\n"), -EINVAL);
	assert_int_equal(dkimconf_unset(dc, "domain"), 0);
	assert_null(dkimconf_get(dc, "Domain"));
	dkimconf_free(dc);
}

static void test_errors(void **state)
{
	struct dkimconf *dc = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(dkimconf_parse("Mode v\nKeyFile # none\n", 22, &dc, &err), -EINVAL);
	assert_string_equal(err, "line 2: missing value for \"KeyFile\"");
	free(err);
	assert_int_equal(dkimconf_parse("Mode \0v\n", 8, &dc, &err), -EINVAL);
	assert_string_equal(err, "line 1: NUL byte");
	free(err);
	assert_int_equal(dkimconf_parse("\x1b[0m\n", 5, &dc, &err), -EINVAL);
	assert_string_equal(err, "line 1: control character 0x1b");
	free(err);
	assert_null(dc);
}


/* Edit a packaged file to sign with a freshly generated key and let the
 * real opendkim check it.  OpenDKIM refuses files below world-writable
 * directories (a checkout under /tmp is one), so the scratch directory
 * lives under /var/cache/mailstage-test (root's, 0755). */
static void check_signing_config(const char *opendkim, const char *genkey, const char *file)
{
	char tmpl[] = "/var/cache/mailstage-test/dkimconf.XXXXXX", *rel;
	mkdir("/var/cache/mailstage-test", 0755);
	rel = mkdtemp(tmpl);
	char *dir, *key, *hosts, *conf, *text, *out = NULL, *errout = NULL, *err = NULL;
	struct dkimconf *dc = NULL;
	size_t len;
	int rc;

	assert_non_null(rel);
	dir = realpath(rel, NULL);
	assert_non_null(dir);
	{
		char *argv[] = { (char *)genkey, (char *)"-D", dir, (char *)"-d",
				 (char *)"example.com", (char *)"-s", (char *)"default", NULL };
		rc = tu_run_str(argv, &out, &errout);
		if (rc != 0)
			fail_msg("opendkim-genkey failed: %s", errout);
		free(out);
		free(errout);
	}
	key = xasprintf("%s/default.private", dir);
	hosts = xasprintf("%s/hosts", dir);
	conf = xasprintf("%s/opendkim.conf", dir);
	tu_write_file(dir, "hosts", "127.0.0.1\n::1\n", 14);
	chmod(key, 0600);
	chmod(hosts, 0600);

	text = tu_read_case("dkimconf", file, &len);
	if (dkimconf_parse(text, len, &dc, &err) < 0)
		fail_msg("%s: %s", file, err);
	assert_int_equal(dkimconf_set(dc, "Mode", "sv"), 0);
	assert_int_equal(dkimconf_set(dc, "Socket", "inet:8891@localhost"), 0);
	assert_int_equal(dkimconf_set(dc, "Domain", "example.com"), 0);
	assert_int_equal(dkimconf_set(dc, "Selector", "default"), 0);
	assert_int_equal(dkimconf_set(dc, "KeyFile", key), 0);
	assert_int_equal(dkimconf_set(dc, "InternalHosts", hosts), 0);
	free(text);
	text = dkimconf_render(dc, &len);
	tu_write_file(dir, "opendkim.conf", text, len);
	{
		char *argv[] = { (char *)opendkim, (char *)"-n", (char *)"-x", conf, NULL };
		rc = tu_run_str(argv, &out, &errout);
	}
	if (rc != 0)
		fail_msg("%s: opendkim -n rejects the edited file (%d): %s", file, rc, errout);
	free(out);
	free(errout);

	/* a file this parser rejects is rejected by opendkim too */
	tu_write_file(dir, "opendkim.conf", "Syslog yes\nMode\n", 16);
	{
		char *argv[] = { (char *)opendkim, (char *)"-n", (char *)"-x", conf, NULL };
		rc = tu_run_str(argv, &out, &errout);
	}
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(errout, "line 2"));
	free(out);
	free(errout);

	unlink(conf);
	unlink(key);
	unlink(hosts);
	free(key);
	key = xasprintf("%s/default.txt", dir);
	unlink(key);
	rmdir(dir);
	free(key);
	free(hosts);
	free(conf);
	free(dir);
	free(text);
	dkimconf_free(dc);
}

static void test_opendkim_accepts(void **state)
{
	const char *t = tu_find_tool("opendkim");
	char *opendkim = t ? xstrdup(t) : NULL, *genkey;

	(void)state;
	t = tu_find_tool("opendkim-genkey");
	genkey = t ? xstrdup(t) : NULL;
	if (!opendkim || !genkey) {
		printf("NOTE: opendkim or opendkim-genkey not installed: opendkim -n check skipped\n");
		free(opendkim);
		free(genkey);
		skip();
	}
	check_signing_config(opendkim, genkey, "010-el7-packaged-mode-sv/input");
	check_signing_config(opendkim, genkey, "001-debian-roundtrip/input");
	check_signing_config(opendkim, genkey, "008-seed-guide-appended/input");
	free(opendkim);
	free(genkey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_set),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_opendkim_accepts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
