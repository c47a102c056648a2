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
#include "stage.h"
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
	/* Names a pax header must escape (libarchive 3.3+ read them back twice, once still escaped). */
	assert_int_equal(setxattr(P("/etc/a.conf"), "user.a=b c%d", "v1", 2, 0), 0);
	assert_int_equal(setxattr(P("/etc/a.conf"), "user.\303\261ame", "\0\377", 2, 0), 0);
	{
		struct timespec ts[2] = { { 1600000000, 111111111 }, { 1614834367, 123456789 } };
		assert_int_equal(utimensat(AT_FDCWD, P("/etc/a.conf"), ts, 0), 0);
	}
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
	/* Every xattr back by its true name, once; mtime to the nanosecond (atime: reading it moves it). */
	assert_int_equal(getxattr(P("/etc/a.conf"), "user.a=b c%d", label, sizeof(label)), 2);
	assert_memory_equal(label, "v1", 2);
	assert_int_equal(getxattr(P("/etc/a.conf"), "user.\303\261ame", label, sizeof(label)), 2);
	assert_memory_equal(label, "\0\377", 2);
	{
		char names[512];
		ssize_t nl = listxattr(P("/etc/a.conf"), names, sizeof(names));
		const char want[] = "user.mailstage-test\0security.selinux\0user.a=b c%d\0user.\303\261ame\0";
		int count = 0;
		char *q;
		assert_true(nl > 0);
		for (q = names; q < names + nl; q += strlen(q) + 1, count++)
			assert_non_null(memmem(want, sizeof(want), q, strlen(q) + 1));
		assert_int_equal(count, 4);
	}
	assert_int_equal(sb.st_mtim.tv_sec, 1614834367);
	assert_int_equal(sb.st_mtim.tv_nsec, 123456789);
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

/*
 * The lock file holds exactly this run's pid, whatever an earlier run (a
 * shorter or a longer pid, or a planted long file) left in it: the pid is
 * written in a fixed width without a truncate, and a longer file is cut.
 */
