/*
 * test_root.c - path confinement inside --root and user/group lookups in
 * the target's own /etc/passwd and /etc/group.
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

#include "root.h"
#include "testutil.h"
#include "util.h"

static char dir[64];
static struct root R;

static void put(const char *rel, const char *text)
{
	char *p = xasprintf("%s%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void mk(const char *rel)
{
	char *p = xasprintf("%s%s", dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static void ln(const char *target, const char *rel)
{
	char *p = xasprintf("%s%s", dir, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static int setup(void **state)
{
	char *why = NULL;
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mailstage-root.XXXXXX");
	assert_non_null(mkdtemp(dir));
	mk("/etc");
	mk("/etc/postfix");
	mk("/usr");
	mk("/usr/share");
	mk("/usr/share/real");
	ln("/usr/share/real", "/etc/abs");		/* absolute: re-rooted */
	ln("../usr/share/real", "/etc/rel");		/* relative, stays inside */
	ln("../../../../../../tmp", "/etc/escape");	/* climbs out */
	ln("/etc/loop2", "/etc/loop1");
	ln("/etc/loop1", "/etc/loop2");
	put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nopendkim:x:106:111::/run/opendkim:/usr/sbin/nologin\n"
			   "broken-line\n");
	put("/etc/group", "root:x:0:\nopendkim:x:111:postfix\n");
	assert_int_equal(root_init(&R, dir, &why), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	root_free(&R);
	tu_rm_rf(dir);
	return 0;
}

static void expect_path(const char *path, const char *want_rel)
{
	char *host = NULL, *why = NULL, *want = xasprintf("%s%s", dir, want_rel);
	int r = root_path(&R, path, &host, &why);
	if (r != 0)
		fail_msg("%s: %s", path, why);
	assert_string_equal(host, want);
	free(host);
	free(want);
	free(why);
}

static void expect_refused(const char *path, int err, const char *needle)
{
	char *host = NULL, *why = NULL;
	assert_int_equal(root_path(&R, path, &host, &why), err);
	assert_null(host);
	assert_non_null(why);
	if (!strstr(why, needle))
		fail_msg("message \"%s\" lacks \"%s\"", why, needle);
	free(why);
}

static void test_plain_paths(void **state)
{
	(void)state;
	expect_path("/etc/postfix/main.cf", "/etc/postfix/main.cf");
	expect_path("/etc//postfix/./main.cf", "/etc/postfix/main.cf");
	expect_path("/var/lib/missing/dir/file", "/var/lib/missing/dir/file");	/* missing parts are fine */
}

static void test_symlinks_inside(void **state)
{
	(void)state;
	expect_path("/etc/abs/file", "/usr/share/real/file");	/* absolute target taken inside the root */
	expect_path("/etc/rel/file", "/usr/share/real/file");
	expect_path("/etc/abs", "/etc/abs");			/* the last component is never followed */
}

static void test_escapes_refused(void **state)
{
	(void)state;
	expect_refused("/etc/../../etc/shadow", -EPERM, "\"..\"");
	expect_refused("/etc/postfix/../main.cf", -EPERM, "\"..\"");
	expect_refused("etc/postfix/main.cf", -EPERM, "not absolute");
	expect_refused("/etc/escape/x", -EPERM, "outside the root");
	expect_refused("/etc/loop1/x", -ELOOP, "symlinks");
}

/* Replace the directory rel by a symlink to target, as another process would between two resolutions. */
static void swap_for_link(const char *rel, const char *target)
{
	char *p = xasprintf("%s%s", dir, rel), *old = xasprintf("%s%s.old", dir, rel);
	assert_int_equal(rename(p, old), 0);
	ln(target, rel);
	free(p);
	free(old);
}

