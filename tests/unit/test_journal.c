/*
 * test_journal.c - the write-ahead journal and its replay: backups in the
 * pax archive (bytes, mode, owner, xattrs), undo newest first, run
 * listing, the run lock, checkpoints, and interrupted runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "journal.h"
#include "root.h"
#include "testutil.h"
#include "util.h"

static char dir[64];
static struct root R;

static char *P(const char *rel)
{
	static char buf[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", dir, rel);
	return buf[i];
}

static void put(const char *rel, const char *text, mode_t mode)
{
	FILE *f = fopen(P(rel), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(P(rel), mode), 0);
}

static char *get(const char *rel)
{
	char *d = NULL;
	if (read_whole_file(P(rel), &d, NULL) < 0)
		return NULL;
	return d;
}

static int setup(void **state)
{
	char *why = NULL;
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mailstage-journal.XXXXXX");
	assert_non_null(mkdtemp(dir));
	mkdir(P("/etc"), 0755);
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

static void test_fields(void **state)
{
	char *e = field_escape("a b%c\n;="), *u, *f;
	(void)state;
	assert_null(strchr(e, ' '));
	assert_null(strchr(e, ';'));
	u = field_unescape(e);
	assert_string_equal(u, "a b%c\n;=");
	free(u);
	f = xasprintf("file seq=3 path=%s prior=absent", e);
	u = record_field(f, "path");
	assert_string_equal(u, "a b%c\n;=");
	free(u);
	assert_null(record_field(f, "temp"));
	u = record_field(f, "prior");
	assert_string_equal(u, "absent");
	free(u);
	free(f);
	free(e);
	e = field_escape("");
	u = field_unescape(e);
	assert_string_equal(u, "");
	free(u);
	free(e);
}

/* Write-ahead by hand, as the primitives do, then replay the undo. */
static void test_backup_and_undo(void **state)
{
	struct state st;
	struct journal j;
	struct runinfo *v;
	size_t n;
	unsigned undone;
	char *why = NULL, *d;
	struct stat sb;
	char label[64];
	ssize_t ll;
	(void)state;

	put("/etc/a.conf", "original a\n", 0640);
	assert_int_equal(setxattr(P("/etc/a.conf"), "user.mailstage-test", "keep", 4, 0), 0);
	assert_int_equal(setxattr(P("/etc/a.conf"), "security.selinux", "system_u:object_r:etc_t:s0", 27, 0), 0);
	assert_int_equal(state_open(&st, &R, STATE_CREATE | STATE_LOCK, &why), 0);
	assert_int_equal(journal_begin(&st, &j, "apply", "debian12"), 0);
	assert_int_equal(j.run_no, 1);

	/* 1: replace a.conf (backup first) */
	assert_int_equal(journal_backup(&j, P("/etc/a.conf"), 1), 0);
	assert_int_equal(journal_record(&j, 1, "stage name=demo"), 0);
	assert_int_equal(journal_record(&j, 1, "file seq=1 path=/etc/a.conf prior=backup ar=%s", j.ar_name), 0);
	put("/etc/a.conf", "changed a, much longer than before\n", 0600);
	assert_int_equal(removexattr(P("/etc/a.conf"), "user.mailstage-test"), 0);
	/* 2: create a new directory and 3: a new file in it */
	assert_int_equal(journal_record(&j, 1, "dir seq=2 path=/etc/new prior=absent"), 0);
	assert_int_equal(mkdir(P("/etc/new"), 0750), 0);
	assert_int_equal(journal_record(&j, 1, "file seq=3 path=/etc/new/b.conf prior=absent"), 0);
	put("/etc/new/b.conf", "b\n", 0644);
	/* 4: an attribute change recorded with the prior owner and mode */
	assert_int_equal(journal_record(&j, 1, "attr seq=4 path=/etc uid=0 gid=0 mode=0755"), 0);
	assert_int_equal(chmod(P("/etc"), 0700), 0);
	j.changes = 4;
	assert_int_equal(journal_end(&j, "ok"), 0);
	journal_close(&j);

	assert_int_equal(state_runs(&st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].status, "ok");
	assert_string_equal(v[0].cmd, "apply");
	assert_int_equal(v[0].changes, 4);
	assert_int_equal(v[0].paths.n, 4);
	assert_int_equal(v[0].stages.n, 1);
	assert_string_equal(v[0].stages.v[0], "demo");
	assert_false(v[0].rolled_back);
	runinfo_free(v, n);

	/* Replay: every prior state comes back, newest first. */
	assert_int_equal(journal_undo(&st, 1, &undone), 0);
	assert_int_equal(undone, 4);
	d = get("/etc/a.conf");
	assert_string_equal(d, "original a\n");
	free(d);
	assert_int_equal(stat(P("/etc/a.conf"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(getxattr(P("/etc/a.conf"), "user.mailstage-test", label, sizeof(label)), 4);
	ll = getxattr(P("/etc/a.conf"), "security.selinux", label, sizeof(label));
	assert_int_equal(ll, 27);
	assert_string_equal(label, "system_u:object_r:etc_t:s0");
	assert_int_equal(stat(P("/etc/new"), &sb), -1);
	assert_int_equal(stat(P("/etc"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);

	assert_int_equal(state_runs(&st, &v, &n), 0);
	assert_true(v[0].rolled_back);
	runinfo_free(v, n);
	/* Undo is idempotent: a second replay changes nothing and fails nothing. */
	assert_int_equal(journal_undo(&st, 1, &undone), 0);
	d = get("/etc/a.conf");
	assert_string_equal(d, "original a\n");
	free(d);
	state_close(&st);
}

static void test_lock_names_holder(void **state)
{
	struct state a, b;
	char *why = NULL, pid[32];
	(void)state;
	assert_int_equal(state_open(&a, &R, STATE_CREATE | STATE_LOCK, &why), 0);
	assert_int_equal(state_open(&b, &R, STATE_CREATE | STATE_LOCK, &why), -EBUSY);
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	if (!strstr(why, pid))
		fail_msg("lock message \"%s\" does not name %s", why, pid);
	free(why);
	state_close(&b);
	state_close(&a);
	/* Released with the process's descriptor. */
	assert_int_equal(state_open(&b, &R, STATE_CREATE | STATE_LOCK, &why), 0);
	state_close(&b);
}

static void test_interrupted_and_resume(void **state)
{
	struct state st;
	struct journal j;
	struct runinfo *v;
	size_t n, i;
	char *why = NULL;
	int found = 0;
	(void)state;
	assert_int_equal(state_open(&st, &R, STATE_CREATE, &why), 0);
	assert_int_equal(journal_begin(&st, &j, "apply", "el7"), 0);
	/* (temp= as atomic_tempname() names it: a name it never makes is left alone, 14-state-trust) */
	assert_int_equal(journal_record(&j, 1, "file seq=1 path=/etc/c.conf temp=/etc/.c.conf.mailstage-abcdefgh1234 prior=absent"), 0);
	journal_close(&j);	/* no end record: a crash */
	put("/etc/.c.conf.mailstage-abcdefgh1234", "half", 0600);
	assert_int_equal(state_runs(&st, &v, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(v[i].status, "interrupted") == 0)
			found = (int)v[i].no;
	runinfo_free(v, n);
	assert_true(found > 0);
	/* Resuming continues the numbering and removes the stale temporary file. */
	assert_int_equal(journal_resume(&st, &j, (unsigned)found), 0);
	assert_int_equal(j.seq, 1);
	assert_int_equal(access(P("/etc/.c.conf.mailstage-abcdefgh1234"), F_OK), -1);
	assert_int_equal(journal_end(&j, "ok"), 0);
	journal_close(&j);
	assert_int_equal(state_runs(&st, &v, &n), 0);
	for (i = 0; i < n; i++)
		if ((int)v[i].no == found)
			assert_string_equal(v[i].status, "ok");
	runinfo_free(v, n);
	state_close(&st);
}

static void test_checkpoints(void **state)
{
	struct state st;
	char *why = NULL;
	unsigned run;
	long when;
	struct stat sb;
	(void)state;
	assert_int_equal(state_open(&st, &R, STATE_CREATE, &why), 0);
	assert_int_equal(checkpoint_read(&st, "tls", &run, &when), -ENOENT);
	assert_int_equal(checkpoint_write(&st, "tls", 7), 0);
	assert_int_equal(checkpoint_read(&st, "tls", &run, &when), 0);
	assert_int_equal(run, 7);
	assert_true(when > 0);
	assert_int_equal(stat(P("/var/lib/mailstage/checkpoints/tls"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(P("/var/lib/mailstage"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	state_close(&st);
}

static void test_readonly_open_creates_nothing(void **state)
{
	struct state st;
	struct root r2;
	char *why = NULL, *d = xasprintf("%s/empty", dir);
	struct stat sb;
	(void)state;
	mkdir(d, 0755);
	assert_int_equal(root_init(&r2, d, &why), 0);
	assert_int_equal(state_open(&st, &r2, 0, &why), 0);
	assert_int_equal(stat(P("/empty/var"), &sb), -1);
	state_close(&st);
	root_free(&r2);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_backup_and_undo),
		cmocka_unit_test(test_lock_names_holder),
		cmocka_unit_test(test_interrupted_and_resume),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_readonly_open_creates_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