static void test_lock_pid_overwrites(void **state)
{
	static const char *left[] = { "1\n", "         1\n", "12345678901234567890\nleft by someone else\n" };
	char want[32], *d;
	struct state a;
	char *why = NULL;
	size_t i;
	(void)state;
	snprintf(want, sizeof(want), "%10ld\n", (long)getpid());
	for (i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		assert_int_equal(state_open(&a, &R, STATE_CREATE | STATE_LOCK, &why), 0);
		state_close(&a);
		put("/var/lib/mailstage/lock", left[i], 0600);
		assert_int_equal(state_open(&a, &R, STATE_CREATE | STATE_LOCK, &why), 0);
		d = get("/var/lib/mailstage/lock");
		if (strcmp(d, want))
			fail_msg("after \"%s\" the lock file holds \"%s\", not \"%s\"", left[i], d, want);
		free(d);
		state_close(&a);
	}
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

/* ---- the strict parser ---- */

#define BEGIN "begin run=1 cmd=apply time=1 pid=1 profile=debian12\n"

static int parse_text(const char *text, struct jparsed *p, unsigned *line, char **why)
{
	return journal_parse(text, strlen(text), 1, &R, action_types_all(), p, line, why);
}

/* Every kind of record mailstage writes is accepted, with its fields. */
static void test_parse_accepts_what_mailstage_writes(void **state)
{
	const char *text = BEGIN
		"stage name=tls\n"
		"file seq=1 path=/etc/ssl/private/k.key temp=/etc/ssl/private/.k.key.mailstage-qt7u8k6xprf5 prior=backup ar=backup-0.tar\n"
		"done seq=1\n"
		"file seq=2 path=/etc/aliases.db prior=absent\n"
		"cmd seq=3 argv=postalias;-c;/etc/postfix;hash:/etc/aliases\n"
		"done seq=3 exit=0\n"
		"attr seq=4 path=/etc/opendkim/keys uid=0 gid=110 mode=0750\n"
		"dir seq=5 path=/var/lib/mailstage/dns prior=absent\n"
		"remove seq=6 path=/etc/postfix/old.cf prior=backup ar=backup-1.tar\n"
		"checkpoint stage=tls\n"
		"stage name=services\n"
		"action seq=7 type=service arg=postfix.service%20enable%20restart undo=postfix.service%20enabled%20active%200%201\n"
		"done seq=7\n"
		"action seq=8 type=packages arg=postfix%20opendkim undo=apt%20opendkim%20libopendkim11:amd64\n"
		"action seq=9 type=firewalld-service arg=public%20smtp%20runtime%20permanent undo=public%20smtp%20runtime%20permanent\n"
		"action seq=10 type=selinux-context arg=system_u:object_r:etc_t:s0%20/etc/opendkim.conf undo=-%20/etc/opendkim.conf\n"
		"end status=failed changes=10 time=3\n"
		"rolled-back time=4\n"
		"undo-failed errors=1 time=5\n"
		"resume time=6 pid=7\n"
		"action seq=11 type=packages arg=postfix undo=dnf%20after=41\n";
	struct jparsed p;
	unsigned line = 0;
	char *why = NULL;
	size_t *order, n;
	(void)state;

	if (parse_text(text, &p, &line, &why) != 0)
		fail_msg("refused at line %u: %s", line, why);
	assert_int_equal(p.n, 22);
	assert_int_equal(p.max_seq, 11);
	assert_string_equal(p.status, "failed");
	assert_true(p.rolled_back);
	assert_int_equal(p.v[2].kind, JR_FILE);
	assert_string_equal(p.v[2].temp, "/etc/ssl/private/.k.key.mailstage-qt7u8k6xprf5");
	assert_true(p.v[2].prior_backup);
	assert_true(p.v[2].done);
	assert_string_equal(p.v[2].stage, "tls");
	assert_int_equal(p.v[7].gid, 110);
	assert_int_equal(p.v[7].mode, 0750);
	assert_string_equal(p.v[12].action->name, "service");
	assert_string_equal(p.v[12].undo, "postfix.service enabled active 0 1");
	assert_string_equal(p.v[12].stage, "services");
	/* The plan: every change once, newest first, the service (undo_last) at the end. */
	n = journal_plan(&p, &order);
	assert_int_equal(n, 11);
	assert_int_equal(p.v[order[0]].seq, 11);
	assert_int_equal(p.v[order[1]].seq, 10);
	assert_int_equal(p.v[order[9]].seq, 1);
	assert_int_equal(p.v[order[10]].seq, 7);
	free(order);
	jparsed_free(&p);
}

/* A torn last record (no newline) is ignored: its mutation never started. */
static void test_parse_torn_tail(void **state)
{
	struct jparsed p;
	unsigned line;
	char *why = NULL;
	(void)state;
	assert_int_equal(parse_text(BEGIN "file seq=1 path=/etc/a prior=absent\nattr seq=2 path=/etc/a uid=0", &p, &line, &why), 0);
	assert_int_equal(p.n, 2);
	jparsed_free(&p);
	assert_int_equal(parse_text(BEGIN "cmd seq=1 argv=/bin/true undo=", &p, &line, &why), 0);
	assert_int_equal(p.n, 1);
	jparsed_free(&p);
	/* An empty journal (a crash before begin) closed by a later apply. */
	assert_int_equal(parse_text("end status=interrupted changes=0 time=1\n", &p, &line, &why), 0);
	jparsed_free(&p);
}

/* Each shape mailstage never writes: refused, naming the line and what is wrong. */
static void test_parse_refuses(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *says;
	} cases[] = {
		{ BEGIN "shell cmd=x\n", 2, "\"shell\" is not a record mailstage writes" },
		{ BEGIN "file seq=1 path=/etc/a prior=absent mode=0777\n", 2, "has a field \"mode\" it never has" },
		{ BEGIN "attr seq=1 path=/etc/a uid=0 gid=0 gid=5 mode=0644\n", 2, "the field gid twice" },
		{ BEGIN "attr seq=1 path=/etc/a uid=0\n", 2, "the attr record lacks its gid field" },
		{ BEGIN "cmd seq=1 argv=/bin/true undo=/usr/bin/touch;/x\n", 2, "a command record with an undo command (undo=)" },
		{ BEGIN "cmd seq=1 argv=/bin/true undo=-\n", 2, "a command record with an undo command (undo=)" },
		{ BEGIN "dir seq=0 path=/etc/a prior=absent\n", 2, "seq=\"0\" is not a value" },
		{ BEGIN "dir seq=2 path=/etc/a prior=absent\ndir seq=2 path=/etc/b prior=absent\n", 3, "seq=2 after seq=2" },
		{ BEGIN "dir seq=01 path=/etc/a prior=absent\n", 2, "seq=\"01\"" },
		{ BEGIN "dir seq=99999999999 path=/etc/a prior=absent\n", 2, "seq=\"99999999999\"" },
		{ BEGIN "attr seq=1 path=/etc/a uid=4294967295 gid=0 mode=0644\n", 2, "uid=\"4294967295\"" },
		{ BEGIN "attr seq=1 path=/etc/a uid=0 gid=-1 mode=0644\n", 2, "gid=\"-1\"" },
		{ BEGIN "attr seq=1 path=/etc/a uid=0 gid=0 mode=10000\n", 2, "mode=\"10000\"" },
		{ BEGIN "attr seq=1 path=/etc/a uid=0 gid=0 mode=0648\n", 2, "mode=\"0648\"" },
		{ BEGIN "done seq=1 exit=256\n", 2, "exit=\"256\"" },
		{ BEGIN "dir seq=1 path=etc/a prior=absent\n", 2, "path=\"etc/a\" is not an absolute, normalised path" },
		{ BEGIN "dir seq=1 path=/etc/../root prior=absent\n", 2, "path=\"/etc/../root\"" },
		{ BEGIN "dir seq=1 path=/etc/./a prior=absent\n", 2, "path=\"/etc/./a\"" },
		{ BEGIN "dir seq=1 path=/etc//a prior=absent\n", 2, "path=\"/etc//a\"" },
		{ BEGIN "dir seq=1 path=/etc/a/ prior=absent\n", 2, "path=\"/etc/a/\"" },
		{ BEGIN "dir seq=1 path=/ prior=absent\n", 2, "path=\"/\"" },
		{ BEGIN "dir seq=1 path=/proc/1/mem prior=absent\n", 2, "path=\"/proc/1/mem\"" },
		{ BEGIN "dir seq=1 path=/var/lib/mailstage/runs/1 prior=absent\n", 2, "path=\"/var/lib/mailstage/runs/1\"" },
		{ BEGIN "dir seq=1 path=/var/lib/mailstage prior=absent\n", 2, "path=\"/var/lib/mailstage\"" },
		{ BEGIN "file seq=1 path=/etc/a temp=/etc/passwd prior=absent\n", 2, "temp=\"/etc/passwd\" is not the temporary name mailstage gives /etc/a" },
		{ BEGIN "file seq=1 path=/etc/a temp=/etc/.a.mailstage-ABCDEFGHIJKL prior=absent\n", 2, "temp=" },
		{ BEGIN "file seq=1 path=/etc/a temp=/etc/.a.mailstage-abc prior=absent\n", 2, "temp=" },
		{ BEGIN "file seq=1 path=/etc/a prior=backup ar=../../etc/passwd\n", 2, "ar=\"../../etc/passwd\" is not a backup archive" },
		{ BEGIN "file seq=1 path=/etc/a prior=backup ar=backup-1.tar.gz\n", 2, "ar=" },
		{ BEGIN "file seq=1 path=/etc/a prior=backup\n", 2, "prior=backup without an ar= field" },
		{ BEGIN "file seq=1 path=/etc/a prior=absent ar=backup-0.tar\n", 2, "prior=absent with an ar= field" },
		{ BEGIN "remove seq=1 path=/etc/a prior=absent ar=backup-0.tar\n", 2, "prior=absent" },
		{ BEGIN "dir seq=1 path=/etc/a prior=backup\n", 2, "prior=backup in a dir record" },
		{ BEGIN "file seq=1 path=/etc/a%0Ab prior=absent\n", 2, "the value of path is not one mailstage writes" },
		{ BEGIN "file seq=1 path=/etc/a%00b prior=absent\n", 2, "the value of path" },
		{ BEGIN "file seq=1 path=/etc/a%G0 prior=absent\n", 2, "the value of path" },
		{ BEGIN "file seq=1 path=/etc/a\tb prior=absent\n", 2, "byte 0x09 at column 23" },
		{ BEGIN "file seq=1 path=/etc/\xc3\xa9 prior=absent\n", 2, "byte 0xc3" },
		{ BEGIN "file seq=1  path=/etc/a prior=absent\n", 2, "column 12: not a field" },
		{ BEGIN "file seq=1 path=/etc/a prior=absent \n", 2, "not a field" },
		{ BEGIN "file seq=1 path= prior=absent\n", 2, "the value of path" },
		{ BEGIN "\n", 2, "an empty line" },
		{ "begin run=2 cmd=apply time=1 pid=1 profile=debian12\n", 1, "begin run=2 in the journal of run 1" },
		{ "begin run=1 cmd=apply time=1 pid=0 profile=debian12\n", 1, "pid=\"0\"" },
		{ "begin run=1 cmd=apply-x time=1 pid=1 profile=debian12\n", 1, "cmd=\"apply-x\" is not a value" },
		{ BEGIN BEGIN, 2, "a begin record that is not the journal's first" },
		{ "dir seq=1 path=/etc/a prior=absent\n", 1, "a record before the begin record" },
		{ BEGIN "done seq=3\n", 2, "done seq=3 names no change before it" },
		{ BEGIN "dir seq=1 path=/etc/a prior=absent\ndone seq=1\ndone seq=1\n", 4, "a second done record for seq=1" },
		{ BEGIN "stage name=..%2F..%2Fetc\n", 2, "name=\"../../etc\"" },
		{ BEGIN "checkpoint stage=TLS\n", 2, "stage=\"TLS\"" },
		{ BEGIN "end status=rolled-back changes=1 time=1\n", 2, "status=\"rolled-back\"" },
		{ BEGIN "action seq=1 type=shell arg=x undo=y\n", 2, "unknown action type \"shell\"" },
		{ BEGIN "action seq=1 type=packages arg=x undo=apt%20--allow-remove-essential\n", 2, "\"--allow-remove-essential\" is not a package name" },
		{ BEGIN "action seq=1 type=packages arg=x undo=pacman%20x\n", 2, "\"pacman\" is not apt, dnf or yum" },
		{ BEGIN "action seq=1 type=packages arg=x undo=dnf%20after=1%20--setopt=x\n", 2, "a dnf undo is \"after=ID\"" },
		{ BEGIN "action seq=1 type=packages arg=x undo=yum%20after=-1\n", 2, "a yum undo is" },
		{ BEGIN "action seq=1 type=service arg=x undo=-H%20enabled%20active%200%200\n", 2, "\"-H\" is not a systemd unit name" },
		{ BEGIN "action seq=1 type=service arg=x undo=postfix%20enabled%20active%200%200\n", 2, "\"postfix\" is not a systemd unit name" },
		{ BEGIN "action seq=1 type=service arg=x undo=postfix.service%20enabled%20active%200\n", 2, "a service undo is" },
		{ BEGIN "action seq=1 type=service arg=x undo=postfix.service%20enabled%20active%200%202\n", 2, "a service undo is" },
		{ BEGIN "action seq=1 type=firewalld-service arg=x undo=public%20--add-port=1/tcp%20runtime\n", 2, "not a firewalld zone or service name" },
		{ BEGIN "action seq=1 type=firewalld-service arg=x undo=public%20smtp%20always\n", 2, "a firewalld-service undo is" },
		{ BEGIN "action seq=1 type=selinux-boolean arg=x undo=b%200%20-%20default%20/other/store\n", 2, "the policy store /other/store is not this target's" },
		{ BEGIN "action seq=1 type=selinux-boolean arg=x undo=b%202%20-%20default%20-\n", 2, "an selinux-boolean undo is" },
		{ BEGIN "action seq=1 type=selinux-boolean arg=x undo=b%200%20-%20../x%20-\n", 2, "an selinux-boolean undo is" },
		{ BEGIN "action seq=1 type=selinux-port arg=x undo=8891%20-%20system_u%20object_r%20s0%20default%20/other/store\n", 2, "the policy store /other/store is not this target's" },
		{ BEGIN "action seq=1 type=selinux-port arg=x undo=0%20-%20system_u%20object_r%20s0%20default%20-\n", 2, "an selinux-port undo is" },
		{ BEGIN "action seq=1 type=selinux-port arg=x undo=70000%20-%20system_u%20object_r%20s0%20default%20-\n", 2, "an selinux-port undo is" },
		{ BEGIN "action seq=1 type=selinux-port arg=x undo=8891%20../t%20system_u%20object_r%20s0%20default%20-\n", 2, "an selinux-port undo is" },
		{ BEGIN "action seq=1 type=selinux-port arg=x undo=8891%20-%20system_u%20object_r%20s0/x%20default%20-\n", 2, "an selinux-port undo is" },
		{ BEGIN "action seq=1 type=selinux-port arg=x undo=8891%20-%20system_u%20object_r%20s0\n", 2, "an selinux-port undo is" },
		{ BEGIN "action seq=1 type=selinux-context arg=x undo=-%20/etc/../shadow\n", 2, "\"/etc/../shadow\" is not an absolute, normalised path" },
		{ BEGIN "action seq=1 type=selinux-context arg=x undo=nolabel%20/etc/a\n", 2, "an selinux-context undo is" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=http://api.example.com/v7%20123456%20/etc/k%20-%20ipv4%20mail.example.com\n", 2, "a Sakura undo record begins" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=http://127.0.0.1:8443%200123%20/etc/k%20-%20ipv4%20mail.example.com\n", 2, "a Sakura undo record begins" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=http://127.0.0.1:8443%2012345678901%20/etc/k%20-%20ipv4%20mail.example.com\n", 2, "a Sakura undo record begins" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=http://127.0.0.1:8443%201%20/etc/../shadow%20-%20ipv4%20mail.example.com\n", 2, "a Sakura undo record begins" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=http://127.0.0.1:8443%201%20/etc/k%20ca.pem%20ipv4%20mail.example.com\n", 2, "a Sakura undo record begins" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20ipv5%20mail.example.com\n", 2, "a sakura-ptr undo ends" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20ipv4%20mail.example.com%20x\n", 2, "a sakura-ptr undo ends" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20ipv4%20-rf\n", 2, "a sakura-ptr undo ends" },
		{ BEGIN "action seq=1 type=sakura-ptr arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20ipv4\n", 2, "bad undo record" },
		{ BEGIN "action seq=1 type=sakura-filter arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20maybe%20%5B%5D\n", 2, "a sakura-filter undo ends" },
		{ BEGIN "action seq=1 type=sakura-filter arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20on%20%5B%7B%22port%22:%2225%22%7D\n", 2, "a sakura-filter undo ends" },
		{ BEGIN "action seq=1 type=sakura-filter arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20on%20%5B%7B%22port%22:%2225%22%7D,1%5D\n", 2, "a sakura-filter undo ends" },
		{ BEGIN "action seq=1 type=sakura-filter arg=x undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20on%20%7B%22rules%22:%5B%5D%7D\n", 2, "a sakura-filter undo ends" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jparsed p;
		unsigned line = 0;
		char *why = NULL;
		int r = parse_text(cases[i].text, &p, &line, &why);
		if (r != -EINVAL)
			fail_msg("case %zu accepted: %s", i, cases[i].text);
		if (line != cases[i].line || !why || !strstr(why, cases[i].says))
			fail_msg("case %zu: line %u \"%s\", expected line %u saying \"%s\"", i, line, why ? why : "",
				 cases[i].line, cases[i].says);
		free(why);
	}
}

/* The Sakura action types' undo records as provider.c writes them are accepted. */
static void test_parse_accepts_sakura(void **state)
{
	const char *text = BEGIN
		"stage name=provider\n"
		"action seq=1 type=sakura-ptr arg=ipv4%20mail.example.com undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20ipv4%20ik1-1-2.vs.sakura.ne.jp\n"
		"done seq=1\n"
		"action seq=2 type=sakura-ptr arg=ipv6%20mail.example.com undo=http://127.0.0.1:8443/v7%201%20/etc/k%20/etc/ca.pem%20ipv6%20\n"
		"action seq=3 type=sakura-filter arg=25%20587 undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20on%20%5B%7B%22protocol%22:%20%22tcp%22,%20%22port%22:%20%2222%22%7D%5D\n"
		"action seq=4 type=sakura-filter arg=25 undo=https://secure.sakura.ad.jp/vps/api/v7%20123456%20/etc/mailstage/sakura-api-key%20-%20off%20%5B%5D\n";
	struct jparsed p;
	unsigned line = 0;
	char *why = NULL;
	(void)state;

	if (parse_text(text, &p, &line, &why) != 0)
		fail_msg("refused at line %u: %s", line, why);
	assert_int_equal(p.max_seq, 4);
	jparsed_free(&p);
}

/* A refused journal is not undone at all: not even the records before or after the bad one. */
static void test_undo_refuses_before_acting(void **state)
{
	struct state st;
	unsigned undone = 99;
	char *why = NULL, *j;
	FILE *f;
	struct runinfo *v;
	size_t n;
	(void)state;

	put("/etc/keep-me", "x\n", 0644);
	assert_int_equal(state_open(&st, &R, STATE_CREATE, &why), 0);
	st.actions = action_types_all();
	mkdir(P("/var/lib/mailstage/runs/7"), 0700);
	j = P("/var/lib/mailstage/runs/7/journal");
	f = fopen(j, "w");
	assert_non_null(f);
	fputs("begin run=7 cmd=apply time=1 pid=1 profile=debian12\n"
	      "file seq=1 path=/etc/keep-me prior=absent\n"
	      "action seq=2 type=packages arg=x undo=apt%20-oDpkg::Pre-Invoke::=x\n"
	      "file seq=3 path=/etc/keep-me prior=absent\n", f);
	fclose(f);
	chmod(j, 0600);
	assert_int_equal(journal_undo(&st, 7, &undone), -EPERM);
	assert_int_equal(undone, 0);
	assert_int_equal(access(P("/etc/keep-me"), F_OK), 0);
	/* status and apply see the same refusal (the run is not over: apply parses it too) */
	assert_int_equal(state_runs(&st, &v, &n), -EPERM);
	assert_null(v);
	assert_int_equal(state_runs_unfinished(&st, &v, &n), -EPERM);
	assert_null(v);
	/* the journal itself is left as it was (no rolled-back record appended) */
	{
		char *text = get("/var/lib/mailstage/runs/7/journal");
		assert_null(strstr(text, "rolled-back"));
		free(text);
	}
	tu_rm_rf(P("/var/lib/mailstage/runs/7"));
	unlink(P("/etc/keep-me"));
	state_close(&st);
}

/* Resume after a torn record: the torn bytes are cut, the resume record starts its own line. */
static void test_resume_cuts_torn_tail(void **state)
{
	struct state st;
	struct journal j;
	char *why = NULL, *text;
	FILE *f;
	(void)state;

	assert_int_equal(state_open(&st, &R, STATE_CREATE, &why), 0);
	mkdir(P("/var/lib/mailstage/runs/8"), 0700);
	f = fopen(P("/var/lib/mailstage/runs/8/journal"), "w");
	assert_non_null(f);
	fputs("begin run=8 cmd=apply time=1 pid=1 profile=debian12\ndir seq=4 path=/etc/d prior=absent\nattr seq=5 pa", f);
	fclose(f);
	chmod(P("/var/lib/mailstage/runs/8/journal"), 0600);
	assert_int_equal(journal_resume(&st, &j, 8), 0);
	assert_int_equal(j.seq, 4);
	journal_close(&j);
	text = get("/var/lib/mailstage/runs/8/journal");
	assert_null(strstr(text, "attr seq=5"));
	assert_non_null(strstr(text, "prior=absent\nresume time="));
	free(text);
	tu_rm_rf(P("/var/lib/mailstage/runs/8"));
	state_close(&st);
}

static void journal_file(unsigned no, const char *text)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "/var/lib/mailstage/runs/%u", no);
	mkdir(P(rel), 0700);
	snprintf(rel, sizeof(rel), "/var/lib/mailstage/runs/%u/journal", no);
	put(rel, text, 0600);
}

