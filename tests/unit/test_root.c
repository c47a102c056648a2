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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_paths),
		cmocka_unit_test(test_symlinks_inside),
		cmocka_unit_test(test_escapes_refused),
		cmocka_unit_test(test_host_root),
		cmocka_unit_test(test_target_users),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
