/*
 * root.c - path confinement and target user/group lookups.
 *
 * Sanity check at the trust boundary: every path a stage names goes through
 * root_path() before any system call touches it.
 *
 * Verified directories are remembered for the run.  Resolving a path
 * lstat()s each of its directories from the root down, so that a symlink
 * on the way is followed inside the root (or refused); a no-op apply asks
 * about /etc some seventy times.  When lstat() shows a real directory D
 * whose parent P is the root or itself remembered, D is remembered by its
 * host path, with whether D, like P, is owned by root (or the user running
 * mailstage) and writable by neither group nor others (a POSIX ACL that
 * lets anyone else write shows in the group bits).  Only below such a
 * "safe" parent is a child remembered, so every remembered directory hangs
 * from the root by a chain of safe directories.  A later path through D
 * skips the lstat()s of D and its ancestors.  Why this is as safe as
 * looking again:
 *  - Replacing the entry D of P (by a symlink, the one thing that would
 *    change the answer: a missing component, a directory and a file all
 *    resolve to the same host path) needs write permission on P, and P is
 *    safe: only root or the running user can, and both can already change
 *    any file mailstage is about to read or write.  Even without the cache
 *    the answer is a path that the caller opens afterwards, so such a swap
 *    between the lstat() and the open() was always followed by the kernel:
 *    the window grows from microseconds to the run, the set of who can use
 *    it does not.
 *  - Below a directory that someone else may write (an owner other than
 *    root, or g+w/o+w: /tmp, a hostile tree), nothing is remembered, so
 *    every resolution there looks again, exactly as before.
 *  - mailstage itself never creates a symlink.  Still, every change it
 *    makes to the target (each primitive, a new owner or mode included,
 *    which can make a directory unsafe; each undo; every command it runs,
 *    which may be a package manager) is followed by root_forget(), so the
 *    resolution after it sees the tree as it now is.
 * tests/unit/test_root.c shows all three (a directory replaced by a
 * symlink between two resolutions).
 */
#include "i18n.h"
#include "root.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct root_dirs {
	char **slot;		/* host paths, open addressing (NULL: empty) */
	unsigned char *safe;	/* its entries can be replaced by root or us only */
	struct stat *st;	/* its lstat() */
	size_t cap, n;
	int root_safe;		/* the same, for the root directory itself */
	uid_t euid;
	unsigned epoch;		/* see root_epoch() */
};

/* Epochs are unique in the process: a root made where a freed one was never takes its numbers. */
static unsigned epoch_counter;

static int owner_safe(const struct root_dirs *d, const struct stat *sb)
{
	return S_ISDIR(sb->st_mode) && (sb->st_uid == 0 || sb->st_uid == d->euid) && !(sb->st_mode & 022);
}

/* The slot holding path[0..len) or the empty slot where it would go. */
static size_t dirs_slot(const struct root_dirs *d, const char *path, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)path[i]) * 16777619u;
	for (i = h & (d->cap - 1); d->slot[i]; i = (i + 1) & (d->cap - 1))
		if (strncmp(d->slot[i], path, len) == 0 && d->slot[i][len] == 0)
			break;
	return i;
}

/* Is path[0..len) remembered?  -1 no, else its safe flag. */
static int dirs_find(const struct root_dirs *d, const char *path, size_t len)
{
	size_t i;
	if (!d || !d->n)
		return -1;
	i = dirs_slot(d, path, len);
	return d->slot[i] ? d->safe[i] : -1;
}

static void dirs_grow(struct root_dirs *d)
{
	struct root_dirs old = *d;
	size_t i;
	d->cap = old.cap ? old.cap * 2 : 64;
	d->slot = xcalloc(d->cap, sizeof(*d->slot));
	d->safe = xcalloc(d->cap, 1);
	d->st = xcalloc(d->cap, sizeof(*d->st));
	for (i = 0; i < old.cap; i++)
		if (old.slot[i]) {
			size_t j = dirs_slot(d, old.slot[i], strlen(old.slot[i]));
			d->slot[j] = old.slot[i];
			d->safe[j] = old.safe[i];
			d->st[j] = old.st[i];
		}
	free(old.slot);
	free(old.safe);
	free(old.st);
}

