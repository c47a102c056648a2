/*
 * test_packages.c - the package manager commands of the packages stage and
 * the parsing of their history tables.
 *
 * yum (EL7) cannot run on this Debian machine (it is not packaged), so the
 * exact argv mailstage gives it is checked here; dnf runs for real in
 * tests/integration/51-dnf-packages.sh and apt in
 * tests/integration/50-container-packages-services.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "steps.h"
#include "util.h"

static void expect_argv(char **got, const char *want)
{
	char *disp = argv_display(got);
	size_t i;
	assert_string_equal(disp, want);
	free(disp);
	for (i = 0; got[i]; i++)
		free(got[i]);
	free(got);
}

static void test_yum_argv(void **state)
{
	(void)state;
	expect_argv(packages_command(PKG_YUM, "", "install", "postfix mailx cyrus-sasl"),
		    "yum -y install postfix mailx cyrus-sasl");
	expect_argv(packages_command(PKG_YUM, "/srv/el7", "install", "opendkim"),
		    "yum -y --installroot=/srv/el7 install opendkim");
	/* Undo: the run's own transaction, by ID. */
	expect_argv(packages_command(PKG_YUM, "", "history undo", "7"), "yum -y history undo 7");
	expect_argv(packages_command(PKG_YUM, "", "history list", ""), "yum -y history list");
}

static void test_dnf_apt_argv(void **state)
{
	(void)state;
	expect_argv(packages_command(PKG_DNF, "/r", "install", "postfix s-nail"),
		    "dnf -y --installroot=/r install postfix s-nail");
	expect_argv(packages_command(PKG_APT, "", "install", "postfix opendkim"),
		    "env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Options::=--force-confdef "
		    "-o Dpkg::Options::=--force-confold install postfix opendkim");
	expect_argv(packages_command(PKG_APT, "", "purge", "postfix libopendkim11"),
		    "env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Options::=--force-confdef "
		    "-o Dpkg::Options::=--force-confold purge postfix libopendkim11");
}

/* `yum history list` of yum 3.4.3 (CentOS 7), as printed there. */
static const char yum_history[] =
	"Loaded plugins: fastestmirror\n"
	"ID     | Login user               | Date and time    | Action(s)      | Altered\n"
	"-------------------------------------------------------------------------------\n"
	"    12 | root <root>              | 2024-01-10 10:12 | Install        |    6   \n"
	"     2 | root <root>              | 2024-01-10 10:00 | I, U           |   20 EE\n"
	"     1 | System <unset>           | 2023-12-01 09:00 | Install        |  300   \n"
	"history list\n";

/* `dnf history list` of dnf 4. */
static const char dnf_history[] =
	"ID     | Command line                                   | Date and time    | Action(s)      | Altered\n"
	"---------------------------------------------------------------------------------------------------\n"
	"     3 | -y --installroot=/r history undo 2             | 2024-05-01 10:02 | Removed        |    7\n"
	"     2 | -y --installroot=/r install s-nail cyrus-sasl  | 2024-05-01 10:01 | Install        |    7\n"
	"     1 | -y -q --installroot=/r install test-release    | 2024-05-01 10:00 | Install        |    2\n";

static void test_history_last(void **state)
{
	(void)state;
	assert_int_equal(packages_history_last(yum_history), 12);
	assert_int_equal(packages_history_last(dnf_history), 3);
	assert_int_equal(packages_history_last("No transactions\n"), 0);
	assert_int_equal(packages_history_last(""), 0);
	/* A number not followed by a column bar is not a transaction. */
	assert_int_equal(packages_history_last("2024 packages\n"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yum_argv),
		cmocka_unit_test(test_dnf_apt_argv),
		cmocka_unit_test(test_history_last),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
