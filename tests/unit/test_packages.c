/*
 * test_packages.c - the package manager commands of the packages stage and
 * the parsing of their history tables.
 *
 * yum (EL7) cannot run on this Debian machine (it is not packaged), so the
 * exact argv mailstage gives it is checked here, every option against the
 * options yum 3.4.3 (CentOS 7) defines, and its `history undo --assumeno`
 * output is parsed here in yum 3's table format; dnf runs for real in
 * tests/integration/51-dnf-packages.sh and apt in
 * tests/integration/50-container-packages-services.sh and 58-pristine-host.sh.
 * Also: the age of apt's package lists, the debconf answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include <cmocka.h>

#include "exec.h"
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

/*
 * The long options yum 3.4.3 defines (yum/cli.py YumOptionParser, CentOS 7's
 * yum-3.4.3): -y/--assumeyes, --assumeno, --installroot, --setopt, among
 * others; `--setopt=skip_missing_names_on_install=False` names the option
 * RHEL 7's yum added (BZ-1274211; older yum only warns about an unknown
 * setopt).  Every option mailstage gives yum must be one of them.
 */
static const char *const yum343_options[] = {
	"-y", "--assumeyes", "--assumeno", "--installroot", "--setopt", "-q", "--quiet", "-C",
	"--cacheonly", "--enablerepo", "--disablerepo", "--nogpgcheck", "--releasever", "--skip-broken",
	NULL
};

static void expect_yum_options(char **argv)
{
	size_t i, j;
	for (i = 1; argv[i]; i++) {
		size_t n = strcspn(argv[i], "=");
		int known = argv[i][0] != '-';
		for (j = 0; !known && yum343_options[j]; j++)
			known = strlen(yum343_options[j]) == n && strncmp(argv[i], yum343_options[j], n) == 0;
		if (!known)
			fail_msg("yum 3.4.3 has no option %s", argv[i]);
	}
}

static void expect_yum(char **got, const char *want)
{
	expect_yum_options(got);
	expect_argv(got, want);
}