/* lstat() found host path probe (inside r->dir) to be sb: remember it when its parent is safe. */
static void dirs_note(const struct root *r, const char *probe, const struct stat *sb)
{
	struct root_dirs *d = r->dirs;
	const char *slash = strrchr(probe, '/');
	size_t plen, i;
	int parent;

	if (!d || !S_ISDIR(sb->st_mode) || !slash)
		return;
	plen = (size_t)(slash - probe);
	parent = plen == strlen(r->dir) ? d->root_safe : dirs_find(d, probe, plen);
	if (parent != 1)
		return;
	if (2 * (d->n + 1) > d->cap)
		dirs_grow(d);
	i = dirs_slot(d, probe, strlen(probe));
	if (!d->slot[i]) {
		d->slot[i] = xstrdup(probe);
		d->n++;
	}
	d->safe[i] = (unsigned char)owner_safe(d, sb);
	d->st[i] = *sb;
}

int root_dir_stat(const struct root *r, const char *path, struct stat *sb)
{
	struct root_dirs *d = r->dirs;
	size_t i, dl;
	char *h;

	if (!d || !d->n || !path || path[0] != '/' || !path_is_normal(path))
		return -ENOENT;
	dl = strlen(r->dir);
	h = xconcat(r->dir, path);
	i = dirs_slot(d, h, dl + strlen(path));
	free(h);
	if (!d->slot[i])
		return -ENOENT;
	*sb = d->st[i];
	return 0;
}

void root_dir_seen(const struct root *r, const char *path, const struct stat *sb)
{
	char *h;

	if (!r->dirs || !path || path[0] != '/' || !path_is_normal(path) || !S_ISDIR(sb->st_mode))
		return;
	h = xconcat(r->dir, path);
	dirs_note(r, h, sb);
	free(h);
}

void root_forget(const struct root *r)
{
	struct root_dirs *d = r->dirs;
	size_t i;
	if (d)
		d->epoch = ++epoch_counter;
	if (!d || !d->n)
		return;
	for (i = 0; i < d->cap; i++) {
		free(d->slot[i]);
		d->slot[i] = NULL;
	}
	d->n = 0;
}

unsigned root_epoch(const struct root *r)
{
	return r && r->dirs ? r->dirs->epoch : 0;
}

uid_t root_euid(const struct root *r)
{
	return r && r->dirs ? r->dirs->euid : geteuid();
}

int root_init(struct root *r, const char *dir, char **why)
{
	char *canon;
	struct stat st;

	memset(r, 0, sizeof(*r));
	canon = realpath(dir, NULL);
	if (!canon) {
		int e = errno;
		*why = xasprintf(_("--root %s: %s"), dir, strerror(e));
		return -e;
	}
	if (stat(canon, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*why = xasprintf(_("--root %s: not a directory"), dir);
		free(canon);
		return -ENOTDIR;
	}
	if (strcmp(canon, "/") == 0) {
		r->dir = xstrdup("");
		r->is_host = 1;
		free(canon);
	} else {
		r->dir = canon;
	}
	r->dirs = xcalloc(1, sizeof(*r->dirs));
	r->dirs->euid = geteuid();
	r->dirs->root_safe = owner_safe(r->dirs, &st);
	r->dirs->epoch = ++epoch_counter;
	return 0;
}

void root_free(struct root *r)
{
	free(r->dir);
	free(r->passwd);
	free(r->group);
	if (r->dirs) {
		root_forget(r);
		free(r->dirs->slot);
		free(r->dirs->safe);
		free(r->dirs->st);
		free(r->dirs);
	}
	memset(r, 0, sizeof(*r));
}

/* Split "a/b/c" components onto a stack of logical components, handling "..". */
static int push_components(struct strv *stack, const char *path, int allow_dotdot)
{
	char *copy = xstrdup(path), *save = NULL, *c;
	int r = 0;

	for (c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (!allow_dotdot || stack->n == 0) {
				r = -EPERM;
				break;
			}
			free(stack->v[--stack->n]);
			stack->v[stack->n] = NULL;
			continue;
		}
		strv_push(stack, c);
	}
	free(copy);
	return r;
}

