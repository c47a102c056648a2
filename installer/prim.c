/*
 * prim.c - host primitives with write-ahead undo.
 *
 * Order inside every primitive: sanity-check the path, journal the undo
 * (and back up what will be replaced), fsync, then mutate.  In a test build
 * (MAILSTAGE_TEST_HOOKS) each mutation point can be made to fail or to
 * SIGKILL the process, for the failure-injection and crash tests.
 */
#include "prim.h"
#include "i18n.h"
#include "atomic.h"
#include "journal.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

int prim_journal(struct prim *r)
{
	int rc;
	if (!r->jopen) {
		rc = r->resume_no ? journal_resume(r->st, &r->j, r->resume_no)
				  : journal_begin(r->st, &r->j, r->cmd, r->profile);
		if (rc < 0)
			return rc;
		r->jopen = 1;
		snprintf(r->run_id, sizeof(r->run_id), "%u", r->j.run_no);
	}
	if (r->stage && r->journaled_stage != r->stage) {
		rc = journal_record(&r->j, 0, "stage name=%s", r->stage);
		if (rc < 0)
			return rc;
		r->journaled_stage = r->stage;
	}
	return 0;
}

int run_changed(const struct prim *r, const char *path)
{
	size_t i, l = strlen(path);
	for (i = 0; i < r->changed_paths.n; i++) {
		const char *p = r->changed_paths.v[i];
		if (strcmp(p, path) == 0 || (l && path[l - 1] == '/' && strncmp(p, path, l) == 0))
			return 1;
	}
	return 0;
}

void prim_free(struct prim *r)
{
	if (r->jopen)
		journal_close(&r->j);
	r->jopen = 0;
	free(r->error);
	r->error = NULL;
	strv_free(&r->changed_paths);
}