/*
 * What apply looks for (state_runs_unfinished): only runs that are not over,
 * parsed strictly; a run that says it is over is not parsed, so a record in
 * it that mailstage never writes is refused by status and rollback only.
 */
static void test_unfinished_skips_closed(void **state)
{
	struct state st;
	char *why = NULL;
	struct runinfo *v;
	size_t n;
	(void)state;

	assert_int_equal(state_open(&st, &R, STATE_CREATE, &why), 0);
	st.actions = action_types_all();
	tu_rm_rf(P("/var/lib/mailstage/runs"));	/* the runs of the tests before */
	mkdir(P("/var/lib/mailstage/runs"), 0700);
	journal_file(3, "begin run=3 cmd=apply time=1 pid=1 profile=debian12\n"
			"dir seq=1 path=/etc/d prior=absent\ndone seq=1\nend status=ok changes=1 time=2\n");
	journal_file(4, "begin run=4 cmd=apply time=1 pid=1 profile=debian12\n"
			"dir seq=1 path=/etc/d prior=absent\nend status=interrupted changes=1 time=2\n");
	journal_file(5, "begin run=5 cmd=apply time=1 pid=1 profile=debian12\n"
			"dir seq=1 path=/etc/d prior=absent\nend status=interrupted changes=1 time=2\n"
			"rolled-back time=3\n");
	journal_file(6, "begin run=6 cmd=apply time=1 pid=1 profile=debian12\n"
			"dir seq=1 path=/etc/e prior=absent\n");
	journal_file(9, "begin run=9 cmd=apply time=1 pid=1 profile=debian12\n"
			"dir seq=1 path=/etc/d prior=absent\nend changes=1 time=2 status=failed\n");
	assert_int_equal(state_runs_unfinished(&st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].no, 4);
	assert_string_equal(v[0].status, "interrupted");
	assert_int_equal(v[0].changes, 1);
	assert_int_equal(v[1].no, 6);
	assert_string_equal(v[1].status, "interrupted");
	runinfo_free(v, n);
	assert_int_equal(state_runs(&st, &v, &n), 0);
	assert_int_equal(n, 5);
	runinfo_free(v, n);

	/* Over, with a planted record: apply does not act on it; status (and rollback) refuse it. */
	journal_file(10, "begin run=10 cmd=apply time=1 pid=1 profile=debian12\n"
			 "cmd seq=1 argv=/bin/true undo=/usr/bin/touch;/PWNED\nend status=ok changes=1 time=2\n");
	assert_int_equal(state_runs_unfinished(&st, &v, &n), 0);
	assert_int_equal(n, 2);
	runinfo_free(v, n);
	assert_int_equal(state_runs(&st, &v, &n), -EPERM);
	assert_null(v);
	tu_rm_rf(P("/var/lib/mailstage/runs/10"));

	/* A journal longer than the tail that is read first: judged by its tail, parsed whole when not over. */
	{
		struct buf b = { 0 };
		unsigned k;
		buf_puts(&b, "begin run=12 cmd=apply time=1 pid=1 profile=debian12\n"
			     "cmd seq=1 argv=/bin/true undo=/usr/bin/touch;/PWNED\n");
		for (k = 2; k < 300; k++)
			buf_printf(&b, "dir seq=%u path=/etc/d%u prior=absent\n", k, k);
		buf_puts(&b, "end status=ok changes=299 time=2\n");
		journal_file(12, b.data);
		assert_int_equal(state_runs_unfinished(&st, &v, &n), 0);	/* over: line 2 not looked at */
		assert_int_equal(n, 2);
		runinfo_free(v, n);
		assert_int_equal(state_runs(&st, &v, &n), -EPERM);
		tu_rm_rf(P("/var/lib/mailstage/runs/12"));
		buf_free(&b);
		buf_puts(&b, "begin run=13 cmd=apply time=1 pid=1 profile=debian12\n");
		for (k = 1; k < 300; k++)
			buf_printf(&b, "dir seq=%u path=/etc/d%u prior=absent\n", k, k);
		buf_puts(&b, "end status=interrupted changes=299 time=2\n");
		journal_file(13, b.data);
		assert_int_equal(state_runs_unfinished(&st, &v, &n), 0);
		assert_int_equal(n, 3);
		assert_int_equal(v[2].no, 13);
		assert_int_equal(v[2].changes, 299);
		runinfo_free(v, n);
		tu_rm_rf(P("/var/lib/mailstage/runs/13"));
		buf_free(&b);
	}

	/* An end record without its status is not taken for over: parsed, and refused. */
	journal_file(11, "begin run=11 cmd=apply time=1 pid=1 profile=debian12\nend changes=0 time=2\n");
	assert_int_equal(state_runs_unfinished(&st, &v, &n), -EPERM);
	assert_null(v);
	/* Nor is a journal still untrusted: the same checks as before it is read. */
	tu_rm_rf(P("/var/lib/mailstage/runs/11"));
	chmod(P("/var/lib/mailstage/runs/3/journal"), 0666);
	assert_int_equal(state_runs_unfinished(&st, &v, &n), -EPERM);
	assert_null(v);
	tu_rm_rf(P("/var/lib/mailstage/runs"));
	mkdir(P("/var/lib/mailstage/runs"), 0700);
	state_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_backup_and_undo),
		cmocka_unit_test(test_lock_names_holder),
		cmocka_unit_test(test_lock_pid_overwrites),
		cmocka_unit_test(test_interrupted_and_resume),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_readonly_open_creates_nothing),
		cmocka_unit_test(test_parse_accepts_what_mailstage_writes),
		cmocka_unit_test(test_parse_torn_tail),
		cmocka_unit_test(test_parse_accepts_sakura),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_undo_refuses_before_acting),
		cmocka_unit_test(test_resume_cuts_torn_tail),
		cmocka_unit_test(test_unfinished_skips_closed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
