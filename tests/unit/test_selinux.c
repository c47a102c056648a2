/*
 * test_selinux.c - where the selinux stage looks for the policy store:
 * store-root= of semanage.conf as libsemanage's conf-parse.y reads it
 * (top level only, not inside a [NAME] ... [end] block).  Without one the
 * profile's default applies (el7 /etc/selinux: RHEL 7's patched libsemanage
 * 2.5; others /var/lib/selinux), checked in tests/integration/62-selinux.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile.h"
#include "util.h"
#include "steps.h"

static void want(const char *text, const char *root)
{
	char *got = selinux_conf_store_root(text);
	if (!root)
		assert_null(got);
	else
		assert_string_equal(got, root);
	free(got);
}

static void test_store_root(void **state)
{
	/* Shaped like EL7's /etc/selinux/semanage.conf (libsemanage 2.5): no store-root. */
	static const char el7[] =
		"# Authors: Jason Tang <jtang@tresys.com>\n"
		"module-store = direct\n"
		"expand-check=0\n"
		"usepasswd=False\n"
		"bzip-small=true\n"
		"bzip-blocksize=5\n"
		"ignoredirs=/root\n";
	(void)state;
	want(el7, NULL);
	want("store-root = /etc/selinux\n", "/etc/selinux");
	want("module-store = direct\nstore-root=/srv/store   # a comment\n", "/srv/store");
	want("  store-root\t=\t/x\n", "/x");
	want("# store-root = /commented\n", NULL);
	want("store-rootx = /no\n", NULL);
	want("store-root =\n", NULL);
	/* Inside a block it is the block's, not the store's. */
	want("[verify kernel]\nstore-root = /inblock\n[end]\n", NULL);
	want("[verify kernel]\npath = /bin/true\n[end]\nstore-root = /after\n", "/after");
	want("store-root = /last", "/last");
}

/* /etc/selinux/config as both the runner (the profile's SELinux variant) and the stage read it. */
static void test_config_value(void **state)
{
	const char *cfg = "# SELINUX=disabled\n  SELINUX=enforcing # on\nSELINUXTYPE=default\r\nSELINUX=disabled\n";
	char *v;

	(void)state;
	v = conf_value(cfg, "SELINUX");
	assert_string_equal(v, "enforcing");	/* the first line that sets it, as libselinux reads it */
	free(v);
	v = conf_value(cfg, "SELINUXTYPE");
	assert_string_equal(v, "default");
	free(v);
	assert_null(conf_value(cfg, "SELINUXTYP"));
	assert_null(conf_value("", "SELINUX"));
}

static void test_profile_defaults(void **state)
{
	(void)state;
	assert_string_equal(profile_by_name("el7")->selinux_store_root, "/etc/selinux");
	assert_string_equal(profile_by_name("el8")->selinux_store_root, "/var/lib/selinux");
	assert_string_equal(profile_by_name("el9")->selinux_store_root, "/var/lib/selinux");
	assert_string_equal(profile_by_name("debian12")->selinux_store_root, "/var/lib/selinux");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_root),
		cmocka_unit_test(test_config_value),
		cmocka_unit_test(test_profile_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
