/*
 * journal.c - run lock, write-ahead journal, pax backups, checkpoints, undo.
 *
 * The rule that makes a run undoable: the journal record describing a
 * mutation, and the backup of what it replaces, are on disk (fsync'd)
 * before the mutation starts.  Undo restores prior states newest first and
 * is idempotent, so a crashed or half-undone run can always be undone again.
 */
#include "i18n.h"
#include "journal.h"
#include "backup.h"
#include "exec.h"
#include "msg.h"
#include "stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Sanity check at the trust boundary.  mailstage runs as root and replays
 * its journal as root, so the state directory is used only when nobody but
 * root could have written it, as OpenSSH's StrictModes and doas judge their
 * files: each component of /var/lib/mailstage/{runs,checkpoints} inside the
 * root is opened one at a time, relative to its parent and never through a
 * symlink (O_NOFOLLOW), and must be a directory owned by root that neither
 * group nor others can write.  Once the chain holds, no one else can replace
 * anything below it, so the paths built from st->dir stay what was checked.
 * A run directory and its journal are checked the same way when read.
 */
static int untrusted(struct stat *sb, int want_dir)
{
	return (want_dir ? !S_ISDIR(sb->st_mode) : !S_ISREG(sb->st_mode)) || sb->st_uid != 0 ||
	    (sb->st_mode & 022);
}

static int refuse_unsafe(const char *shown, struct stat *sb, int want_dir, char **why)
{
	if (want_dir && !S_ISDIR(sb->st_mode))
		*why = xasprintf(_("%s is not a directory (a symlink or another file): mailstage keeps its "
				   "journal there and replays it as root; move it away and run again"), shown);
	else if (!want_dir && !S_ISREG(sb->st_mode))
		*why = xasprintf(_("%s is not a regular file: the state directory has been tampered with; "
				   "move it away and run again"), shown);
	else
		*why = xasprintf(_("%s is owned by uid %ld with mode %04o: the state directory must be owned "
				   "by root and writable by no one else (mailstage replays its journal as root); "
				   "check who changed it, then `chown root:root %s && chmod go-w %s`, or move it "
				   "away, and run again"), shown, (long)sb->st_uid, (unsigned)(sb->st_mode & 07777),
				 shown, shown);
	return -EPERM;
}

/*
 * Open the directory `name` below dfd (creating it with mode when create),
 * never through a symlink, and check it: 0 and *fd, -ENOENT (absent, not
 * created), -EPERM with *why (unsafe), or -errno with *why.
 */
static int open_trusted_dir(int dfd, const char *name, const char *shown, mode_t mode, int create, int *fd,
			    char **why)
{
	struct stat sb;
	int r = 0;

	*fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST) {
			r = -errno;
			*why = xasprintf(_("cannot create %s: %s"), shown, strerror(errno));
			return r;
		}
		*fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (*fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return r;
		if ((r == -ELOOP || r == -ENOTDIR) && fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			return refuse_unsafe(shown, &sb, 1, why);
		*why = xasprintf(_("cannot open %s: %s"), shown, strerror(-r));
		return r;
	}
	if (fstat(*fd, &sb) < 0)
		r = -errno, *why = xasprintf(_("cannot open %s: %s"), shown, strerror(errno));
	else if (untrusted(&sb, 1))
		r = refuse_unsafe(shown, &sb, 1, why);
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

/* The chain root/var/lib/mailstage and its runs/ and checkpoints/: 0, -ENOENT (not there, !create), -errno. */
static int state_trust(struct state *st, int create, char **why)
{
	static const char *const chain[] = { "var", "lib", "mailstage" };
	static const char *const subs[] = { "runs", "checkpoints" };
	const char *top = *st->root->dir ? st->root->dir : "/";
	char *shown = xstrdup(st->root->dir), *s;
	int dfd, fd, r = 0;
	size_t i;

	dfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		*why = xasprintf(_("cannot open %s: %s"), top, strerror(errno));
		goto out;
	}
	for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
		s = xasprintf("%s/%s", shown, chain[i]);
		free(shown);
		shown = s;
		r = open_trusted_dir(dfd, chain[i], shown, i < 2 ? 0755 : 0700, create, &fd, why);
		if (r < 0)
			goto out;
		close(dfd);
		dfd = fd;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		s = xasprintf("%s/%s", shown, subs[i]);
		r = open_trusted_dir(dfd, subs[i], s, 0700, create, &fd, why);
		free(s);
		if (r < 0)
			goto out;
		close(fd);
	}
