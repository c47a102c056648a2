/*
 * test_services.c - parsing of `systemctl show` output in the services
 * stage, as systemd 219 (EL7) prints it.
 *
 * systemd 219 has no `systemctl show --value` (added in 230, systemd NEWS
 * "CHANGES WITH 230"): every property comes as a NAME=value line, one block
 * per unit, blocks separated by an empty line.  systemd 219 itself cannot
 * run here (Debian 12 has 252); the texts below are what its
 * `systemctl show -p ...` prints.  The argv of every systemctl call is
 * checked against 219's options and verbs in
 * tests/integration/53-services-el7.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "steps.h"
#include "util.h"

static void want_value(const char *text, const char *key, const char *want)
{
	char *v = services_show_value(text, strlen(text), key);
	assert_string_equal(v, want);
	free(v);
}

static void test_show_value(void **state)
{
	/* `systemctl show -p LoadState postfix.service` after `yum remove postfix` */
	static const char gone[] = "LoadState=not-found\n";
	/* `systemctl show -p Id -p LoadState -p ActiveState -p UnitFileState postfix.service` */
	static const char block[] = "Id=postfix.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n";
	(void)state;

	want_value(gone, "LoadState", "not-found");
	want_value(block, "Id", "postfix.service");
	want_value(block, "LoadState", "loaded");
	want_value(block, "ActiveState", "active");
	want_value(block, "UnitFileState", "enabled");
	/* A key that is a prefix of another is not confused with it. */
	want_value("LoadStateX=1\nLoadState=masked\n", "LoadState", "masked");
	/* Absent, empty value, no trailing newline, CR-free value kept whole. */
	want_value(block, "SubState", "");
	want_value("UnitFileState=\n", "UnitFileState", "");
	want_value("ActiveState=failed", "ActiveState", "failed");
	/* Only the given block is read (the length bounds it). */
	{
		static const char two[] = "Id=a.service\nLoadState=loaded\n\nId=b.service\nLoadState=not-found\n";
		char *v = services_show_value(two, strlen("Id=a.service\nLoadState=loaded\n"), "LoadState");
		assert_string_equal(v, "loaded");
		free(v);
	}
	/* The bare value `show --value` would print is not NAME=value: not taken for one. */
	want_value("not-found\n", "LoadState", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
