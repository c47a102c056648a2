/*
 * test_prim.c - the host primitives: what they write (content, owner from
 * the target's passwd, mode), what they refuse (escapes, symlinks,
 * directories), commands by argv with timeouts, failure injection, and
 * that the journal they leave undoes everything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prim.h"
#include "profile.h"
#include "testutil.h"

static char dir[64];
static struct root Root;
static struct state St;
static struct prim R;	/* what the primitives take: the root, the state, the journal */

static char *P(const char *rel)
{
	static char buf[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", dir, rel);
	return buf[i];
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(P(rel), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char *why = NULL;
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mailstage-prim.XXXXXX");
	assert_non_null(mkdtemp(dir));
	mkdir(P("/etc"), 0755);
	put("/etc/passwd", "root:x:0:0::/root:/bin/sh\nopendkim:x:4106:4111::/run/opendkim:/bin/false\n");
	put("/etc/group", "root:x:0:\nopendkim:x:4111:\n");
	put("/etc/existing.conf", "old\n");
	symlink("/etc/existing.conf", P("/etc/link.conf"));
	memset(&R, 0, sizeof(R));
	R.cmd = "apply";
	R.profile = profile_by_name("debian12")->name;
	R.root = &Root;
	R.st = &St;
	assert_int_equal(root_init(&Root, dir, &why), 0);
	assert_int_equal(state_open(&St, &Root, STATE_CREATE | STATE_LOCK, &why), 0);
	R.stage = "test";
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (R.jopen)
		journal_close(&R.j);
	state_close(&St);
	root_free(&Root);
	free(R.error);
	strv_free(&R.changed_paths);
	tu_rm_rf(dir);
	return 0;
}

static void test_write_new_file(void **state)
{
	struct stat sb;
	char *d = NULL;
	(void)state;
	assert_int_equal(prim_write_file(&R, "/etc/opendkim.key", "secret\n", 7, "opendkim", "opendkim", 0600), 0);
	assert_int_equal(stat(P("/etc/opendkim.key"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	if (geteuid() == 0) {
		assert_int_equal(sb.st_uid, 4106);	/* the target's opendkim, not the host's */
		assert_int_equal(sb.st_gid, 4111);
	}
	assert_int_equal(read_whole_file(P("/etc/opendkim.key"), &d, NULL), 0);
	assert_string_equal(d, "secret\n");
	free(d);
	assert_true(run_changed(&R, "/etc/opendkim.key"));
	assert_true(run_changed(&R, "/etc/"));
	assert_false(run_changed(&R, "/etc/postfix/"));
}

static void test_refusals(void **state)
{
	(void)state;
	assert_int_equal(prim_write_file(&R, "/etc/../../x", "x", 1, "root", "root", 0644), -EPERM);
	assert_non_null(strstr(R.error, "refusing"));
	assert_int_equal(prim_write_file(&R, "/etc/link.conf", "x", 1, "root", "root", 0644), -EEXIST);
	assert_non_null(strstr(R.error, "symlink"));
	assert_int_equal(prim_write_file(&R, "/etc", "x", 1, "root", "root", 0644), -EEXIST);
	assert_non_null(strstr(R.error, "directory"));
	assert_int_equal(prim_write_file(&R, "/etc/x.conf", "x", 1, "nobody-here", "root", 0644), -ENOENT);
	assert_non_null(strstr(R.error, "nobody-here"));
	assert_int_equal(access(P("/etc/x.conf"), F_OK), -1);
}

static void test_dir_attr_remove(void **state)
{
	struct stat sb;
	(void)state;
	assert_int_equal(prim_mkdir(&R, "/etc/keys", "opendkim", "opendkim", 0750), 0);
	assert_int_equal(stat(P("/etc/keys"), &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0750);
	assert_int_equal(prim_set_attr(&R, "/etc/existing.conf", "root", "opendkim", 0640), 0);
	assert_int_equal(stat(P("/etc/existing.conf"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	put("/etc/doomed.conf", "bye\n");
	assert_int_equal(prim_remove(&R, "/etc/doomed.conf"), 0);
	assert_int_equal(access(P("/etc/doomed.conf"), F_OK), -1);
}

static void test_commands(void **state)
{
	struct exec_result res;
	char *ok[] = { "true", NULL };
	char *bad[] = { "sh", "-c", "echo out-text; exit 3", NULL };
	char *missing[] = { "mailstage-no-such-program", NULL };
	char *slow[] = { "sleep", "5", NULL };
	(void)state;
	assert_int_equal(prim_run(&R, ok, NULL, 5000, &res), 0);
	buf_free(&res.out);
	assert_int_equal(prim_run(&R, bad, NULL, 5000, &res), -EIO);
	assert_int_equal(res.exit_code, 3);
	assert_non_null(strstr(R.error, "out-text"));	/* output shown on failure */
	buf_free(&res.out);
	assert_int_equal(prim_run(&R, missing, NULL, 5000, &res), -ENOENT);
	assert_non_null(strstr(R.error, "not installed"));
	buf_free(&res.out);
	assert_int_equal(prim_run(&R, slow, NULL, 200, &res), -ETIMEDOUT);
	assert_true(res.timed_out);
	buf_free(&res.out);
}

static void test_injected_failure_leaves_target(void **state)
{
	char *d = NULL, *log = xasprintf("%s/hooks.log", dir), line[256];
	FILE *f;
	unsigned n = 0;
	(void)state;
	/* Count the points so far, then fail the next one (a "write" point). */
	setenv("MAILSTAGE_HOOK_LOG", log, 1);
	assert_int_equal(prim_write_file(&R, "/etc/count.conf", "c\n", 2, "root", "root", 0644), 0);
	f = fopen(log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n = (unsigned)strtoul(line, NULL, 10);
	fclose(f);
	{
		char num[16];
		snprintf(num, sizeof(num), "%u", n + 2);	/* +1 write, +2 before-rename */
		setenv("MAILSTAGE_FAIL_AT", num, 1);
	}
	assert_int_equal(prim_write_file(&R, "/etc/existing.conf", "new\n", 4, "root", "root", 0644), -EIO);
	assert_non_null(strstr(R.error, "injected"));
	unsetenv("MAILSTAGE_FAIL_AT");
	unsetenv("MAILSTAGE_HOOK_LOG");
	assert_int_equal(read_whole_file(P("/etc/existing.conf"), &d, NULL), 0);
	assert_string_equal(d, "old\n");	/* the target is untouched ... */
	free(d);
	{	/* ... and no temporary file is left beside it */
		char *argv[] = { "find", P("/etc"), "-name", ".*mailstage-*", NULL };
		struct exec_result res;
		assert_int_equal(exec_run(argv, NULL, 5000, &res), 0);
		assert_string_equal(res.out.data, "");
		buf_free(&res.out);
	}
	free(log);
}

static void expect_escape_refused(const char *path)
{
	char *host = NULL, *why = NULL;
	assert_int_equal(root_path(&Root, path, &host, &why), -EPERM);
	assert_non_null(strstr(why, "outside the root"));
	free(why);
}

static void expect_inside(const char *path)
{
	char *host = NULL, *why = NULL;
	assert_int_equal(root_path(&Root, path, &host, &why), 0);
	assert_string_equal(host, P(path));
	free(host);
}

/*
 * root_path() remembers verified directories for the run (root.c); every
 * change mailstage makes must make it look again: here a command (a package
 * manager could do the same) replaces a directory by a symlink that climbs
 * out, and a new mode lets others replace what is below a directory.
 */
static void test_changes_forget_verified_dirs(void **state)
{
	struct exec_result res;
	char *sw = xasprintf("cd %s/etc/cmd && mv d d.old && ln -s ../../../../../../tmp d", dir);
	char *swap[] = { "sh", "-c", sw, NULL };
	(void)state;
	assert_int_equal(mkdir(P("/etc/cmd"), 0755), 0);
	assert_int_equal(mkdir(P("/etc/cmd/d"), 0755), 0);
	expect_inside("/etc/cmd/d/f");
	assert_int_equal(prim_run(&R, swap, NULL, 5000, &res), 0);
	buf_free(&res.out);
	expect_escape_refused("/etc/cmd/d/f");
	free(sw);

	assert_int_equal(mkdir(P("/etc/shared"), 0755), 0);
	assert_int_equal(mkdir(P("/etc/shared/d"), 0755), 0);
	expect_inside("/etc/shared/d/f");
	assert_int_equal(prim_set_attr(&R, "/etc/shared", "root", "root", 01777), 0);
	/* Now anyone may swap d, and does: the next resolution must see it. */
	assert_int_equal(rename(P("/etc/shared/d"), P("/etc/shared/d.old")), 0);
	assert_int_equal(symlink("../../../../../../tmp", P("/etc/shared/d")), 0);
	expect_escape_refused("/etc/shared/d/f");
}

static void test_undo_everything(void **state)
{
	unsigned undone = 0, no = R.j.run_no;
	struct stat sb;
	char *d = NULL;
	(void)state;
	journal_end(&R.j, "ok");
	journal_close(&R.j);
	R.jopen = 0;
	assert_int_equal(journal_undo(R.st, no, &undone), 0);
	assert_true(undone >= 6);
	assert_int_equal(access(P("/etc/opendkim.key"), F_OK), -1);
	assert_int_equal(access(P("/etc/keys"), F_OK), -1);
	assert_int_equal(read_whole_file(P("/etc/doomed.conf"), &d, NULL), 0);
	assert_string_equal(d, "bye\n");
	free(d);
	assert_int_equal(stat(P("/etc/existing.conf"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_new_file),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_dir_attr_remove),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_injected_failure_leaves_target),
		cmocka_unit_test(test_changes_forget_verified_dirs),
		cmocka_unit_test(test_undo_everything),
	};
	umask(022);
	return cmocka_run_group_tests(tests, setup, teardown);
}