out:
	if (dfd >= 0)
		close(dfd);
	free(shown);
	return r;
}

int state_open(struct state *st, struct root *r, int flags, char **why)
{
	char *sub = NULL;
	struct stat sb;
	int rc;

	memset(st, 0, sizeof(*st));
	st->root = r;
	st->lock_fd = -1;
	st->dir = xasprintf("%s/var/lib/mailstage", r->dir);
	/* Read-only use (status) creates nothing: an absent directory is an empty state. */
	rc = state_trust(st, flags & STATE_CREATE, why);
	if (rc == -ENOENT && !(flags & STATE_CREATE))
		return 0;
	if (rc < 0 || !(flags & STATE_LOCK))
		return rc;
	sub = xasprintf("%s/lock", st->dir);
	st->lock_fd = open(sub, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (st->lock_fd < 0) {
		rc = -errno;
		*why = xasprintf(_("cannot open %s: %s"), sub, strerror(errno));
		goto out;
	}
	if (fstat(st->lock_fd, &sb) < 0) {
		rc = -errno;
		*why = xasprintf(_("cannot open %s: %s"), sub, strerror(errno));
	} else if (untrusted(&sb, 0)) {
		rc = refuse_unsafe(sub, &sb, 0, why);
	}
	if (rc < 0) {
		close(st->lock_fd);
		st->lock_fd = -1;
		goto out;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = pread(st->lock_fd, pid, sizeof(pid) - 1, 0);
		rc = -EBUSY;
		pid[n > 0 ? n : 0] = 0;
		*why = xasprintf(_("another mailstage run (pid %s) holds %s; wait for it to finish"),
				 *strip(pid) ? strip(pid) : "?", sub);
		close(st->lock_fd);
		st->lock_fd = -1;
		goto out;
	} else {
		char pid[32];
		int l = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (ftruncate(st->lock_fd, 0) == 0)
			(void)!pwrite(st->lock_fd, pid, (size_t)l, 0);
	}
out:
	free(sub);
	return rc;
}

void state_close(struct state *st)
{
	if (st->lock_fd >= 0)
		close(st->lock_fd);	/* releases the flock */
	free(st->dir);
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
}

/* ---- records ---- */

char *record_field(const char *line, const char *key)
{
	size_t kl = strlen(key);
	const char *p = line;
	while ((p = strchr(p, ' ')) != NULL) {
		p++;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1, *e = strchr(v, ' ');
			char *raw = e ? xstrndup(v, (size_t)(e - v)) : xstrdup(v), *val;
			val = field_unescape(raw);
			free(raw);
			return val;
		}
	}
	return NULL;
}

static int record_kind(const char *line, const char *kind)
{
	size_t kl = strlen(kind);
	return strncmp(line, kind, kl) == 0 && (line[kl] == ' ' || line[kl] == 0);
}

int journal_record(struct journal *j, int durable, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	{
		size_t l = strlen(s);
		s = xrealloc(s, l + 2);
		s[l] = '\n', s[l + 1] = 0;
		r = write_all(j->fd, s, l + 1);
	}
	free(s);
	if (r == 0 && durable && fsync(j->fd) < 0)
		r = -errno;
	return r;
}

static unsigned next_run_no(struct state *st)
{
	char *runs = xasprintf("%s/runs", st->dir);
	DIR *d = opendir(runs);
	struct dirent *de;
	unsigned max = 0;

	free(runs);
	if (!d)
		return 1;
	while ((de = readdir(d)) != NULL) {
		unsigned long n = strtoul(de->d_name, NULL, 10);
		if (n > max)
			max = (unsigned)n;
	}
	closedir(d);
	return max + 1;
}

static int open_journal_file(struct journal *j, int flags)
{
	char *path = xasprintf("%s/journal", j->run_dir);
	j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | flags, 0600);
	free(path);
	return j->fd < 0 ? -errno : 0;
}

