/*
 * root.c - path confinement and target user/group lookups.
 *
 * Sanity check at the trust boundary: every path a stage names goes through
 * root_path() before any system call touches it.
 */
#include "i18n.h"
#include "root.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int root_init(struct root *r, const char *dir, char **why)
{
	char *canon;

	memset(r, 0, sizeof(*r));
	canon = realpath(dir, NULL);
	if (!canon) {
		int e = errno;
		*why = xasprintf(_("--root %s: %s"), dir, strerror(e));
		return -e;
	}
	if (strcmp(canon, "/") == 0) {
		r->dir = xstrdup("");
		r->is_host = 1;
		free(canon);
	} else {
		struct stat st;
		if (stat(canon, &st) < 0 || !S_ISDIR(st.st_mode)) {
			*why = xasprintf(_("--root %s: not a directory"), dir);
			free(canon);
			return -ENOTDIR;
		}
		r->dir = canon;
	}
	return 0;
}

void root_free(struct root *r)
{
	free(r->dir);
	free(r->passwd);
	free(r->group);
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
	int links = 0, rc = 0;
	size_t i;

	*host = NULL;
	if (!path || path[0] != '/') {
		*why = xasprintf(_("path \"%s\" is not absolute"), path ? path : "");
		return -EPERM;
	}
	if (push_components(&todo, path, 0) < 0) {
		*why = xasprintf(_("path \"%s\" contains \"..\""), path);
		rc = -EPERM;
		goto out;
	}
	/* Walk every component but the last, following directory symlinks. */
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
		if (lstat(probe, &st) < 0 || !S_ISLNK(st.st_mode)) {
			free(probe);
			continue;	/* missing or a real directory: keep walking */
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
	char *host = NULL;
	int rc = root_resolve(r, path, &host, why);

	if (rc < 0)
		return rc;
	rc = read_regular_file(host, max, data, len);
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

/* Find "name:" (or field 3 == id when name is NULL) in a colon database; returns the line. */
static const char *db_find(const char *db, const char *name, long id, char **fields, int nf)
{
	const char *p = db;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		char *line = xstrndup(p, ll), *save = NULL, *f;
		int k = 0;
		for (f = line; k < nf; k++) {
			char *colon = strchr(f, ':');
			if (colon)
				*colon = 0;
			fields[k] = f;
			if (!colon) {
				k++;
				break;
			}
			f = colon + 1;
		}
		(void)save;
		if (k >= 3 && ((name && strcmp(fields[0], name) == 0) ||
			       (!name && fields[2][0] && strtol(fields[2], NULL, 10) == id))) {
			int j;
			for (j = 0; j < k; j++)
				fields[j] = xstrdup(fields[j]);
			for (; j < nf; j++)
				fields[j] = xstrdup("");
			free(line);
			return p;
		}
		free(line);
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