static char *join_stack(const char *prefix, struct strv *stack, size_t n)
{
	struct buf b = { 0 };
	size_t i;
	buf_puts(&b, prefix);
	for (i = 0; i < n; i++) {
		buf_puts(&b, "/");
		buf_puts(&b, stack->v[i]);
	}
	if (b.len == 0)
		buf_puts(&b, "/");
	return buf_steal(&b);
}

int root_path(const struct root *r, const char *path, char **host, char **why)
{
	struct strv done = { 0 }, todo = { 0 };
	int links = 0, rc = 0, missing = 0;
	size_t i;

	*host = NULL;
	if (!path || path[0] != '/') {
		*why = xasprintf(_("path \"%s\" is not absolute"), path ? path : "");
		return -EPERM;
	}
	/*
	 * The common case at once: a path written the one way whose directory
	 * was verified in this run.  A remembered directory's host path is its
	 * resolved path, every ancestor a real directory, so the same string
	 * inside the root walks through no symlink (see the top of this file).
	 */
	if (path_is_normal(path)) {
		size_t dl = strlen(r->dir), pl = (size_t)(strrchr(path, '/') - path);
		char *h = xconcat(r->dir, path);
		if (pl == 0 || dirs_find(r->dirs, h, dl + pl) >= 0) {
			*host = h;
			return 0;
		}
		free(h);
	}
	if (push_components(&todo, path, 0) < 0) {
		*why = xasprintf(_("path \"%s\" contains \"..\""), path);
		rc = -EPERM;
		goto out;
	}
	/*
	 * Walk every component but the last, following directory symlinks.
	 * Below a missing component nothing can be there (nor be a symlink):
	 * the rest is not asked.
	 */
	while (todo.n > 1) {
		char *comp = xstrdup(todo.v[0]), *probe, target[PATH_MAX];
		struct stat st;
		ssize_t tl;

		free(todo.v[0]);
		memmove(todo.v, todo.v + 1, todo.n * sizeof(char *));
		todo.n--;
		strv_push(&done, comp);
		free(comp);
		probe = join_stack(r->dir, &done, done.n);
		if (missing || dirs_find(r->dirs, probe, strlen(probe)) >= 0) {
			free(probe);
			continue;	/* a directory verified in this run (see the top of this file) */
		}
		if (lstat(probe, &st) < 0) {
			free(probe);
			missing = errno == ENOENT || errno == ENOTDIR;
			continue;	/* missing: keep walking */
		}
		if (!S_ISLNK(st.st_mode)) {
			dirs_note(r, probe, &st);
			free(probe);
			continue;	/* a real directory (or a file: the open fails later): keep walking */
		}
		tl = readlink(probe, target, sizeof(target) - 1);
		free(probe);
		if (tl < 0 || ++links > 40) {
			*why = xasprintf(_("path \"%s\": too many or unreadable symlinks"), path);
			rc = -ELOOP;
			goto out;
		}
		target[tl] = 0;
		/* Replace the link by its target, then re-queue the rest. */
		free(done.v[--done.n]);
		done.v[done.n] = NULL;
		{
			struct strv rest = { 0 };
			for (i = 0; i < todo.n; i++)
				strv_push(&rest, todo.v[i]);
			strv_free(&todo);
			if (target[0] == '/') {
				strv_free(&done);
			}
			if (push_components(&done, target, 1) < 0) {
				*why = xasprintf(_("path \"%s\": symlink to \"%s\" points outside the root"),
						 path, target);
				strv_free(&rest);
				rc = -EPERM;
				goto out;
			}
			/* Resolved link components must be re-checked: move them back to todo. */
			for (i = 0; i < done.n; i++)
				strv_push(&todo, done.v[i]);
			for (i = 0; i < rest.n; i++)
				strv_push(&todo, rest.v[i]);
			strv_free(&rest);
			strv_free(&done);
		}
	}
	for (i = 0; i < todo.n; i++)
		strv_push(&done, todo.v[i]);
	*host = join_stack(r->dir, &done, done.n);
out:
	strv_free(&done);
	strv_free(&todo);
	return rc;
}