int journal_begin(struct state *st, struct journal *j, const char *cmd, const char *profile)
{
	int r;

	memset(j, 0, sizeof(*j));
	j->st = st;
	j->fd = j->ar_fd = -1;
	for (j->run_no = next_run_no(st);; j->run_no++) {
		j->run_dir = xasprintf("%s/runs/%u", st->dir, j->run_no);
		if (mkdir(j->run_dir, 0700) == 0)
			break;
		r = -errno;
		free(j->run_dir);
		j->run_dir = NULL;
		if (r != -EEXIST)
			return r;
	}
	r = open_journal_file(j, O_CREAT | O_EXCL);
	if (r < 0)
		return r;
	r = journal_record(j, 0, "begin run=%u cmd=%s time=%ld pid=%ld profile=%s", j->run_no, cmd,
			   (long)time(NULL), (long)getpid(), profile);
	if (r == 0) {
		char *runs = xasprintf("%s/runs", st->dir);
		r = fsync_dir(runs);
		free(runs);
	}
	if (r == 0)
		r = fsync_dir(j->run_dir);
	if (r == 0 && fsync(j->fd) < 0)
		r = -errno;
	return r;
}

/*
 * Sanity checks on journal fields (the journal is read back as root):
 * a temp= is only ever the temporary name atomic_tempname() gives path
 * (DIR/.BASE.mailstage-XXXXXXXXXXXX beside it), and an ar= only a backup
 * archive of the run's own directory (backup-N.tar).
 */
static int valid_temp(const char *path, const char *temp)
{
	const char *base, *suffix;
	size_t dl, bl, i;

	if (!path || !temp || path[0] != '/' || !(base = strrchr(path, '/')))
		return 0;
	dl = (size_t)(base - path);	/* "/etc/postfix" of "/etc/postfix/main.cf" */
	base++;
	bl = strlen(base);
	if (!bl || strncmp(temp, path, dl) != 0 || strncmp(temp + dl, "/.", 2) != 0 ||
	    strncmp(temp + dl + 2, base, bl) != 0 || strncmp(temp + dl + 2 + bl, ".mailstage-", 11) != 0)
		return 0;
	suffix = temp + dl + 2 + bl + 11;
	for (i = 0; suffix[i]; i++)
		if (!((suffix[i] >= 'a' && suffix[i] <= 'z') || (suffix[i] >= '0' && suffix[i] <= '9')))
			return 0;
	return i == 12;
}

static int valid_ar(const char *ar)
{
	size_t i = 7;
	if (!ar || strncmp(ar, "backup-", 7) != 0)
		return 0;
	while (ar[i] >= '0' && ar[i] <= '9')
		i++;
	return i > 7 && i <= 16 && strcmp(ar + i, ".tar") == 0;
}

/* Remove a temporary file a crash left behind, when the record's temp= is one. */
static void remove_stale_temp(struct state *st, const char *line)
{
	char *path = record_field(line, "path"), *temp = record_field(line, "temp"), *th = NULL, *why = NULL;
	char *ph = NULL;

	/* The temporary file is made beside the file as resolved in the root (directory symlinks followed). */
	if (temp && path && root_path(st->root, path, &ph, &why) == 0) {
		free(path);
		path = xstrdup(ph + strlen(st->root->dir));
	}
	free(why);
	why = NULL;
	if (temp && !valid_temp(path, temp))
		msg_warn(_("journal record names %s as the temporary file of %s, which mailstage never "
			   "makes: left alone"), temp, path ? path : "?");
	else if (temp && root_path(st->root, temp, &th, &why) == 0)
		unlink(th);
	free(th);
	free(ph);
	free(why);
	free(path);
	free(temp);
}

