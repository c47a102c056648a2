/*
 * atomic.c - atomic file replacement (temp file + fsync + rename + fsync dir).
 */
#include "atomic.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *atomic_tempname(const char *host)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[12];
	char suffix[13], *dir = path_dirname(host), *t;
	const char *base = strrchr(host, '/');
	size_t i;

	base = base ? base + 1 : host;
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		memset(rnd, 0, sizeof(rnd));	/* O_EXCL still refuses an existing name */
	for (i = 0; i < sizeof(rnd); i++)
		suffix[i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
	suffix[12] = 0;
	t = xasprintf("%s/.%s.mailstage-%s", strcmp(dir, "/") ? dir : "", base, suffix);
	free(dir);
	return t;
}

/*
 * Remove every xattr of a new file that m does not list: what it inherited
 * from its directory (a default ACL becomes the file's access ACL).  A
 * label the system does not let go (security.selinux) is left.
 */
static int drop_unlisted_xattrs(int fd, const struct file_meta *m)
{
	ssize_t ls = flistxattr(fd, NULL, 0);
	char *names, *p;
	size_t i;
	int r = 0;

	if (ls <= 0)
		return ls < 0 && errno != ENOTSUP ? -errno : 0;
	names = xmalloc((size_t)ls);
	ls = flistxattr(fd, names, (size_t)ls);
	if (ls < 0) {
		r = -errno;
		goto out;
	}
	for (p = names; p < names + ls; p += strlen(p) + 1) {
		for (i = 0; i < m->nxattrs; i++)
			if (strcmp(m->xattrs[i].name, p) == 0)
				break;
		if (i == m->nxattrs && fremovexattr(fd, p) < 0 && errno != ENOTSUP && errno != EPERM &&
		    errno != EACCES && errno != ENODATA) {
			r = -errno;
			goto out;
		}
	}
out:
	free(names);
	return r;
}

int atomic_replace(const char *host, const char *temp, const void *data, size_t len,
		   const struct file_meta *m, int (*hook)(const char *phase, void *arg), void *arg)
{
	char *dir = NULL;
	int fd, r = 0;
	size_t i;

	fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* Owner, mode and labels first: no byte is ever readable with the wrong ones. */
	if (m->set_owner && fchown(fd, m->uid, m->gid) < 0) {
		r = -errno;
		goto out;
	}
	if (m->exact_xattrs && (r = drop_unlisted_xattrs(fd, m)) < 0)
		goto out;
	for (i = 0; i < m->nxattrs; i++) {
		if (fsetxattr(fd, m->xattrs[i].name, m->xattrs[i].value, m->xattrs[i].size, 0) < 0 &&
		    errno != ENOTSUP && errno != EPERM) {
			r = -errno;
			goto out;
		}
	}
	/* The mode after the xattrs: an ACL copied with them must not widen it (chmod sets the ACL mask). */
	if (fchmod(fd, m->mode & 07777) < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, data, len);
	if (r < 0)
		goto out;
	if (fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	if (m->has_mtime) {
		struct timespec ts[2] = { m->has_atime ? m->atime : m->mtime, m->mtime };
		(void)futimens(fd, ts);
	}
	if (hook) {
		r = hook("written", arg);
		if (r < 0)
			goto out;
	}
	if (rename(temp, host) < 0) {
		r = -errno;
		goto out;
	}
	dir = path_dirname(host);
	r = fsync_dir(dir);
out:
	close(fd);
	if (r < 0)
		unlink(temp);
	free(dir);
	return r;
}

int xattrs_read(const char *host, struct xattr **v, size_t *n)
{
	ssize_t ls = llistxattr(host, NULL, 0);
	char *names, *p;

	*v = NULL;
	*n = 0;
	if (ls < 0)
		return errno == ENOTSUP ? 0 : -errno;
	if (ls == 0)
		return 0;
	names = xmalloc((size_t)ls);
	ls = llistxattr(host, names, (size_t)ls);
	if (ls < 0) {
		free(names);
		return -errno;
	}
	for (p = names; p < names + ls; p += strlen(p) + 1) {
		ssize_t vs = lgetxattr(host, p, NULL, 0);
		struct xattr *x;
		if (vs < 0)
			continue;
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		x = &(*v)[(*n)++];
		x->name = xstrdup(p);
		x->value = xmalloc((size_t)vs + 1);
		vs = lgetxattr(host, p, x->value, (size_t)vs);
		x->size = vs < 0 ? 0 : (size_t)vs;
	}
	free(names);
	return 0;
}

void xattrs_free(struct xattr *v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}