int root_resolve(const struct root *r, const char *path, char **host, char **why)
{
	char *cur = xstrdup(path);
	int links = 0, rc;

	for (;;) {
		char target[PATH_MAX], *next;
		struct strv stack = { 0 };
		struct stat st;
		ssize_t tl;

		rc = root_path(r, cur, host, why);
		if (rc < 0 || lstat(*host, &st) < 0 || !S_ISLNK(st.st_mode))
			break;
		tl = readlink(*host, target, sizeof(target) - 1);
		if (tl < 0 || ++links > 40) {
			*why = xasprintf(_("path \"%s\": too many or unreadable symlinks"), path);
			rc = -ELOOP;
			break;
		}
		target[tl] = 0;
		/* A relative target is relative to the directory the link really is in. */
		if (target[0] == '/') {
			next = xstrdup(target);
		} else {
			const char *real = *host + strlen(r->dir), *slash = strrchr(real, '/');
			next = xasprintf("%.*s/%s", (int)(slash - real), real, target);
		}
		free(*host);
		*host = NULL;
		if (push_components(&stack, next, 1) < 0) {
			*why = xasprintf(_("path \"%s\": symlink to \"%s\" points outside the root"), path, target);
			strv_free(&stack);
			free(next);
			rc = -EPERM;
			break;
		}
		free(cur);
		cur = join_stack("", &stack, stack.n);
		strv_free(&stack);
		free(next);
	}
	if (rc < 0) {
		free(*host);
		*host = NULL;
	}
	free(cur);
	return rc;
}

int root_read(const struct root *r, const char *path, size_t max, char **data, size_t *len, char **why)
{
	return root_read_stat(r, path, max, data, len, NULL, why);
}

int root_read_stat(const struct root *r, const char *path, size_t max, char **data, size_t *len, struct stat *sb,
		   char **why)
{
	char *host = NULL;
	/*
	 * The common case at once: the last component is no symlink, and the
	 * open (O_NOFOLLOW) says so without an lstat() first.  Refused as a
	 * symlink or not a regular file (-EINVAL both): resolved, read again.
	 */
	int rc = root_path(r, path, &host, why);

	if (rc < 0)
		return rc;
	rc = read_regular_file_stat(host, max, data, len, sb);
	if (rc == -EINVAL) {
		free(host);
		host = NULL;
		if ((rc = root_resolve(r, path, &host, why)) < 0)
			return rc;
		rc = read_regular_file_stat(host, max, data, len, sb);
	}
	if (rc == -EINVAL)
		*why = xasprintf(_("%s is not a regular file"), path);
	else if (rc == -EFBIG)
		*why = xasprintf(_("%s is larger than %zu KiB: not a file this could be"), path, max >> 10);
	else if (rc < 0)
		*why = xasprintf(_("cannot read %s: %s"), path, strerror(-rc));
	free(host);
	return rc;
}

#define ROOT_DB_MAX (16u << 20)	/* /etc/passwd, /etc/group */