/* A stage name as the journal may carry it: letters, digits and '-' (it becomes a file name). */
static int valid_stage_name(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

static int read_journal_text(struct state *st, unsigned no, char **text, char **why);

int journal_resume(struct state *st, struct journal *j, unsigned no)
{
	char *why = NULL;
	char *text = NULL;
	int r;
	char *line, *save = NULL;

	memset(j, 0, sizeof(*j));
	j->st = st;
	j->fd = j->ar_fd = -1;
	j->run_no = no;
	j->run_dir = xasprintf("%s/runs/%u", st->dir, no);
	r = read_journal_text(st, no, &text, &why);
	if (r < 0) {
		msg_error("%s", why);
		free(why);
		return r;
	}
	/* Continue numbering after the highest sequence number already used. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *seq = record_field(line, "seq");
		if (seq && strtoul(seq, NULL, 10) > j->seq)
			j->seq = (unsigned)strtoul(seq, NULL, 10);
		/* A temporary file the crash left behind is removed (after a rename it is gone). */
		remove_stale_temp(st, line);
		free(seq);
	}
	free(text);
	r = open_journal_file(j, 0);
	if (r < 0)
		return r;
	return journal_record(j, 1, "resume time=%ld pid=%ld", (long)time(NULL), (long)getpid());
}

int journal_backup(struct journal *j, const char *host, unsigned seq)
{
	int r;

	if (!j->ar && (r = backup_open(j->run_dir, &j->segment, &j->ar_name, &j->ar, &j->ar_fd)) < 0)
		return r;
	return backup_add(j->ar, j->ar_fd, host, seq, host + strlen(j->st->root->dir));
}

int journal_close_interrupted(struct state *st, unsigned no, unsigned changes)
{
	char *jp = xasprintf("%s/runs/%u/journal", st->dir, no);
	char *rec = xasprintf("end status=interrupted changes=%u time=%ld\n", changes, (long)time(NULL));
	int fd = open(jp, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), r = 0;

	if (fd < 0)
		r = -errno;
	else if ((r = write_all(fd, rec, strlen(rec))) == 0 && fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(jp);
	free(rec);
	return r;
}

int journal_end(struct journal *j, const char *status)
{
	return journal_record(j, 1, "end status=%s changes=%u time=%ld", status, j->changes,
			      (long)time(NULL));
}

void journal_close(struct journal *j)
{
	if (j->ar)
		backup_close(j->ar);
	if (j->ar_fd >= 0)
		close(j->ar_fd);
	if (j->fd >= 0)
		close(j->fd);
	free(j->run_dir);
	free(j->ar_name);
	memset(j, 0, sizeof(*j));
	j->fd = j->ar_fd = -1;
}

/* ---- reading runs ---- */

#define JOURNAL_MAX (64u << 20)	/* far beyond any real run: a bigger file is not ours */

/*
 * The journal of run `no`, read only when its run directory and the file
 * are as mailstage made them (root's, writable by no one else, no symlink,
 * a regular file of sane size).  -EPERM: *why says what is wrong.
 */
static int read_journal_text(struct state *st, unsigned no, char **text, char **why)
{
	char *runs = xasprintf("%s/runs", st->dir), *name = xasprintf("%u", no);
	char *shown = xasprintf("%s/%u", runs, no), *jshown = xasprintf("%s/journal", shown);
	int rfd = -1, dfd = -1, fd = -1, r;
	struct stat sb;

	*text = NULL;
	rfd = open(runs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0) {
		r = -errno;
		*why = xasprintf(_("cannot open %s: %s"), runs, strerror(errno));
		goto out;
	}
	r = open_trusted_dir(rfd, name, shown, 0700, 0, &dfd, why);
	if (r < 0) {
		if (r == -ENOENT)
			*why = xasprintf(_("cannot open %s: %s"), shown, strerror(ENOENT));
		goto out;
	}
	fd = openat(dfd, "journal", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if ((r == -ELOOP) && fstatat(dfd, "journal", &sb, AT_SYMLINK_NOFOLLOW) == 0)
			r = refuse_unsafe(jshown, &sb, 0, why);
		else
			*why = xasprintf(_("cannot open %s: %s"), jshown, strerror(-r));
		goto out;
	}
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		*why = xasprintf(_("cannot open %s: %s"), jshown, strerror(errno));
		goto out;
	}
	if (untrusted(&sb, 0)) {
		r = refuse_unsafe(jshown, &sb, 0, why);
		goto out;
	}
	if (sb.st_nlink != 1) {
		r = -EPERM;
		*why = xasprintf(_("%s has %lu hard links, and mailstage makes it with one: the state directory "
				   "has been tampered with; move it away and run again"), jshown,
				 (unsigned long)sb.st_nlink);
		goto out;
	}
	r = read_fd_whole(fd, JOURNAL_MAX, text, NULL);
	if (r < 0) {
		*why = r == -EFBIG ? xasprintf(_("%s is larger than any run writes (%u MiB): the state "
						 "directory has been tampered with; move it away and run again"),
					       jshown, JOURNAL_MAX >> 20)
				   : xasprintf(_("cannot read %s: %s"), jshown, strerror(-r));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rfd >= 0)
		close(rfd);
	free(runs);
	free(name);
	free(shown);
	free(jshown);
	return r;
}

