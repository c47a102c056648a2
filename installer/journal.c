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
#include "action.h"

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

/*
 * As open_trusted_dir() for a directory only checked, not used through a
 * descriptor: one fstatat() instead of an open, an fstat and a close.
 */
static int check_trusted_dir(int dfd, const char *name, const char *shown, mode_t mode, int create, char **why)
{
	struct stat sb;
	int r = fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW);

	if (r < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST) {
			r = -errno;
			*why = xasprintf(_("cannot create %s: %s"), shown, strerror(errno));
			return r;
		}
		r = fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW);
	}
	if (r < 0) {
		r = -errno;
		if (r != -ENOENT)
			*why = xasprintf(_("cannot open %s: %s"), shown, strerror(-r));
		return r;
	}
	if (!S_ISDIR(sb.st_mode) || untrusted(&sb, 1))
		return refuse_unsafe(shown, &sb, 1, why);
	return 0;
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
		r = check_trusted_dir(dfd, subs[i], s, 0700, create, why);
		free(s);
		if (r < 0)
			goto out;
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
		/*
		 * The pid right-aligned in a fixed width, so that it overwrites
		 * whatever pid an earlier run left: no truncation in the common
		 * case (one syscall less on every run).  A longer file (planted,
		 * or from an older mailstage) is cut to the width first.
		 */
		char pid[32];
		int l = snprintf(pid, sizeof(pid), "%10ld\n", (long)getpid());
		if (sb.st_size <= l || ftruncate(st->lock_fd, 0) == 0)
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
	strv_free(&st->cp_names);
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

/* ---- the strict parser ---- */

/*
 * Each record kind with exactly the fields it has: all of req, any of opt,
 * nothing else, none twice (journal.h lists the shapes).
 */
static const struct shape {
	const char *kind;
	enum jrec_kind k;
	const char *req, *opt;
} shapes[] = {
	{ "begin", JR_BEGIN, "run cmd time pid profile", "" },
	{ "resume", JR_RESUME, "time pid", "" },
	{ "stage", JR_STAGE, "name", "" },
	{ "file", JR_FILE, "seq path prior", "temp ar" },
	{ "remove", JR_REMOVE, "seq path prior ar", "" },
	{ "dir", JR_DIR, "seq path prior", "" },
	{ "attr", JR_ATTR, "seq path uid gid mode", "" },
	{ "cmd", JR_CMD, "seq argv", "" },
	{ "action", JR_ACTION, "seq type arg undo", "" },
	{ "done", JR_DONE, "seq", "exit" },
	{ "checkpoint", JR_CHECKPOINT, "stage", "" },
	{ "end", JR_END, "status changes time", "" },
	{ "rolled-back", JR_ROLLED_BACK, "time", "" },
	{ "undo-failed", JR_UNDO_FAILED, "errors time", "" },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))
#define FIELDS_MAX 8
#define VALUE_MAX 8192		/* an arg or undo string; a path is at most PATH_MAX */

/* Is w one of the space-separated words of list? */
static int in_words(const char *list, const char *w, size_t wl)
{
	const char *p = list;
	while (*p) {
		size_t l = strcspn(p, " ");
		if (l == wl && strncmp(p, w, wl) == 0)
			return 1;
		p += l;
		p += strspn(p, " ");
	}
	return 0;
}

static int hexdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* A raw value as field_escape() writes it: plain bytes and %XX, or "%" alone (the empty string). */
static int raw_value_ok(const char *v, size_t n, int argv_list)
{
	size_t i;
	if (n == 1 && v[0] == '%')
		return 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '%') {
			if (i + 2 >= n)
				return 0;
			if (!hexdigit(v[i + 1]) || !hexdigit(v[i + 2]))
				return 0;
			i += 2;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			     strchr("._/+:=,@-", c) || (argv_list && c == ';'))) {
			return 0;
		}
	}
	return n > 0;
}

/* Unescape a checked raw value; NULL when it holds a control byte or NUL (never in a value mailstage writes). */
static char *value_decode(const char *raw)
{
	char *v = field_unescape(raw), *p;
	size_t want = 0;
	const char *q;
	/* The decoded length, counted from the raw form: a %00 would hide in a C string. */
	if (strcmp(raw, "%") != 0)
		for (q = raw; *q; q++, want++)
			if (*q == '%')
				q += 2;
	if (strlen(v) != want) {
		free(v);
		return NULL;
	}
	for (p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			free(v);
			return NULL;
		}
	return v;
}