/*
 * root_path() remembers the directories it verified (root.c).  A directory
 * replaced by a symlink between two resolutions of one run:
 *  - below a directory that someone else may write (o+w here; another
 *    owner too), nothing is remembered: the second resolution sees the
 *    symlink, and one that climbs out is refused, as without the cache;
 *  - after root_forget() (what every change mailstage makes is followed by)
 *    it is seen wherever it is;
 *  - below a root-owned directory nobody else may write, the verified
 *    answer stands until then: only root (or the user running mailstage)
 *    could have swapped it, and they could as well between root_path() and
 *    the caller's open(), which the answer never protected against.
 */
static void test_dir_becomes_symlink(void **state)
{
	char *p;
	(void)state;
	/* Writable by others: looked at every time. */
	mk("/etc/open");
	mk("/etc/open/d");
	p = xasprintf("%s/etc/open", dir);
	assert_int_equal(chmod(p, 0777), 0);
	free(p);
	expect_path("/etc/open/d/f", "/etc/open/d/f");
	expect_path("/etc/open/d/f", "/etc/open/d/f");
	swap_for_link("/etc/open/d", "../../../../../../tmp");
	expect_refused("/etc/open/d/f", -EPERM, "outside the root");
	/* The same with another owner (only root can give a directory away). */
	if (geteuid() == 0) {
		mk("/etc/theirs");
		mk("/etc/theirs/d");
		p = xasprintf("%s/etc/theirs", dir);
		assert_int_equal(chown(p, 65534, 65534), 0);
		free(p);
		expect_path("/etc/theirs/d/f", "/etc/theirs/d/f");
		swap_for_link("/etc/theirs/d", "/usr/share/real");
		expect_path("/etc/theirs/d/f", "/usr/share/real/f");
	}
	/* Safe: the verified answer until root_forget(), then the symlink. */
	mk("/etc/safe");
	mk("/etc/safe/d");
	expect_path("/etc/safe/d/f", "/etc/safe/d/f");
	swap_for_link("/etc/safe/d", "/usr/share/real");
	expect_path("/etc/safe/d/f", "/etc/safe/d/f");
	root_forget(&R);
	expect_path("/etc/safe/d/f", "/usr/share/real/f");
	/* And a symlink that climbs out, once seen, is refused. */
	swap_for_link("/etc/safe", "../../../../../../tmp");
	root_forget(&R);
	expect_refused("/etc/safe/d/f", -EPERM, "outside the root");
}

/*
 * root_dir_stat(): the lstat() of a directory a resolution walked through,
 * until root_forget(); root_dir_seen(): a caller's own lstat(), remembered
 * below a safe parent only (the stage checks and root_path() share them).
 */
static void expect_dir_stat(const char *rel, int want)
{
	struct stat sb, real;
	char *p = xasprintf("%s%s", dir, rel);

	assert_int_equal(root_dir_stat(&R, rel, &sb), want);
	if (want == 0) {
		assert_int_equal(lstat(p, &real), 0);
		assert_true(sb.st_ino == real.st_ino && sb.st_dev == real.st_dev && sb.st_mode == real.st_mode);
	}
	free(p);
}

static void seen(const char *rel)
{
	struct stat sb;
	char *p = xasprintf("%s%s", dir, rel);

	assert_int_equal(lstat(p, &sb), 0);
	root_dir_seen(&R, rel, &sb);
	free(p);
}

static void test_dir_status_memo(void **state)
{
	char *p;
	(void)state;
	mk("/etc/memo");
	mk("/etc/memo/d");
	mk("/etc/memo/open");
	mk("/etc/memo/open/d");
	p = xasprintf("%s/etc/memo/open", dir);
	assert_int_equal(chmod(p, 0777), 0);
	free(p);
	root_forget(&R);
	expect_dir_stat("/etc/memo/d", -ENOENT);
	expect_path("/etc/memo/d/f", "/etc/memo/d/f");
	expect_dir_stat("/etc", 0);
	expect_dir_stat("/etc/memo/d", 0);
	expect_dir_stat("/etc/memo/d/f", -ENOENT);	/* the last component is not walked through */
	expect_dir_stat("/etc//memo/d", -ENOENT);	/* only a path written the one way */
	root_forget(&R);
	expect_dir_stat("/etc/memo/d", -ENOENT);
	seen("/etc");
	seen("/etc/memo");
	seen("/etc/memo/open");
	seen("/etc/memo/open/d");
	expect_dir_stat("/etc/memo", 0);
	expect_dir_stat("/etc/memo/open", 0);	/* its parent is safe */
	expect_dir_stat("/etc/memo/open/d", -ENOENT);	/* below one others may write: asked every time */
	seen("/etc/passwd");			/* not a directory: nothing */
	expect_dir_stat("/etc/passwd", -ENOENT);
	root_forget(&R);
}