static int read_journal(struct state *st, unsigned no, struct strv *lines, char **why)
{
	char *text = NULL, *line, *save = NULL;
	int r = read_journal_text(st, no, &text, why);
	if (r < 0)
		return r;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		strv_push(lines, line);
	free(text);
	return 0;
}

static int is_change(const char *line)
{
	return record_kind(line, "file") || record_kind(line, "remove") || record_kind(line, "dir") ||
	    record_kind(line, "attr") || record_kind(line, "cmd") || record_kind(line, "action");
}

static void strv_push_unique(struct strv *s, const char *str)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return;
	strv_push(s, str);
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

int state_runs(struct state *st, struct runinfo **v, size_t *n)
{
	char *runs = xasprintf("%s/runs", st->dir);
	DIR *d = opendir(runs);
	struct dirent *de;
	unsigned *nos = NULL;
	size_t cnt = 0, i, k;

	*v = NULL;
	*n = 0;
	free(runs);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long no = strtoul(de->d_name, &end, 10);
		if (!*de->d_name || *end || no == 0)
			continue;
		nos = xrealloc(nos, (cnt + 1) * sizeof(*nos));
		nos[cnt++] = (unsigned)no;
	}
	closedir(d);
	if (cnt)	/* qsort(NULL, 0) is undefined behaviour */
		qsort(nos, cnt, sizeof(*nos), cmp_uint);
	*v = xcalloc(cnt ? cnt : 1, sizeof(**v));
	for (i = 0; i < cnt; i++) {
		struct runinfo *ri = &(*v)[*n];
		struct strv lines = { 0 };
		char *stage = NULL;

		char *why = NULL;
		int rr = read_journal(st, nos[i], &lines, &why);
		if (rr == -EPERM || rr == -EFBIG) {
			msg_error("%s", why);
			free(why);
			strv_free(&lines);
			free(nos);
			runinfo_free(*v, *n);
			*v = NULL;
			*n = 0;
			return -EPERM;
		}
		free(why);
		if (rr < 0)
			continue;	/* a run directory whose journal was never created */
		(*n)++;
		ri->no = nos[i];
		ri->status = xstrdup("interrupted");
		for (k = 0; k < lines.n; k++) {
			const char *l = lines.v[k];
			char *f;
			if (record_kind(l, "begin")) {
				ri->cmd = record_field(l, "cmd");
				f = record_field(l, "time");
				ri->time = f ? strtol(f, NULL, 10) : 0;
				free(f);
			} else if (record_kind(l, "stage")) {
				free(stage);
				stage = record_field(l, "name");
			} else if (is_change(l)) {
				ri->changes++;
				f = record_field(l, "path");
				if (f)
					strv_push_unique(&ri->paths, f);
				free(f);
				if (stage)
					strv_push_unique(&ri->stages, stage);
			} else if (record_kind(l, "checkpoint")) {
				f = record_field(l, "stage");
				if (f)
					strv_push_unique(&ri->checkpoints, f);
				free(f);
			} else if (record_kind(l, "end")) {
				free(ri->status);
				ri->status = record_field(l, "status");
			} else if (record_kind(l, "rolled-back")) {
				ri->rolled_back = 1;
			}
		}
		if (!ri->cmd)
			ri->cmd = xstrdup("?");
		if (!ri->status)
			ri->status = xstrdup("?");
		free(stage);
		strv_free(&lines);
	}
	free(nos);
	return 0;
}

void runinfo_free(struct runinfo *v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		free(v[i].cmd);
		free(v[i].status);
		strv_free(&v[i].paths);
		strv_free(&v[i].stages);
		strv_free(&v[i].checkpoints);
	}
	free(v);
}

/* ---- undo ---- */

