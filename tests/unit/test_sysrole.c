/*
 * test_sysrole.c - unit tests for the re-run as a system service
 * (installer/sysrole.c): the role read from a context, and the systemd-run
 * command line.  Whether the policy refuses a role is the kernel's answer:
 * tests/vm/guest.sh (make check-vm) sees the re-run on an enforcing host.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sysrole.h"
#include "util.h"

static void test_role_of(void **state)
{
	char r[16];
	(void)state;
	assert_int_equal(sysrole_role_of("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023", r, sizeof(r)), 0);
	assert_string_equal(r, "unconfined_r");
	assert_int_equal(sysrole_role_of("system_u:system_r:initrc_t", r, sizeof(r)), 0);
	assert_string_equal(r, "system_r");
	/* no role, an empty one, one that does not fit */
	assert_int_equal(sysrole_role_of("kernel", r, sizeof(r)), -EINVAL);
	assert_int_equal(sysrole_role_of("u:", r, sizeof(r)), -EINVAL);
	assert_int_equal(sysrole_role_of("u::t", r, sizeof(r)), -EINVAL);
	assert_int_equal(sysrole_role_of("u:a_role_longer_than_16:t", r, sizeof(r)), -EINVAL);
	assert_int_equal(sysrole_role_of(NULL, r, sizeof(r)), -EINVAL);
}

static void test_argv(void **state)
{
	char *argv[] = { "mailstage", "-c", "./my.conf", "apply", NULL };
	char *env[] = { "PATH=/bin", "LANG=ja_JP.UTF-8", "LC_MESSAGES=C", "HOME=/root", "MAILSTAGE_TEST_NOW=5",
			"MAILSTAGE_SYSROLE=1", "LANGUAGEX=no", NULL };
	static const char *const want[] = {
		"systemd-run", "--quiet", "--wait", "--collect", "--unit=mailstage-sysrole-7.service",
		"--description=mailstage (as a system service: the SELinux role system_r)",
		"--working-directory=/root/work",
		"--property=StandardOutput=file:/run/mailstage-sysrole.abc/out",
		"--property=StandardError=file:/run/mailstage-sysrole.abc/err",
		"--setenv=LANG=ja_JP.UTF-8", "--setenv=LC_MESSAGES=C", "--setenv=MAILSTAGE_TEST_NOW=5",
		"--setenv=MAILSTAGE_SYSROLE=1",
		"--", "/usr/sbin/mailstage", "-c", "./my.conf", "apply",
	};
	struct strv a;
	size_t i;
	(void)state;

	sysrole_argv(&a, "/usr/sbin/mailstage", "/root/work", "mailstage-sysrole-7.service", "/run/mailstage-sysrole.abc", 4,
		     argv, env);
	for (i = 0; i < a.n && i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(a.v[i], want[i]);
	assert_int_equal(a.n, sizeof(want) / sizeof(want[0]));
	assert_null(a.v[a.n]);
	strv_free(&a);
}

/* Another root than the live host's: nothing to do, whatever SELinux says here. */
static void test_other_root(void **state)
{
	char *argv[] = { "mailstage", "--root", "/srv/t", "apply", NULL };
	(void)state;
	assert_int_equal(sysrole_reexec_if_needed("/srv/t", 4, argv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_of),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_other_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