static int fail(struct prim *r, int err, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int fail(struct prim *r, int err, const char *fmt, ...)
{
	va_list ap;
	free(r->error);
	va_start(ap, fmt);
	r->error = xvasprintf(fmt, ap);
	va_end(ap);
	return err;
}

#ifdef MAILSTAGE_TEST_HOOKS
/*
 * Mutation points, counted from 1 across the whole process:
 *   MAILSTAGE_FAIL_AT=N   the Nth point fails with EIO
 *   MAILSTAGE_CRASH_AT=N  the Nth point SIGKILLs the process
 *   MAILSTAGE_HOOK_LOG=F  append "N point path" for every point to F
 */
static unsigned hook_count;
static int hook(struct prim *r, const char *point, const char *path)
{
	const char *f = getenv("MAILSTAGE_FAIL_AT"), *c = getenv("MAILSTAGE_CRASH_AT");
	const char *log = getenv("MAILSTAGE_HOOK_LOG");
	unsigned n = ++hook_count;

	if (log) {
		FILE *fp = fopen(log, "a");
		if (fp) {
			fprintf(fp, "%u %s %s\n", n, point, path);
			fclose(fp);
		}
	}
	if (c && strtoul(c, NULL, 10) == n)
		kill(getpid(), SIGKILL);
	if (f && strtoul(f, NULL, 10) == n)
		return fail(r, -EIO, "injected failure at mutation point %u (%s %s)", n, point, path);
	return 0;
}
#else
static int hook(struct prim *r, const char *point, const char *path)
{
	(void)r, (void)point, (void)path;
	return 0;
}
#endif

struct hook_arg {
	struct prim *r;
	const char *path;
};

static int hook_written(const char *phase, void *arg)
{
	struct hook_arg *h = arg;
	(void)phase;
	return hook(h->r, "before-rename", h->path);
}

/* Why the target's /etc/passwd or /etc/group could not be read (root_read()'s refusals). */
static const char *db_why(int rc)
{
	switch (rc) {
	case -EPERM: return _("it is a symlink pointing outside the root");
	case -EINVAL: return _("it is not a regular file (a FIFO, device or dangling link)");
	case -EFBIG: return _("it is far too large to be one");
	case -EBADMSG: return _("the entry for that name has a user or group id that is not a number");
	case -ENXIO: return _("there is no such file (an absolute symlink is followed inside the root)");
	default: return strerror(-rc);
	}
}

int prim_ids(struct prim *r, const char *owner, const char *group, uid_t *uid, gid_t *gid)
{
	gid_t pg;
	int rc = root_user(r->root, owner, uid, &pg);
	if (rc < 0 && rc != -ENOENT)
		return fail(r, rc, _("cannot read %s/etc/passwd of the target: %s"), r->root->dir, db_why(rc));
	if (rc < 0)
		return fail(r, rc, _("user \"%s\" does not exist in %s/etc/passwd of the target (is its package "
				     "installed?)"), owner, r->root->dir);
	rc = root_group(r->root, group, gid);
	if (rc < 0 && rc != -ENOENT)
		return fail(r, rc, _("cannot read %s/etc/group of the target: %s"), r->root->dir, db_why(rc));
	if (rc < 0)
		return fail(r, rc, _("group \"%s\" does not exist in %s/etc/group of the target"), group,
			    r->root->dir);
	return 0;
}

/* Common prologue: resolve the path and make sure the journal is open. */
static int prologue(struct prim *r, const char *path, char **host)
{
	char *why = NULL;
	int rc;

	if (r->dry)
		return fail(r, -EPERM, _("internal error: mutation of %s during plan"), path);
	rc = root_path(r->root, path, host, &why);
	if (rc < 0) {
		fail(r, rc, _("refusing %s: %s"), path, why);
		free(why);
		return rc;
	}
	rc = prim_journal(r);
	if (rc < 0)
		return fail(r, rc, _("cannot write the journal under %s: %s"), r->st->dir, strerror(-rc));
	return 0;
}

static int jrec_fail(struct prim *r, int rc)
{
	return fail(r, rc, _("cannot write the journal under %s: %s"), r->st->dir, strerror(-rc));
}

/* The write-ahead step of every primitive: journal the undo record
 * (durably), then pass mutation point `point` (what: its subject). */
static int undo_first(struct prim *r, const char *point, const char *what, const char *fmt, ...)
	ATTR_PRINTF(4, 5);
static int undo_first(struct prim *r, const char *point, const char *what, const char *fmt, ...)
{
	va_list ap;
	char *rec;
	int rc;

	va_start(ap, fmt);
	rec = xvasprintf(fmt, ap);
	va_end(ap);
	rc = journal_record(&r->j, 1, "%s", rec);
	free(rec);
	if (rc < 0)
		return jrec_fail(r, rc);
	return hook(r, point, what);
}

static char *enc_argv(char *const argv[])
{
	struct buf b = { 0 };
	size_t i;
	if (!argv || !argv[0])
		return xstrdup("-");
	for (i = 0; argv[i]; i++) {
		char *e = field_escape(argv[i]);
		if (i)
			buf_puts(&b, ";");
		buf_puts(&b, e);
		free(e);
	}
	return buf_steal(&b);
}

static void note_changed(struct prim *r, const char *path)
{
	r->j.changes++;
	if (path)
		strv_push(&r->changed_paths, path);
	msg_journal(LOG_NOTICE, r->run_id, r->stage, "change", path, "%s: changed %s", r->stage ? r->stage : "-",
		    path ? path : "");
}

/* A file primitive's change is complete: mark its journal entry done. */
static void file_done(struct prim *r, unsigned seq, const char *path)
{
	journal_record(&r->j, 0, "done seq=%u", seq);
	note_changed(r, path);
}

/* Make the creation or removal of host durable. */
static void fsync_parent(const char *host)
{
	char *dir = path_dirname(host);

	fsync_dir(dir);
	free(dir);
}

int prim_write_file(struct prim *r, const char *path, const void *data, size_t len, const char *owner,
		    const char *group, mode_t mode)
{
	char *host = NULL, *temp = NULL, *ep = NULL, *et = NULL;
	struct file_meta m;
	struct hook_arg ha = { r, path };
	struct stat sb;
	unsigned seq;
	int rc, exists;

	memset(&m, 0, sizeof(m));
	rc = prologue(r, path, &host);
	if (rc < 0)
		goto out;
	rc = prim_ids(r, owner, group, &m.uid, &m.gid);
	if (rc < 0)
		goto out;
	m.mode = mode;
	m.set_owner = geteuid() == 0;
	exists = lstat(host, &sb) == 0;
	if (exists && !S_ISREG(sb.st_mode)) {
		rc = fail(r, -EEXIST, _("refusing to replace %s: it is a %s, not a regular file"), path,
			  S_ISLNK(sb.st_mode) ? _("symlink") : S_ISDIR(sb.st_mode) ? _("directory") : _("special file"));
		goto out;
	}
	/* Keep the SELinux label (and other xattrs) of a file being replaced. */
	if (exists)
		xattrs_read(host, &m.xattrs, &m.nxattrs);
	seq = ++r->j.seq;
	if (exists && (rc = journal_backup(&r->j, host, seq)) < 0) {
		rc = fail(r, rc, _("cannot back up %s before changing it: %s"), path, strerror(-rc));
		goto out;
	}
	temp = atomic_tempname(host);
	ep = field_escape(path);
	et = field_escape(temp + strlen(r->root->dir));
	if (exists)
		rc = undo_first(r, "write", path, "file seq=%u path=%s temp=%s prior=backup ar=%s", seq,
				  ep, et, r->j.ar_name);
	else
		rc = undo_first(r, "write", path, "file seq=%u path=%s temp=%s prior=absent", seq, ep, et);
	if (rc < 0)
		goto out;
	rc = atomic_replace(host, temp, data, len, &m, hook_written, &ha);
	if (rc < 0) {
		if (!r->error || !strstr(r->error, "injected"))
			fail(r, rc, _("cannot write %s: %s"), path, strerror(-rc));
		goto out;
	}
	file_done(r, seq, path);
out:
	root_forget(r->root);	/* the target changed: resolve afresh (root.c) */
	xattrs_free(m.xattrs, m.nxattrs);
	free(host);
	free(temp);
	free(ep);
	free(et);
	return rc;
}

/*
 * Owner (when root: an unprivileged --root run cannot give files away) and
 * mode of a regular file or directory, through one descriptor opened
 * without following a symlink, so what was checked is what changes.  A
 * regular file with more than one hard link is refused: the change would
 * reach its other names, which may be outside the root.
 */
static int set_owner_mode(struct prim *r, const char *host, const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat sb;
	int fd, rc = 0;

	if (lstat(host, &sb) < 0)
		return fail(r, -errno, _("cannot set owner/mode of %s: %s"), path, strerror(errno));
	if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
		return fail(r, -EPERM, _("refusing to change owner/mode of %s: it is not a regular file or "
					 "directory"), path);
	fd = open(host, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail(r, -errno, _("cannot set owner/mode of %s: %s"), path, strerror(errno));
	if (fstat(fd, &sb) < 0) {
		rc = fail(r, -errno, _("cannot set owner/mode of %s: %s"), path, strerror(errno));
	} else if (S_ISREG(sb.st_mode) && sb.st_nlink > 1) {
		rc = fail(r, -EPERM, _("refusing to change owner/mode of %s: it has %lu hard links, and the "
				       "change would reach every other name of the file (one may be outside the "
				       "root); replace it with a copy of its own (cp --preserve %s %s.new && "
				       "mv %s.new %s), then run again"), path, (unsigned long)sb.st_nlink, path,
			  path, path, path);
	} else if ((geteuid() == 0 && fchown(fd, uid, gid) < 0) || fchmod(fd, mode & 07777) < 0) {
		rc = fail(r, -errno, _("cannot set owner/mode of %s: %s"), path, strerror(errno));
	}
	close(fd);
	return rc;
}

int prim_mkdir(struct prim *r, const char *path, const char *owner, const char *group, mode_t mode)
{
	char *host = NULL, *ep = NULL;
	uid_t uid;
	gid_t gid;
	unsigned seq;
	int rc;

	rc = prologue(r, path, &host);
	if (rc < 0)
		goto out;
	rc = prim_ids(r, owner, group, &uid, &gid);
	if (rc < 0)
		goto out;
	seq = ++r->j.seq;
	ep = field_escape(path);
	rc = undo_first(r, "mkdir", path, "dir seq=%u path=%s prior=absent", seq, ep);
	if (rc < 0)
		goto out;
	/* 0700 until owner and mode are right: never briefly open to others. */
	if (mkdir(host, 0700) < 0) {
		rc = fail(r, -errno, _("cannot create directory %s: %s"), path, strerror(errno));
		goto out;
	}
	rc = set_owner_mode(r, host, path, uid, gid, mode);
	if (rc < 0)
		goto out;
	fsync_parent(host);
	file_done(r, seq, path);
out:
	root_forget(r->root);	/* the target changed: resolve afresh (root.c) */
	free(host);
	free(ep);
	return rc;
}

int prim_set_attr(struct prim *r, const char *path, const char *owner, const char *group, mode_t mode)
{
	char *host = NULL, *ep = NULL;
	struct stat sb;
	uid_t uid;
	gid_t gid;
	unsigned seq;
	int rc;

	rc = prologue(r, path, &host);
	if (rc < 0)
		goto out;
	rc = prim_ids(r, owner, group, &uid, &gid);
	if (rc < 0)
		goto out;
	if (lstat(host, &sb) < 0 || S_ISLNK(sb.st_mode)) {
		rc = fail(r, -ENOENT, _("cannot change %s: %s"), path,
			  S_ISLNK(sb.st_mode) ? _("it is a symlink") : strerror(errno));
		goto out;
	}
	seq = ++r->j.seq;
	ep = field_escape(path);
	rc = undo_first(r, "attr", path, "attr seq=%u path=%s uid=%lu gid=%lu mode=%04o", seq, ep,
			  (unsigned long)sb.st_uid, (unsigned long)sb.st_gid, (unsigned)(sb.st_mode & 07777));
	if (rc < 0)
		goto out;
	rc = set_owner_mode(r, host, path, uid, gid, mode);
	if (rc < 0)
		goto out;
	file_done(r, seq, path);
out:
	root_forget(r->root);	/* the target changed: resolve afresh (root.c) */
	free(host);
	free(ep);
	return rc;
}

int prim_remove(struct prim *r, const char *path)
{
	char *host = NULL, *ep = NULL;
	struct stat sb;
	unsigned seq;
	int rc;

	rc = prologue(r, path, &host);
	if (rc < 0)
		goto out;
	if (lstat(host, &sb) < 0)
		goto out;	/* already absent */
	if (!S_ISREG(sb.st_mode)) {
		rc = fail(r, -EINVAL, _("refusing to remove %s: not a regular file"), path);
		goto out;
	}
	seq = ++r->j.seq;
	rc = journal_backup(&r->j, host, seq);
	if (rc < 0) {
		rc = fail(r, rc, _("cannot back up %s before removing it: %s"), path, strerror(-rc));
		goto out;
	}
	ep = field_escape(path);
	rc = undo_first(r, "remove", path, "remove seq=%u path=%s prior=backup ar=%s", seq, ep,
			  r->j.ar_name);
	if (rc < 0)
		goto out;
	if (unlink(host) < 0) {
		rc = fail(r, -errno, _("cannot remove %s: %s"), path, strerror(errno));
		goto out;
	}
	fsync_parent(host);
	file_done(r, seq, path);
out:
	root_forget(r->root);	/* the target changed: resolve afresh (root.c) */
	free(host);
	free(ep);
	return rc;
}

int prim_run(struct prim *r, char *const argv[], char *const touches[], int timeout_ms, struct exec_result *res)
{
	char *ea = NULL, *disp = argv_display(argv), *host = NULL;
	unsigned seq;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = prologue(r, "/", &host);
	if (rc < 0)
		goto out;
	/* Files the command rewrites are backed up like any other write. */
	for (i = 0; touches && touches[i]; i++) {
		char *th = NULL, *why = NULL, *et = field_escape(touches[i]);
		struct stat sb;
		if (root_path(r->root, touches[i], &th, &why) < 0) {
			rc = fail(r, -EPERM, _("refusing %s: %s"), touches[i], why);
		} else {
			seq = ++r->j.seq;
			if (lstat(th, &sb) == 0) {
				rc = journal_backup(&r->j, th, seq);
				if (rc == 0)
					rc = journal_record(&r->j, 1, "file seq=%u path=%s prior=backup ar=%s", seq,
							    et, r->j.ar_name);
			} else {
				rc = journal_record(&r->j, 1, "file seq=%u path=%s prior=absent", seq, et);
			}
			if (rc < 0)
				fail(r, rc, _("cannot back up %s before `%s`: %s"), touches[i], disp, strerror(-rc));
		}
		free(th);
		free(why);
		free(et);
		if (rc < 0)
			goto out;
	}
	seq = ++r->j.seq;
	/* What ran, for the record only: rollback never runs a command read from the journal. */
	ea = enc_argv(argv);
	rc = undo_first(r, "command", disp, "cmd seq=%u argv=%s", seq, ea);
	if (rc < 0)
		goto out;
	rc = exec_run(argv, NULL, timeout_ms, res);
	if (rc < 0) {
		rc = fail(r, rc, _("cannot run `%s`: %s"), disp, rc == -ENOENT ? _("not installed") : strerror(-rc));
		goto out;
	}
	journal_record(&r->j, 1, "done seq=%u exit=%d", seq, res->exit_code);
	msg_journal(res->exit_code ? LOG_ERR : LOG_INFO, r->run_id, r->stage, "command", NULL,
		    "`%s` exited %d: %s", disp, res->exit_code, res->out.data ? res->out.data : "");
	if (res->timed_out) {
		rc = fail(r, -ETIMEDOUT, _("`%s` did not finish within %d s and was stopped"), disp,
			  timeout_ms / 1000);
		goto out;
	}
	if (res->exit_code != 0) {
		rc = fail(r, -EIO, _("`%s` failed (exit %d):\n%s"), disp, res->exit_code,
			  res->out.data ? res->out.data : "");
		goto out;
	}
	note_changed(r, NULL);
out:
	root_forget(r->root);	/* the target changed: resolve afresh (root.c) */
	free(ea);
	free(disp);
	free(host);
	return rc;
}

int prim_action(struct prim *r, const char *type, const char *arg, const char *what,
		int (*prepare)(void *a, const char *arg, char **undo_arg), int (*apply)(void *a, const char *arg),
		void *a)
{
	char *host = NULL, *undo = NULL, *ea = NULL, *eu = NULL;
	unsigned seq;
	int rc;

	rc = prologue(r, "/", &host);
	if (rc < 0)
		goto out;
	rc = prepare(a, arg, &undo);
	if (rc < 0) {
		if (!r->error)
			fail(r, rc, _("%s: cannot read the current state: %s"), what, strerror(-rc));
		goto out;
	}
	seq = ++r->j.seq;
	ea = field_escape(arg);
	eu = field_escape(undo ? undo : "");
	rc = undo_first(r, "action", what, "action seq=%u type=%s arg=%s undo=%s", seq, type, ea,
			  eu);
	if (rc < 0)
		goto out;
	free(r->error);
	r->error = NULL;
	rc = apply(a, arg);
	if (rc < 0) {
		if (!r->error)
			fail(r, rc, _("%s failed: %s"), what, strerror(-rc));
		goto out;
	}
	journal_record(&r->j, 1, "done seq=%u", seq);
	r->j.changes++;
	msg_journal(LOG_NOTICE, r->run_id, r->stage, type, NULL, "%s", what);
out:
	root_forget(r->root);	/* the target changed: resolve afresh (root.c) */
	free(host);
	free(undo);
	free(ea);
	free(eu);
	return rc;
}