static char **split_argv(const char *enc)
{
	struct strv s = { 0 };
	char *copy = xstrdup(enc), *save = NULL, *w;
	for (w = strtok_r(copy, ";", &save); w; w = strtok_r(NULL, ";", &save)) {
		char *u = field_unescape(w);
		strv_push(&s, u);
		free(u);
	}
	free(copy);
	if (!s.v)
		strv_push(&s, ""), s.n = 0, s.v[0] = NULL;
	return s.v;
}

static void free_argv(char **v)
{
	size_t i;
	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int undo_record(struct state *st, unsigned no, const char *l, int cmd_done)
{
	char *path = record_field(l, "path"), *prior = record_field(l, "prior"), *host = NULL, *why = NULL;
	int r = 0;

	if (path && root_path(st->root, path, &host, &why) < 0) {
		msg_error(_("undo: %s"), why);
		r = -EPERM;
		goto out;
	}
	if (record_kind(l, "file") || record_kind(l, "remove") || record_kind(l, "dir") || record_kind(l, "attr")) {
		/* What the path was before the change; prior_put_back compares before it acts. */
		struct prior p;
		memset(&p, 0, sizeof(p));
		if (!record_kind(l, "attr") && !record_kind(l, "dir"))
			remove_stale_temp(st, l);
		if (record_kind(l, "dir")) {
			p.kind = PRIOR_ABSENT_DIR;
		} else if (record_kind(l, "attr")) {
			char *uid = record_field(l, "uid"), *gid = record_field(l, "gid"), *mode = record_field(l, "mode");
			p.kind = PRIOR_ATTR;
			p.set_owner = geteuid() == 0;
			if (!uid || !gid || !mode) {
				msg_error(_("undo: unreadable attr record of %s"), path ? path : "?");
				r = -EINVAL;
			} else {
				p.uid = (uid_t)strtoul(uid, NULL, 10);
				p.gid = (gid_t)strtoul(gid, NULL, 10);
				p.mode = (mode_t)strtoul(mode, NULL, 8) & 07777;
			}
			free(uid);
			free(gid);
			free(mode);
		} else if (prior && strcmp(prior, "absent") == 0) {
			p.kind = PRIOR_ABSENT;
		} else {
			char *ar = record_field(l, "ar"), *seq = record_field(l, "seq");
			if (!valid_ar(ar)) {
				msg_error(_("undo: the journal names \"%s\" as the backup of %s, which is not a "
					    "backup archive of this run (backup-N.tar): the state directory has been "
					    "tampered with"), ar ? ar : "", path);
				r = -EPERM;
			} else {
				char *arpath = xasprintf("%s/runs/%u/%s", st->dir, no, ar);
				r = prior_load_backup(&p, arpath, seq ? (unsigned)strtoul(seq, NULL, 10) : 0, host);
				free(arpath);
			}
			free(ar);
			free(seq);
		}
		if (r == 0 && !host)
			r = -EINVAL;	/* a record without its path */
		if (r == 0)
			r = prior_put_back(host, &p);
		prior_free(&p);
	} else if (record_kind(l, "action")) {
		char *type = record_field(l, "type"), *undo = record_field(l, "undo"), *awhy = NULL;
		const struct action_type *t = type ? action_type_by_name(type) : NULL;
		if (!t) {
			msg_error(_("undo: unknown action type \"%s\" in the journal"), type ? type : "");
			r = -EINVAL;
		} else if ((r = t->undo(st->root, undo ? undo : "", &awhy)) < 0) {
			msg_error(_("undo of %s (%s) failed: %s"), type, undo ? undo : "", awhy ? awhy : strerror(-r));
		}
		free(awhy);
		free(type);
		free(undo);
	} else if (record_kind(l, "cmd")) {
		char *undo = record_field(l, "undo");
		if (!undo || !*undo) {
			/* A torn record (power loss mid-write): nothing to run, and it must not crash. */
			msg_error(_("undo: a command record of the journal has no undo field (torn by a crash?); "
				    "check what it ran by hand: %s"), l);
			r = -EINVAL;
		} else if (strcmp(undo, "-") != 0 && cmd_done) {
			char **argv = split_argv(undo);
			struct exec_result res;
			r = exec_run(argv, NULL, 300000, &res);
			if (r == 0 && res.exit_code != 0) {
				char *disp = argv_display(argv);
				msg_error(_("undo command `%s` failed (exit %d): %s"), disp, res.exit_code,
					  res.out.data);
				free(disp);
				r = -EIO;
			}
			buf_free(&res.out);
			free_argv(argv);
		}
		free(undo);
	}
	if (r < 0 && path)
		msg_error(_("undo of %s failed: %s"), path, strerror(-r));
out:
	free(path);
	free(prior);
	free(host);
	free(why);
	return r;
}

/* 1 for an action whose type is undone after the files (undo_last), else 0. */
static int undo_pass(const char *l)
{
	char *type;
	const struct action_type *t;
	if (!record_kind(l, "action"))
		return 0;
	type = record_field(l, "type");
	t = type ? action_type_by_name(type) : NULL;
	free(type);
	return t && t->undo_last;
}

int journal_undo(struct state *st, unsigned no, unsigned *undone)
{
	struct strv lines = { 0 };
	size_t k;
	int errors = 0, r, pass;
	char *jpath, *why = NULL;
	int fd;

	*undone = 0;
	r = read_journal(st, no, &lines, &why);
	if (r < 0) {
		msg_error("%s", why);
		free(why);
		return r;
	}
	/* Newest first; actions marked undo_last in a second pass, after every file is back. */
	for (pass = 0; pass < 2; pass++)
	for (k = lines.n; k-- > 0;) {
		const char *l = lines.v[k];
		int done = 0;
		if (!is_change(l) || undo_pass(l) != pass)
			continue;
		if (record_kind(l, "cmd")) {
			char *seq = record_field(l, "seq");
			size_t q;
			for (q = k + 1; q < lines.n && seq; q++) {
				char *s2 = record_field(lines.v[q], "seq");
				if (record_kind(lines.v[q], "done") && s2 && strcmp(s2, seq) == 0)
					done = 1;
				free(s2);
			}
			free(seq);
		}
		if (undo_record(st, no, l, done) < 0)
			errors++;
		else
			(*undone)++;
	}
	/* A stage this run recorded as converged is converged no more: its checkpoint goes, if still this run's. */
	for (k = 0; k < lines.n; k++) {
		char *stage = record_kind(lines.v[k], "checkpoint") ? record_field(lines.v[k], "stage") : NULL;
		unsigned cp_run;
		long cp_time;
		if (stage && valid_stage_name(stage) && checkpoint_read(st, stage, &cp_run, &cp_time) == 0 &&
		    cp_run == no) {
			char *cp = xasprintf("%s/checkpoints/%s", st->dir, stage);
			unlink(cp);
			free(cp);
		}
		free(stage);
	}
	strv_free(&lines);
	/* Record the outcome in the run's own journal (append-only). */
	jpath = xasprintf("%s/runs/%u/journal", st->dir, no);
	fd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	free(jpath);
	if (fd >= 0) {
		char *rec = errors ? xasprintf("undo-failed errors=%d time=%ld\n", errors, (long)time(NULL))
				   : xasprintf("rolled-back time=%ld\n", (long)time(NULL));
		(void)write_all(fd, rec, strlen(rec));
		(void)fsync(fd);
		free(rec);
		close(fd);
	}
	return errors ? -EIO : 0;
}

/* ---- checkpoints ---- */

int checkpoint_write(struct state *st, const char *stage, unsigned run_no)
{
	char *path = xasprintf("%s/checkpoints/%s", st->dir, stage), *temp = atomic_tempname(path);
	char *text = xasprintf("run=%u time=%ld\n", run_no, (long)time(NULL));
	struct file_meta m;
	int r;

	memset(&m, 0, sizeof(m));
	m.mode = 0600;
	r = atomic_replace(path, temp, text, strlen(text), &m, NULL, NULL);
	free(path);
	free(temp);
	free(text);
	return r;
}

int checkpoint_read(struct state *st, const char *stage, unsigned *run_no, long *when)
{
	char *path = xasprintf("%s/checkpoints/%s", st->dir, stage), *text = NULL;
	int r = read_whole_file(path, &text, NULL);
	free(path);
	if (r < 0)
		return r;
	if (sscanf(text, "run=%u time=%ld", run_no, when) != 2)
		r = -EINVAL;
	free(text);
	return r;
}