static void test_host_root(void **state)
{
	struct root h;
	char *why = NULL, *host = NULL;
	(void)state;
	assert_int_equal(root_init(&h, "/", &why), 0);
	assert_true(h.is_host);
	assert_int_equal(root_path(&h, "/etc/hostname", &host, &why), 0);
	assert_string_equal(host, "/etc/hostname");
	free(host);
	root_free(&h);
	assert_int_equal(root_init(&h, "/nonexistent/mailstage", &why), -ENOENT);
	assert_non_null(strstr(why, "/nonexistent/mailstage"));
	free(why);
}

static void test_target_users(void **state)
{
	uid_t uid;
	gid_t gid, pg;
	char *n;
	(void)state;
	assert_int_equal(root_user(&R, "opendkim", &uid, &pg), 0);
	assert_int_equal(uid, 106);
	assert_int_equal(pg, 111);
	assert_int_equal(root_group(&R, "opendkim", &gid), 0);
	assert_int_equal(gid, 111);
	/* The target's database, not the host's: "daemon" exists on the host only. */
	assert_int_equal(root_user(&R, "daemon", &uid, &pg), -ENOENT);
	assert_int_equal(root_user(&R, "broken-line", &uid, &pg), -ENOENT);
	n = root_user_name(&R, 106);
	assert_string_equal(n, "opendkim");
	free(n);
	n = root_group_name(&R, 4242);
	assert_string_equal(n, "4242");
	free(n);
}

/*
 * root_read() takes a regular file in one read() of its size + 1 into a
 * buffer of that size (util.c read_fd_known()): every byte and the NUL at
 * its end, at sizes around the page and the old power-of-two buffer, the
 * empty file, a limit just met and just passed; a /proc file that says
 * size 0 is read to its end.
 */
static void test_read_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 4094, 4095, 4096, 4097, 8191, 11067, 16384, 70001 };
	char *data = NULL, *why = NULL, *text, *p;
	size_t i, j, len;
	(void)state;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		text = xmalloc(sizes[i] + 1);
		for (j = 0; j < sizes[i]; j++)
			text[j] = (char)('a' + (i + j) % 26);
		text[sizes[i]] = 0;
		put("/etc/sized", text);
		assert_int_equal(root_read(&R, "/etc/sized", 0, &data, &len, &why), 0);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(data, text, sizes[i]);
		assert_int_equal(data[len], 0);
		free(data);
		assert_int_equal(root_read(&R, "/etc/sized", sizes[i], &data, &len, &why), 0);
		free(data);
		if (sizes[i] > 1) {	/* a limit of 0 is none */
			assert_int_equal(root_read(&R, "/etc/sized", sizes[i] - 1, &data, &len, &why), -EFBIG);
			free(why);
			why = NULL;
		}
		free(text);
	}
	assert_int_equal(read_regular_file("/proc/self/status", 0, &data, &len), 0);
	p = strstr(data, "VmPeak");	/* not in the first line: read past a 0 size */
	assert_non_null(p);
	assert_int_equal(strlen(data), len);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_paths),
		cmocka_unit_test(test_symlinks_inside),
		cmocka_unit_test(test_escapes_refused),
		cmocka_unit_test(test_dir_becomes_symlink),
		cmocka_unit_test(test_dir_status_memo),
		cmocka_unit_test(test_host_root),
		cmocka_unit_test(test_target_users),
		cmocka_unit_test(test_read_sizes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