static int load_db(const struct root *r, const char *file, char **cache)
{
	char *why = NULL;
	int rc;
	if (*cache)
		return 0;
	rc = root_read(r, file, ROOT_DB_MAX, cache, NULL, &why);
	free(why);
	return rc == -ENOENT ? -ENXIO : rc;	/* the file itself is missing, not a name in it */
}

/*
 * Find "name:" (or field 3 == id when name is NULL) in a colon database;
 * returns the line, its first nf (at most 4) fields copied into fields.
 * Lines are split where they lie: only the matching one is copied.
 */
static const char *db_find(const char *db, const char *name, long id, char **fields, int nf)
{
	const char *p = db, *fs[4];
	size_t fl[4], nl = name ? strlen(name) : 0;

	if (nf > 4)
		nf = 4;
	while (p && *p) {
		const char *eol = strchr(p, '\n'), *end = eol ? eol : p + strlen(p), *f = p, *colon;
		int k = 0, hit;

		while (k < nf) {
			colon = memchr(f, ':', (size_t)(end - f));
			fs[k] = f;
			fl[k++] = (size_t)((colon ? colon : end) - f);
			if (!colon)
				break;
			f = colon + 1;
		}
		if (k < 3)
			hit = 0;
		else if (name)
			hit = fl[0] == nl && memcmp(fs[0], name, nl) == 0;
		else {
			char num[32];
			hit = fl[2] > 0 && fl[2] < sizeof(num);
			if (hit) {
				memcpy(num, fs[2], fl[2]);
				num[fl[2]] = 0;
				hit = strtol(num, NULL, 10) == id;
			}
		}
		if (hit) {
			int j;
			for (j = 0; j < k; j++)
				fields[j] = xstrndup(fs[j], fl[j]);
			for (; j < nf; j++)
				fields[j] = xstrdup("");
			return p;
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* A uid/gid field: decimal digits only, below 2^32 - 1. */
static int parse_id(const char *s, unsigned long *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *end || errno || *out >= 0xffffffffUL ? -EINVAL : 0;
}

static void free_fields(char **f, int n)
{
	int i;
	for (i = 0; i < n; i++)
		free(f[i]);
}

int root_user(struct root *r, const char *name, uid_t *uid, gid_t *gid)
{
	char *f[4] = { 0 };
	unsigned long id, gid_;
	int rc = load_db(r, "/etc/passwd", &r->passwd);
	if (rc < 0)
		return rc;
	if (!db_find(r->passwd, name, 0, f, 4))
		return -ENOENT;
	/* "opendkim:x::" must not become uid 0: an id that is not a number is a broken entry. */
	if (parse_id(f[2], &id) < 0 || parse_id(f[3], &gid_) < 0) {
		free_fields(f, 4);
		return -EBADMSG;
	}
	*uid = (uid_t)id;
	if (gid)
		*gid = (gid_t)gid_;
	free_fields(f, 4);
	return 0;
}

int root_group(struct root *r, const char *name, gid_t *gid)
{
	char *f[3] = { 0 };
	unsigned long id;
	int rc = load_db(r, "/etc/group", &r->group);
	if (rc < 0)
		return rc;
	if (!db_find(r->group, name, 0, f, 3))
		return -ENOENT;
	if (parse_id(f[2], &id) < 0) {
		free_fields(f, 3);
		return -EBADMSG;
	}
	*gid = (gid_t)id;
	free_fields(f, 3);
	return 0;
}

static char *id_name(struct root *r, const char *file, char **cache, long id)
{
	char *f[3] = { 0 }, *name;
	if (load_db(r, file, cache) < 0 || !db_find(*cache, NULL, id, f, 3))
		return xasprintf("%ld", id);
	name = xstrdup(f[0]);
	free_fields(f, 3);
	return name;
}

char *root_user_name(struct root *r, uid_t uid)
{
	return id_name(r, "/etc/passwd", &r->passwd, (long)uid);
}

char *root_group_name(struct root *r, gid_t gid)
{
	return id_name(r, "/etc/group", &r->group, (long)gid);
}