/* Decimal as mailstage writes %u/%lu/%ld: digits, no sign, no leading zero. */
static int parse_dec(const char *s, unsigned long max, unsigned long *v)
{
	size_t n = strspn(s, "0123456789");
	char *end;
	if (n == 0 || s[n] || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *v > max ? -1 : 0;
}

static int under(const char *p, const char *dir)
{
	size_t l = strlen(dir);
	return strncmp(p, dir, l) == 0 && (p[l] == 0 || p[l] == '/');
}

/*
 * A path of the managed tree: absolute and normalised (root_path confines
 * it to --root when it is used), never the state directory's own lock,
 * runs and checkpoints (mailstage journals none of them; its dns/ zone it
 * does) nor the kernel's /proc, /sys and /dev.
 */
static int managed_path(const char *p)
{
	return path_is_normal(p) && strcmp(p, "/var/lib/mailstage") != 0 && !under(p, "/var/lib/mailstage/runs") &&
	    !under(p, "/var/lib/mailstage/checkpoints") && !under(p, "/var/lib/mailstage/lock") &&
	    !under(p, "/proc") && !under(p, "/sys") && !under(p, "/dev");
}

/* A stage name as the journal may carry it: letters, digits and '-' (it becomes a file name). */
static int valid_stage_name(const char *s)
{
	return *s && strlen(s) <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

/*
 * temp= is only ever the temporary name atomic_tempname() gives a file,
 * DIR/.BASE.mailstage-XXXXXXXXXXXX, where BASE is the file's own name.
 * (DIR is checked when it is used: the file's directory as resolved in the
 * root, valid_temp().)
 */
static int temp_form(const char *path, const char *temp)
{
	const char *base = strrchr(path, '/') + 1, *tb;
	size_t bl = strlen(base), i;
	if (!managed_path(temp))
		return 0;
	tb = strrchr(temp, '/') + 1;
	if (tb[0] != '.' || strncmp(tb + 1, base, bl) != 0 || strncmp(tb + 1 + bl, ".mailstage-", 11) != 0)
		return 0;
	tb += 1 + bl + 11;
	for (i = 0; tb[i]; i++)
		if (!((tb[i] >= 'a' && tb[i] <= 'z') || (tb[i] >= '0' && tb[i] <= '9')))
			return 0;
	return i == 12;
}

static int valid_ar(const char *ar);

/* Length of the token at p: up to the next space or end, never past end. */
static size_t tok_len(const char *p, const char *end)
{
	const char *s = memchr(p, ' ', (size_t)(end - p));
	return s ? (size_t)(s - p) : (size_t)(end - p);
}

struct field {
	const char *key;
	size_t kl;
	char *raw;
	char *val;		/* decoded */
};

static const char *fget(struct field *f, size_t nf, const char *key)
{
	size_t i;
	for (i = 0; i < nf; i++)
		if (strlen(key) == f[i].kl && strncmp(f[i].key, key, f[i].kl) == 0)
			return f[i].val;
	return NULL;
}

int jrec_is_change(const struct jrec *r)
{
	return r->kind == JR_FILE || r->kind == JR_REMOVE || r->kind == JR_DIR || r->kind == JR_ATTR ||
	    r->kind == JR_CMD || r->kind == JR_ACTION;
}

void jparsed_free(struct jparsed *p)
{
	size_t i;
	for (i = 0; i < p->n; i++) {
		free(p->v[i].path);
		free(p->v[i].temp);
		free(p->v[i].ar);
		free(p->v[i].arg);
		free(p->v[i].undo);
		free(p->v[i].name);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* Check the fields of one record (its shape already checked) into *rec: 0, or -EINVAL and *why. */
static int record_values(struct field *f, size_t nf, const struct shape *sh, unsigned run_no, const struct root *root,
			 const struct action_type *const *types, struct jrec *rec, char **why)
{
	unsigned long n;
	const char *v;
	size_t i;

	for (i = 0; i < nf; i++) {
		char *key = xstrndup(f[i].key, f[i].kl), *bad = NULL;
		v = f[i].val;
		if (strcmp(key, "seq") == 0 || strcmp(key, "run") == 0) {
			if (parse_dec(v, 0xffffffffUL, &n) < 0 || n == 0)
				bad = key;
			else if (strcmp(key, "seq") == 0)
				rec->seq = (unsigned)n;
			else if (n != run_no) {
				*why = xasprintf(_("begin run=%s in the journal of run %u"), v, run_no);
				free(key);
				return -EINVAL;
			}
		} else if (strcmp(key, "time") == 0) {
			if (parse_dec(v, 0x7fffffffffffffffUL, &n) < 0)
				bad = key;
			rec->time = (long)n;
		} else if (strcmp(key, "pid") == 0) {
			if (parse_dec(v, 0x7fffffffUL, &n) < 0 || n == 0)
				bad = key;
		} else if (strcmp(key, "changes") == 0 || strcmp(key, "errors") == 0) {
			if (parse_dec(v, 0xffffffffUL, &n) < 0)
				bad = key;
			rec->changes = (unsigned)n;
		} else if (strcmp(key, "exit") == 0) {
			if (strcmp(v, "-1") != 0 && parse_dec(v, 255, &n) < 0)
				bad = key;
		} else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
			/* (uid_t)-1 would make lchown() change nothing: never a recorded owner */
			if (parse_dec(v, 0xfffffffeUL, &n) < 0)
				bad = key;
			*(strcmp(key, "uid") == 0 ? &rec->uid : &rec->gid) = n;
		} else if (strcmp(key, "mode") == 0) {
			char *end;
			size_t dl = strspn(v, "01234567");
			n = strtoul(v, &end, 8);
			if (dl == 0 || dl > 5 || v[dl] || n > 07777)
				bad = key;
			rec->mode = (unsigned)n;
		} else if (strcmp(key, "cmd") == 0) {
			if (!*v || strlen(v) > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz") != strlen(v))
				bad = key;
			rec->name = xstrdup(v);
		} else if (strcmp(key, "profile") == 0) {
			if (!*v || strlen(v) > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(v))
				bad = key;
		} else if (strcmp(key, "name") == 0 || strcmp(key, "stage") == 0) {
			if (!valid_stage_name(v))
				bad = key;
			rec->name = xstrdup(v);
		} else if (strcmp(key, "status") == 0) {
			if (strcmp(v, "ok") != 0 && strcmp(v, "failed") != 0 && strcmp(v, "interrupted") != 0)
				bad = key;
			rec->name = xstrdup(v);
		} else if (strcmp(key, "prior") == 0) {
			if (strcmp(v, "absent") != 0 && strcmp(v, "backup") != 0)
				bad = key;
			rec->prior_backup = strcmp(v, "backup") == 0;
		} else if (strcmp(key, "path") == 0) {
			if (!managed_path(v)) {
				*why = xasprintf(_("path=\"%s\" is not an absolute, normalised path of the managed "
						   "tree"), v);
				free(key);
				return -EINVAL;
			}
			rec->path = xstrdup(v);
		} else if (strcmp(key, "temp") == 0) {
			rec->temp = xstrdup(v);
		} else if (strcmp(key, "ar") == 0) {
			if (!valid_ar(v)) {
				*why = xasprintf(_("ar=\"%s\" is not a backup archive of the run's own directory "
						   "(backup-N.tar)"), v);
				free(key);
				return -EINVAL;
			}
			rec->ar = xstrdup(v);
		} else if (strcmp(key, "argv") == 0) {
			/* What ran, ';'-separated words: display only, every word free of control bytes. */
			char *copy = xstrdup(f[i].raw), *save = NULL, *w;
			for (w = strtok_r(copy, ";", &save); w && !bad; w = strtok_r(NULL, ";", &save)) {
				char *d = raw_value_ok(w, strlen(w), 0) ? value_decode(w) : NULL;
				if (!d)
					bad = key;
				free(d);
			}
			free(copy);
		} else if (strcmp(key, "type") == 0) {
			size_t k;
			for (k = 0; types && types[k]; k++)
				if (strcmp(types[k]->name, v) == 0)
					rec->action = types[k];
			if (!rec->action) {
				*why = xasprintf(_("unknown action type \"%s\" (this mailstage undoes only its own "
						   "action types)"), v);
				free(key);
				return -EINVAL;
			}
		} else if (strcmp(key, "arg") == 0) {
			rec->arg = xstrdup(v);
		} else if (strcmp(key, "undo") == 0) {
			rec->undo = xstrdup(v);
		}
		if (bad) {
			*why = xasprintf(_("%s=\"%s\" is not a value mailstage writes there"), key, v);
			free(key);
			return -EINVAL;
		}
		free(key);
	}
	/* Fields that depend on each other. */
	if (rec->temp && !temp_form(rec->path, rec->temp)) {
		*why = xasprintf(_("temp=\"%s\" is not the temporary name mailstage gives %s"), rec->temp, rec->path);
		return -EINVAL;
	}
	if ((sh->k == JR_FILE || sh->k == JR_REMOVE) && rec->prior_backup != (rec->ar != NULL)) {
		*why = xstrdup(rec->prior_backup ? _("prior=backup without an ar= field")
					 : _("prior=absent with an ar= field"));
		return -EINVAL;
	}
	if ((sh->k == JR_REMOVE && !rec->prior_backup) || (sh->k == JR_DIR && fget(f, nf, "prior") &&
							    strcmp(fget(f, nf, "prior"), "absent") != 0)) {
		*why = xasprintf(_("prior=%s in a %s record"), fget(f, nf, "prior"), sh->kind);
		return -EINVAL;
	}
	if (sh->k == JR_ACTION) {
		char *awhy = NULL;
		if (!rec->action->undo_check || rec->action->undo_check(root, rec->undo, &awhy) < 0) {
			*why = xasprintf(_("undo=\"%s\" is not what a %s action records: %s"), rec->undo,
					 rec->action->name, awhy ? awhy : _("this type has no check"));
			free(awhy);
			return -EINVAL;
		}
		free(awhy);
	}
	return 0;
}

/* Split one line into its shape and checked, decoded fields into *rec: 0, or -EINVAL and *why. */
static int parse_record(const char *line, size_t len, unsigned run_no, const struct root *root,
			const struct action_type *const *types, struct jrec *rec, char **why)
{
	struct field f[FIELDS_MAX];
	const struct shape *sh = NULL;
	const char *p = line, *end = line + len, *req;
	size_t nf = 0, i, kl;
	int r = -EINVAL;

	memset(f, 0, sizeof(f));
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) {
			*why = xasprintf(_("byte 0x%02x at column %zu, which mailstage never writes (its values are "
					   "%%-escaped)"), (unsigned char)line[i], i + 1);
			return -EINVAL;
		}
	if (len == 0) {
		*why = xstrdup(_("an empty line"));
		return -EINVAL;
	}
	kl = tok_len(p, end);
	for (i = 0; i < NSHAPES; i++)
		if (strlen(shapes[i].kind) == kl && strncmp(shapes[i].kind, p, kl) == 0)
			sh = &shapes[i];
	if (!sh) {
		char *k = xstrndup(p, kl > 40 ? 40 : kl);
		*why = xasprintf(_("\"%s\" is not a record mailstage writes"), k);
		free(k);
		return -EINVAL;
	}
	rec->kind = sh->k;
	p += kl;
	while (p < end) {
		const char *tok = ++p, *eq;	/* past the one space */
		size_t tl = tok_len(tok, end);
		eq = memchr(tok, '=', tl);
		if (tl == 0 || !eq || eq == tok || strspn(tok, "abcdefghijklmnopqrstuvwxyz") != (size_t)(eq - tok)) {
			*why = xasprintf(_("column %zu: not a field (key=value, one space between fields)"),
					 (size_t)(tok - line) + 1);
			goto out;
		}
		kl = (size_t)(eq - tok);
		if (!in_words(sh->req, tok, kl) && !in_words(sh->opt, tok, kl)) {
			if (sh->k == JR_CMD && kl == 4 && strncmp(tok, "undo", 4) == 0)
				*why = xstrdup(_("a command record with an undo command (undo=): only an older, "
						 "unreleased mailstage wrote those, and this version never runs a command "
						 "read from its journal (undo that command by hand if it is needed)"));
			else
				*why = xasprintf(_("the %s record has a field \"%.*s\" it never has"), sh->kind,
						 (int)(kl > 40 ? 40 : kl), tok);
			goto out;
		}
		for (i = 0; i < nf; i++)
			if (f[i].kl == kl && strncmp(f[i].key, tok, kl) == 0) {
				*why = xasprintf(_("the %s record has the field %.*s twice"), sh->kind, (int)kl, tok);
				goto out;
			}
		if (nf == FIELDS_MAX) {	/* unreachable: no shape has this many fields, and none twice */
			*why = xasprintf(_("the %s record has the field %.*s twice"), sh->kind, (int)kl, tok);
			goto out;
		}
		f[nf].key = tok;
		f[nf].kl = kl;
		f[nf].raw = xstrndup(eq + 1, tl - kl - 1);
		if (strlen(f[nf].raw) > VALUE_MAX || !raw_value_ok(f[nf].raw, strlen(f[nf].raw), kl == 4 &&
								    strncmp(tok, "argv", 4) == 0) ||
		    (kl != 4 || strncmp(tok, "argv", 4) != 0 ? !(f[nf].val = value_decode(f[nf].raw)) :
		     !(f[nf].val = xstrdup(f[nf].raw)))) {
			*why = xasprintf(_("the value of %.*s is not one mailstage writes (a control byte, a bad "
					   "%%-escape or too long)"), (int)kl, tok);
			nf++;
			goto out;
		}
		nf++;
		p = tok + tl;
	}
	for (req = sh->req; *req; req += strspn(req, " ")) {
		size_t rl = strcspn(req, " ");
		for (i = 0; i < nf; i++)
			if (f[i].kl == rl && strncmp(f[i].key, req, rl) == 0)
				break;
		if (i == nf) {
			*why = xasprintf(_("the %s record lacks its %.*s field"), sh->kind, (int)rl, req);
			goto out;
		}
		req += rl;
	}
	r = record_values(f, nf, sh, run_no, root, types, rec, why);
out:
	for (i = 0; i < nf; i++) {
		free(f[i].raw);
		free(f[i].val);
	}
	return r;
}

int journal_parse(const char *text, size_t len, unsigned run_no, const struct root *root,
		  const struct action_type *const *types, struct jparsed *out, unsigned *line, char **why)
{
	const char *p = text, *end = text + len, *stage = NULL;
	unsigned lastseq = 0, no = 0;
	int began = 0, r = 0;
	size_t k;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	*line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct jrec rec;
		if (!nl)
			break;	/* torn by a crash before its fsync: its mutation never started */
		no++;
		memset(&rec, 0, sizeof(rec));
		rec.line = no;
		r = parse_record(p, (size_t)(nl - p), run_no, root, types, &rec, why);
		p = nl + 1;
		if (r == 0) {
			if (rec.kind == JR_BEGIN && (began || out->n)) {
				*why = xstrdup(_("a begin record that is not the journal's first"));
				r = -EINVAL;
			} else if (!began && rec.kind != JR_BEGIN && rec.kind != JR_END && rec.kind != JR_ROLLED_BACK &&
				   rec.kind != JR_UNDO_FAILED) {
				*why = xstrdup(_("a record before the begin record"));
				r = -EINVAL;
			} else if (jrec_is_change(&rec) && rec.seq <= lastseq) {
				*why = xasprintf(_("seq=%u after seq=%u (mailstage numbers its changes in order)"),
						 rec.seq, lastseq);
				r = -EINVAL;
			}
		}
		if (r == 0 && rec.kind == JR_DONE) {
			for (k = out->n; k-- > 0;)
				if (jrec_is_change(&out->v[k]) && out->v[k].seq == rec.seq)
					break;
			if (k == (size_t)-1 || out->v[k].done) {
				*why = xasprintf(k == (size_t)-1 ? _("done seq=%u names no change before it")
								 : _("a second done record for seq=%u"), rec.seq);
				r = -EINVAL;
			} else {
				out->v[k].done = 1;
			}
		}
		if (r < 0) {
			*line = no;
			out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
			out->v[out->n++] = rec;	/* freed with the rest */
			jparsed_free(out);
			return -EINVAL;
		}
		if (rec.kind == JR_BEGIN)
			began = 1;
		if (rec.seq > out->max_seq)
			out->max_seq = rec.seq;
		if (jrec_is_change(&rec)) {
			lastseq = rec.seq;
			rec.stage = stage;
		}
		if (rec.kind == JR_ROLLED_BACK)
			out->rolled_back = 1;
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n++] = rec;
		if (rec.kind == JR_STAGE)
			stage = out->v[out->n - 1].name;	/* the string does not move with the array */
	}
	for (k = 0; k < out->n; k++)
		if (out->v[k].kind == JR_END)
			out->status = out->v[k].name;
	return 0;
}

size_t journal_plan(const struct jparsed *p, size_t **order)
{
	size_t n = 0, k;
	int pass;

	*order = xcalloc(p->n ? p->n : 1, sizeof(**order));
	/* Newest first; actions marked undo_last in a second pass, after every file is back. */
	for (pass = 0; pass < 2; pass++)
		for (k = p->n; k-- > 0;) {
			const struct jrec *r = &p->v[k];
			int last = r->kind == JR_ACTION && r->action->undo_last;
			if (jrec_is_change(r) && last == pass)
				(*order)[n++] = k;
		}
	return n;
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

/*
 * Remove a temporary file a crash left behind.  The journal checked its
 * form (temp_form); here its directory must be the file's as resolved in
 * the root now (directory symlinks followed), or it is left alone.
 */
static void remove_stale_temp(struct state *st, const char *path, const char *temp)
{
	char *th = NULL, *why = NULL, *ph = NULL, *rel = NULL;

	if (!temp)
		return;
	if (root_path(st->root, path, &ph, &why) == 0)
		rel = xstrdup(ph + strlen(st->root->dir));
	free(why);
	why = NULL;
	if (!rel || !valid_temp(rel, temp))
		msg_warn(_("journal record names %s as the temporary file of %s, which mailstage never "
			   "makes: left alone"), temp, path);
	else if (root_path(st->root, temp, &th, &why) == 0)
		unlink(th);
	free(th);
	free(ph);
	free(rel);
	free(why);
}

static int read_parsed(struct state *st, unsigned no, struct jparsed *p, char **why);
static int open_for_append(const char *path, int flags);

int journal_resume(struct state *st, struct journal *j, unsigned no)
{
	struct jparsed p;
	char *why = NULL, *path;
	size_t k;
	int r;

	memset(j, 0, sizeof(*j));
	j->st = st;
	j->fd = j->ar_fd = -1;
	j->run_no = no;
	j->run_dir = xasprintf("%s/runs/%u", st->dir, no);
	r = read_parsed(st, no, &p, &why);
	if (r < 0) {
		msg_error("%s", why);
		free(why);
		return r;
	}
	/* Continue numbering after the highest sequence number already used. */
	j->seq = p.max_seq;
	/* A temporary file the crash left behind is removed (after a rename it is gone). */
	for (k = 0; k < p.n; k++)
		if (p.v[k].kind == JR_FILE)
			remove_stale_temp(st, p.v[k].path, p.v[k].temp);
	jparsed_free(&p);
	path = xasprintf("%s/journal", j->run_dir);
	j->fd = open_for_append(path, 0);
	free(path);
	if (j->fd < 0)
		return j->fd;
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
	int fd = open_for_append(jp, O_NONBLOCK), r = 0;

	if (fd < 0)
		r = fd;
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
/*
 * The journal of run no, through the trust checks, from the runs/
 * directory open as runs_fd (-1: opened here).  tail: only its last
 * JOURNAL_TAIL bytes, from the first line that starts in them (what says
 * whether the run is over), not the whole file.
 */
#define JOURNAL_TAIL 4096
static int read_journal_text_at(struct state *st, int runs_fd, unsigned no, int tail, char **text, size_t *len,
				char **why)
{
	char *runs = xasprintf("%s/runs", st->dir), *name = xasprintf("%u", no);
	char *shown = xasprintf("%s/%u", runs, no), *jshown = xasprintf("%s/journal", shown);
	int rfd = runs_fd, dfd = -1, fd = -1, r;
	struct stat sb;

	*text = NULL;
	if (rfd < 0)
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
	if (tail && sb.st_size > JOURNAL_TAIL) {
		char *t = xmalloc(JOURNAL_TAIL + 1), *nl;
		ssize_t n = pread(fd, t, JOURNAL_TAIL, sb.st_size - JOURNAL_TAIL);
		if (n < 0) {
			r = -errno;
			free(t);
			*why = xasprintf(_("cannot read %s: %s"), jshown, strerror(-r));
			goto out;
		}
		t[n] = '\0';
		nl = memchr(t, '\n', (size_t)n);	/* the line cut by the window is not one */
		*len = nl ? (size_t)n - (size_t)(nl + 1 - t) : 0;
		memmove(t, nl ? nl + 1 : t, *len);
		t[*len] = '\0';
		*text = t;
		r = 0;
		goto out;
	}
	r = read_fd_known(fd, &sb, JOURNAL_MAX, text, len);
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
	if (rfd >= 0 && rfd != runs_fd)
		close(rfd);
	free(runs);
	free(name);
	free(shown);
	free(jshown);
	return r;
}


/*
 * The message of a journal the strict parser refuses: the file, the line,
 * what is wrong, and the way out.
 */
static char *journal_refusal(struct state *st, unsigned no, unsigned line, const char *reason)
{
	return xasprintf(_("%s/runs/%u/journal:%u: %s: mailstage writes no such record, so the journal was "
			   "changed by hand, planted, or written by an older mailstage; nothing was undone or run. "
			   "Check by hand what run %u changed, then move %s/runs/%u out of the state directory "
			   "and run again"), st->dir, no, line, reason, no, st->dir, no);
}

/* Read and strictly parse the journal of run `no`: 0, -EPERM with *why (untrusted or refused), -errno. */
static int run_closed(const char *text, size_t len);

static int read_parsed_unless_closed(struct state *st, int runs_fd, unsigned no, struct jparsed *p,
				     int skip_closed, char **why)
{
	char *text = NULL, *reason = NULL;
	size_t len = 0;
	unsigned line;
	int r;

	memset(p, 0, sizeof(*p));
	/* A run is over by its last records: the tail is read first, the whole journal when it is not. */
	if (skip_closed) {
		r = read_journal_text_at(st, runs_fd, no, 1, &text, &len, why);
		if (r < 0)
			return r;
		if (run_closed(text, len)) {
			free(text);
			return 1;
		}
		free(text);
		text = NULL;
	}
	r = read_journal_text_at(st, runs_fd, no, 0, &text, &len, why);
	if (r < 0)
		return r;
	r = journal_parse(text, len, no, st->root, st->actions, p, &line, &reason);
	free(text);
	if (r < 0) {
		*why = journal_refusal(st, no, line, reason);
		free(reason);
		return -EPERM;
	}
	return 0;
}

static int read_parsed(struct state *st, unsigned no, struct jparsed *p, char **why)
{
	return read_parsed_unless_closed(st, -1, no, p, 0, why);
}

/*
 * Open a journal to append to it.  A last line without its newline is a
 * record torn by a crash before its fsync returned, so the mutation it
 * announced never started: it is cut off, so the next record starts on a
 * line of its own.  fd, or -errno.
 */
static int open_for_append(const char *path, int flags)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | flags), e;
	struct stat sb;
	off_t at, cut;
	char chunk[4096];

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* Back from the end to the last newline, a chunk at a time. */
	for (at = sb.st_size, cut = 0; at > 0 && !cut;) {
		size_t n = at > (off_t)sizeof(chunk) ? sizeof(chunk) : (size_t)at;
		char *nl;
		at -= (off_t)n;
		if (pread(fd, chunk, n, at) != (ssize_t)n) {
			close(fd);
			return -EIO;
		}
		nl = memrchr(chunk, '\n', n);
		if (nl)
			cut = at + (nl - chunk) + 1;
	}
	if (cut != sb.st_size && (ftruncate(fd, cut) < 0 || fsync(fd) < 0)) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
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

static int runs_read(struct state *st, struct runinfo **v, size_t *n, int unfinished);

/*
 * Does the journal text say its run is over: an end record whose status is
 * not "interrupted", or a rolled-back record?  Only the first word of each
 * complete line and the status= of end records are looked at; a run found
 * closed is not acted on by apply, and what does act on a journal (resume,
 * rollback, status) parses it strictly first.
 */
static int run_closed(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	int interrupted = 1, rolled_back = 0;

	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		size_t l = (size_t)(nl - p);
		if (l >= 12 && memcmp(p, "rolled-back ", 12) == 0) {
			rolled_back = 1;
		} else if (l >= 4 && memcmp(p, "end ", 4) == 0) {
			const char *t = p + 4, *te;
			interrupted = 1;	/* an end record without its status: parsed strictly */
			for (; t < nl; t = te + 1) {
				te = memchr(t, ' ', (size_t)(nl - t));
				if (!te)
					te = nl;
				if (te - t >= 7 && memcmp(t, "status=", 7) == 0) {
					interrupted = te - t == 18 && memcmp(t + 7, "interrupted", 11) == 0;
					break;
				}
			}
		}
	}
	return rolled_back || !interrupted;
}

int state_runs(struct state *st, struct runinfo **v, size_t *n)
{
	return runs_read(st, v, n, 0);
}

int state_runs_unfinished(struct state *st, struct runinfo **v, size_t *n)
{
	return runs_read(st, v, n, 1);
}

static int runs_read(struct state *st, struct runinfo **v, size_t *n, int unfinished)
{
	char *runs = xasprintf("%s/runs", st->dir);
	int rfd = open(runs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), e = errno;
	DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;	/* each journal is opened from it */
	struct dirent *de;
	unsigned *nos = NULL;
	size_t cnt = 0, i, k;

	*v = NULL;
	*n = 0;
	free(runs);
	if (!d) {
		if (rfd >= 0) {
			e = errno;
			close(rfd);
		}
		return e == ENOENT ? 0 : -e;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long no = strtoul(de->d_name, &end, 10);
		if (!*de->d_name || *end || no == 0)
			continue;
		nos = xrealloc(nos, (cnt + 1) * sizeof(*nos));
		nos[cnt++] = (unsigned)no;
	}
	if (cnt)	/* qsort(NULL, 0) is undefined behaviour */
		qsort(nos, cnt, sizeof(*nos), cmp_uint);
	*v = xcalloc(cnt ? cnt : 1, sizeof(**v));
	for (i = 0; i < cnt; i++) {
		struct runinfo *ri = &(*v)[*n];
		struct jparsed p;
		char *why = NULL;
		int rr = read_parsed_unless_closed(st, dirfd(d), nos[i], &p, unfinished, &why);

		if (rr == 1)
			continue;	/* over: not parsed (unfinished only) */
		if (rr == -EPERM || rr == -EFBIG) {
			/* Untrusted, or refused by the strict parser: one message, and nothing is used. */
			msg_error("%s", why);
			free(why);
			free(nos);
			closedir(d);
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
		ri->status = xstrdup(p.status ? p.status : "interrupted");
		ri->rolled_back = p.rolled_back;
		for (k = 0; k < p.n; k++) {
			const struct jrec *rec = &p.v[k];
			if (rec->kind == JR_BEGIN) {
				ri->cmd = xstrdup(rec->name);
				ri->time = rec->time;
			} else if (jrec_is_change(rec)) {
				ri->changes++;
				if (rec->path)
					strv_push_unique(&ri->paths, rec->path);
				if (rec->stage)
					strv_push_unique(&ri->stages, rec->stage);
			} else if (rec->kind == JR_CHECKPOINT) {
				strv_push_unique(&ri->checkpoints, rec->name);
			}
		}
		if (!ri->cmd)
			ri->cmd = xstrdup("?");
		jparsed_free(&p);
	}
	free(nos);
	closedir(d);
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

static int undo_record(struct state *st, unsigned no, const struct jrec *rec)
{
	char *host = NULL, *why = NULL;
	int r = 0;

	if (rec->path && root_path(st->root, rec->path, &host, &why) < 0) {
		msg_error(_("undo: %s"), why);
		r = -EPERM;
		goto out;
	}
	switch (rec->kind) {
	case JR_FILE:
	case JR_REMOVE:
	case JR_DIR:
	case JR_ATTR: {
		/* What the path was before the change; prior_put_back compares before it acts. */
		struct prior p;
		memset(&p, 0, sizeof(p));
		if (rec->kind == JR_FILE || rec->kind == JR_REMOVE)
			remove_stale_temp(st, rec->path, rec->temp);
		if (rec->kind == JR_DIR) {
			p.kind = PRIOR_ABSENT_DIR;
		} else if (rec->kind == JR_ATTR) {
			p.kind = PRIOR_ATTR;
			p.set_owner = geteuid() == 0;
			p.uid = (uid_t)rec->uid;
			p.gid = (gid_t)rec->gid;
			p.mode = (mode_t)rec->mode & 07777;
		} else if (!rec->prior_backup) {
			p.kind = PRIOR_ABSENT;
		} else {
			/* rec->ar was checked by the parser (a backup-N.tar of this run). */
			char *arpath = xasprintf("%s/runs/%u/%s", st->dir, no, rec->ar);
			r = prior_load_backup(&p, arpath, rec->seq, host);
			free(arpath);
		}
		if (r == 0 && !host)
			r = -EINVAL;	/* a record without its path */
		if (r == 0)
			r = prior_put_back(host, &p);
		prior_free(&p);
		break;
	}
	case JR_ACTION: {
		/* The type's own code builds what runs, from parameters its undo_check accepted. */
		char *awhy = NULL;
		if ((r = rec->action->undo(st->root, rec->undo, &awhy)) < 0)
			msg_error(_("undo of %s (%s) failed: %s"), rec->action->name, rec->undo,
				  awhy ? awhy : strerror(-r));
		free(awhy);
		break;
	}
	default:
		/* A command has nothing to undo: the files it rewrote are records of their own. */
		break;
	}
	if (r < 0 && rec->path)
		msg_error(_("undo of %s failed: %s"), rec->path, strerror(-r));
out:
	root_forget(st->root);	/* the target changed: resolve afresh (root.c) */
	free(host);
	free(why);
	return r;
}

/*
 * What must hold before anything is undone, beyond the journal's own form:
 * every path stays inside the root, and every backup archive named is a
 * regular file of the run's own directory, root's, written by no one else,
 * with one link (never followed through a symlink).  0, or -EPERM with *why.
 */
static int undo_precheck(struct state *st, unsigned no, const struct jparsed *p, char **why)
{
	char *rundir = xasprintf("%s/runs/%u", st->dir, no), *host = NULL, *pwhy = NULL;
	int dfd = open(rundir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r = 0;
	struct stat sb;
	size_t k;

	for (k = 0; k < p->n && r == 0; k++) {
		const struct jrec *rec = &p->v[k];
		if (!jrec_is_change(rec))
			continue;
		if (rec->path && root_path(st->root, rec->path, &host, &pwhy) < 0) {
			char *reason = xasprintf(_("path %s: %s"), rec->path, pwhy);
			*why = journal_refusal(st, no, rec->line, reason);
			free(reason);
			r = -EPERM;
		} else if (rec->ar && dfd >= 0 && fstatat(dfd, rec->ar, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			   (untrusted(&sb, 0) || sb.st_nlink != 1)) {
			char *reason = xasprintf(_("its backup %s is not a regular file of root's with one link, "
						   "written by no one else"), rec->ar);
			*why = journal_refusal(st, no, rec->line, reason);
			free(reason);
			r = -EPERM;
		}
		free(host);
		free(pwhy);
		host = pwhy = NULL;
	}
	if (dfd >= 0)
		close(dfd);
	free(rundir);
	return r;
}

int journal_undo(struct state *st, unsigned no, unsigned *undone)
{
	struct jparsed p;
	size_t *order = NULL, n, k;
	int errors = 0, r;
	char *jpath, *why = NULL;
	int fd;

	*undone = 0;
	/* The whole journal is checked before anything is undone: one bad record, nothing runs. */
	r = read_parsed(st, no, &p, &why);
	if (r == 0 && (r = undo_precheck(st, no, &p, &why)) < 0)
		jparsed_free(&p);
	if (r < 0) {
		msg_error("%s", why);
		free(why);
		return r;
	}
	n = journal_plan(&p, &order);
	for (k = 0; k < n; k++) {
		if (undo_record(st, no, &p.v[order[k]]) < 0)
			errors++;
		else
			(*undone)++;
	}
	free(order);
	/* A stage this run recorded as converged is converged no more: its checkpoint goes, if still this run's. */
	for (k = 0; k < p.n; k++) {
		unsigned cp_run;
		long cp_time;
		if (p.v[k].kind == JR_CHECKPOINT && checkpoint_read(st, p.v[k].name, &cp_run, &cp_time) == 0 &&
		    cp_run == no) {
			char *cp = xasprintf("%s/checkpoints/%s", st->dir, p.v[k].name);
			unlink(cp);
			free(cp);
		}
	}
	jparsed_free(&p);
	/* Record the outcome in the run's own journal (append-only). */
	jpath = xasprintf("%s/runs/%u/journal", st->dir, no);
	fd = open_for_append(jpath, 0);
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
	if (r == 0 && st->cp_listed && !checkpoint_present(st, stage))
		strv_push(&st->cp_names, stage);
	free(path);
	free(temp);
	free(text);
	return r;
}

int checkpoint_present(struct state *st, const char *stage)
{
	size_t i;

	if (!st->cp_listed) {
		char *path = xasprintf("%s/checkpoints", st->dir);
		DIR *d = opendir(path);
		struct dirent *de;

		free(path);
		st->cp_listed = 1;
		while (d && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' && (de->d_type == DT_REG || de->d_type == DT_UNKNOWN))
				strv_push(&st->cp_names, de->d_name);
		if (d)
			closedir(d);
	}
	for (i = 0; i < st->cp_names.n; i++)
		if (strcmp(st->cp_names.v[i], stage) == 0)
			return 1;
	return 0;
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