static void test_yum_argv(void **state)
{
	(void)state;
	/* EL7: an unknown name must fail the install, not be skipped with exit 0 (E3) */
	expect_yum(packages_command(PKG_YUM, "", "install", "postfix mailx cyrus-sasl"),
		   "yum -y --setopt=skip_missing_names_on_install=False install postfix mailx cyrus-sasl");
	expect_yum(packages_command(PKG_YUM, "/srv/el7", "install", "opendkim"),
		   "yum -y --installroot=/srv/el7 --setopt=skip_missing_names_on_install=False install opendkim");
	/* Undo: the run's own transaction, by ID. */
	expect_yum(packages_command(PKG_YUM, "", "history undo", "7"), "yum -y history undo 7");
	expect_yum(packages_command(PKG_YUM, "", "history list", ""), "yum -y history list");
	/* dnf fails on an unknown name by itself (strict=True): no setopt */
	expect_argv(packages_command(PKG_DNF, "", "install", "postfix"), "dnf -y install postfix");
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

/*
 * `yum history undo 5 --assumeno` on CentOS 7 when a package installed
 * later depends on what transaction 5 installed: yum 3's table (output.py
 * listTransaction: "Removing", "Removing for dependencies"), then "Exiting
 * on user command".  A wrapped row (long name) continues indented.
 */
static const char yum_undo[] =
	"Loaded plugins: fastestmirror\n"
	"Undoing transaction 5, from Wed Jan 10 10:12:00 2024\n"
	"    Dep-Install libopendkim-2.11.0-0.1.el7.x86_64 @epel\n"
	"    Install     opendkim-2.11.0-0.1.el7.x86_64    @epel\n"
	"Resolving Dependencies\n"
	"--> Running transaction check\n"
	"---> Package opendkim.x86_64 0:2.11.0-0.1.el7 will be erased\n"
	"--> Processing Dependency: opendkim for package: site-dkim-1.0-1.noarch\n"
	"--> Finished Dependency Resolution\n"
	"\n"
	"Dependencies Resolved\n"
	"\n"
	"================================================================================\n"
	" Package                   Arch        Version              Repository    Size\n"
	"================================================================================\n"
	"Removing:\n"
	" libopendkim               x86_64      2.11.0-0.1.el7       @epel        129 k\n"
	" opendkim                  x86_64      2.11.0-0.1.el7       @epel        253 k\n"
	"Removing for dependencies:\n"
	" site-dkim                 noarch      1.0-1                installed      0  \n"
	" a-very-long-package-name-that-wraps-the-column\n"
	"                           noarch      2:1.0-1.el7          installed      0  \n"
	"\n"
	"Transaction Summary\n"
	"================================================================================\n"
	"Remove  2 Packages (+2 Dependent packages)\n"
	"\n"
	"Installed size: 382 k\n"
	"Exiting on user command\n";

/* dnf 4.14 (measured here): the undo refuses instead of removing the dependent. */
static const char dnf_undo_refused[] =
	"Last metadata expiration check: 0:00:04 ago on Tue Dec  1 21:19:36 2026.\n"
	"Error: \n"
	" Problem: problem with installed package b-1.0-1.noarch\n"
	"  - package b-1.0-1.noarch requires aa, but none of the providers can be installed\n"
	"  - conflicting requests\n"
	"(try to add '--skip-broken' to skip uninstallable packages)\n";

/* dnf 4 with nothing depending: only "Removing:", then the abort. */
static const char dnf_undo_plain[] =
	"Dependencies resolved.\n"
	"================================================================================\n"
	" Package          Architecture    Version            Repository           Size\n"
	"================================================================================\n"
	"Removing:\n"
	" aa               noarch          1.0-1              @local                6  \n"
	" liba             noarch          1.0-1              @local                6  \n"
	"\n"
	"Transaction Summary\n"
	"================================================================================\n"
	"Remove  2 Packages\n"
	"\n"
	"Freed space: 12  \n"
	"Operation aborted.\n";

/* `yum history info 5` (yum 3.4.3's format: action, NEVRA, repository). */
static const char yum_info[] =
	"Loaded plugins: fastestmirror\n"
	"Transaction ID : 5\n"
	"Begin time     : Wed Jan 10 10:12:00 2024\n"
	"User           : root <root>\n"
	"Return-Code    : Success\n"
	"Command Line   : -y install opendkim\n"
	"Transaction performed with:\n"
	"    Installed     rpm-4.11.3-45.el7.x86_64          @base\n"
	"    Installed     yum-3.4.3-168.el7.centos.noarch   @base\n"
	"Packages Altered:\n"
	"    Dep-Install libopendkim-2.11.0-0.1.el7.x86_64 @epel\n"
	"    Install     opendkim-2.11.0-0.1.el7.x86_64    @epel\n"
	"history info\n";

/* `dnf history info 2` of dnf 4.14 (measured here). */
static const char dnf_info[] =
	"Transaction ID : 2\n"
	"Return-Code    : Success\n"
	"Command Line   : -y -q --installroot=/r install aa a\n"
	"Comment        : \n"
	"Packages Altered:\n"
	"    Install a-1.0-1.noarch    @local\n"
	"    Install aa-1.0-1.noarch   @local\n"
	"    Install liba-1:1.0-1.noarch @local\n";

/* dnf 4.14 undoing transaction 2: its own dependency liba is listed as "dependent". */
static const char dnf_undo_own[] =
	"Dependencies resolved.\n"
	"Removing:\n"
	" a                noarch             1.0-1             @local               2  \n"
	" aa               noarch             1.0-1             @local               3  \n"
	"Removing dependent packages:\n"
	" liba             noarch             1.0-1             @local               5  \n"
	"\n"
	"Transaction Summary\n"
	"Remove  3 Packages\n"
	"Operation aborted.\n";

static char *joined(const struct strv *v)
{
	struct buf b = { 0 };
	size_t i;
	buf_puts(&b, "");
	for (i = 0; i < v->n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", v->v[i]);
	return buf_steal(&b);
}

static void expect_installed(const char *info, const char *want)
{
	struct strv got = { 0 };
	char *s;
	packages_history_installed(info, &got);
	s = joined(&got);
	assert_string_equal(s, want);
	free(s);
	strv_free(&got);
}

static void expect_others(const char *text, const char *info, const char *want)
{
	struct strv ours = { 0 }, got = { 0 };
	char *s;
	packages_history_installed(info, &ours);
	packages_undo_others(text, &ours, &got);
	s = joined(&got);
	assert_string_equal(s, want);
	free(s);
	strv_free(&ours);
	strv_free(&got);
}

static void test_undo_dependents(void **state)
{
	(void)state;
	/* what the run's transaction installed (never the "Transaction performed with" tools) */
	expect_installed(yum_info, "libopendkim opendkim");
	expect_installed(dnf_info, "a aa liba");
	expect_installed("", "");
	/* yum 3 would remove the later dependents too: they are named */
	expect_others(yum_undo, yum_info, "site-dkim a-very-long-package-name-that-wraps-the-column");
	/* dnf refuses: the package it names */
	expect_others(dnf_undo_refused, dnf_info, "b");
	/* only the run's own packages (dnf calls its dependency "dependent"): nothing to name */
	expect_others(dnf_undo_own, dnf_info, "");
	expect_others(dnf_undo_plain, dnf_info, "");
	expect_others("", dnf_info, "");
	/* the same output without knowing what the run installed: everything is someone else's */
	expect_others(dnf_undo_own, "", "a aa liba");
	/* "Installing for dependencies" is not a removal */
	expect_others("Installing for dependencies:\n libx x86_64 1-1 base 1 k\n", "", "");
}

/* mkdir -p */
static int mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *q;
	int r = 0;
	for (q = p + 1; *q && r == 0; q++)
		if (*q == '/') {
			*q = 0;
			if (mkdir(p, mode) < 0 && access(p, F_OK) < 0)
				r = -1;
			*q = '/';
		}
	if (r == 0 && mkdir(p, mode) < 0 && access(p, F_OK) < 0)
		r = -1;
	free(p);
	return r;
}

/* Create the file if missing (a directory must exist), and set its mtime. */
static void touch_at(const char *path, time_t t)
{
	struct utimbuf u = { t, t };
	struct stat sb;
	if (stat(path, &sb) < 0) {
		FILE *f = fopen(path, "a");
		assert_non_null(f);
		fclose(f);
	}
	assert_int_equal(utime(path, &u), 0);
}

static void test_apt_lists_age(void **state)
{
	char dir[] = "/tmp/mailstage-lists-XXXXXX", *p;
	time_t now = 1700000000;
	(void)state;
	assert_non_null(mkdtemp(dir));
	/* No /var/lib/apt/lists at all, then an empty one (partial/ and lock only): no lists. */
	assert_int_equal(packages_apt_lists_age(dir, now), -1);
	p = xasprintf("%s/var/lib/apt/lists/partial", dir);
	assert_int_equal(mkdirs(p, 0755), 0);
	free(p);
	p = xasprintf("%s/var/lib/apt/lists/lock", dir);
	touch_at(p, now);
	free(p);
	assert_int_equal(packages_apt_lists_age(dir, now), -1);
	/* Lists fetched 3 days ago (the directory's mtime), one of them served as modified
	 * a year ago, one "in the future": apt gives lists the server's mtime, never used. */
	p = xasprintf("%s/var/lib/apt/lists/_srv_repo_._Packages", dir);
	touch_at(p, now - 365 * 86400);
	free(p);
	p = xasprintf("%s/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
		      dir);
	touch_at(p, now + 3600);
	free(p);
	p = xasprintf("%s/var/lib/apt/lists", dir);
	touch_at(p, now - 3 * 86400);
	free(p);
	assert_int_equal(packages_apt_lists_age(dir, now), 3 * 86400);
	/* apt's update stamp says an update ran an hour ago (it found nothing new). */
	p = xasprintf("%s/var/lib/apt/periodic", dir);
	assert_int_equal(mkdirs(p, 0755), 0);
	free(p);
	p = xasprintf("%s/var/lib/apt/periodic/update-success-stamp", dir);
	touch_at(p, now - 3600);
	free(p);
	assert_int_equal(packages_apt_lists_age(dir, now), 3600);
	{
		char *argv[] = { "rm", "-rf", dir, NULL };
		struct exec_result res;
		assert_int_equal(exec_run(argv, NULL, 10000, &res), 0);
		buf_free(&res.out);
	}
}

static void test_preseed(void **state)
{
	const struct profile *deb = profile_by_name("debian12"), *el7 = profile_by_name("el7");
	char *t;
	(void)state;
	t = packages_preseed_text(deb, "mail.example.com", "postfix opendkim sasl2-bin");
	assert_string_equal(t, "postfix postfix/main_mailer_type select Internet Site\n"
			    "postfix postfix/mailname string mail.example.com\n");
	free(t);
	/* postfix installed already: nothing to answer */
	t = packages_preseed_text(deb, "mail.example.com", "opendkim bsd-mailx");
	assert_string_equal(t, "");
	free(t);
	/* no debconf on EL */
	t = packages_preseed_text(el7, "mail.example.com", "postfix");
	assert_string_equal(t, "");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yum_argv),
		cmocka_unit_test(test_dnf_apt_argv),
		cmocka_unit_test(test_history_last),
		cmocka_unit_test(test_undo_dependents),
		cmocka_unit_test(test_apt_lists_age),
		cmocka_unit_test(test_preseed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
