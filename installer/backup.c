/*
 * backup.c - the backup archives of a run (see backup.h): what a file held
 * before mailstage replaced or removed it, saved as a pax entry before the
 * change (write-ahead, fsync'd), and put back from there by undo.
 */
#include "backup.h"
#include "atomic.h"
#include "i18n.h"
#include "lazylib.h"
#include "msg.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int backup_open(const char *run_dir, unsigned *segment, char **ar_name, struct archive **ar, int *fd)
{
	char *path, *why = NULL;
	struct stat sb;

	if (lazy_archive(&why) < 0) {
		msg_error(_("backup archive: %s"), why);
		free(why);
		return -ENOENT;
	}

	for (;; (*segment)++) {
		free(*ar_name);
		*ar_name = xasprintf("backup-%u.tar", *segment);
		path = xasprintf("%s/%s", run_dir, *ar_name);
		if (stat(path, &sb) < 0)
			break;
		free(path);
	}
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (*fd < 0)
		return -errno;
	*ar = archive_write_new();
	if (!*ar || archive_write_set_format_pax_restricted(*ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(*ar, 0) != ARCHIVE_OK ||
	    archive_write_open_fd(*ar, *fd) != ARCHIVE_OK) {
		msg_error(_("backup archive: %s"), *ar ? archive_error_string(*ar) : _("out of memory"));
		return -EIO;
	}
	return 0;
}

int backup_add(struct archive *ar, int ar_fd, const char *host, const char *name)
{
	struct archive *rd = NULL;
	struct archive_entry *e = NULL;
	char *data = NULL;
	size_t len = 0;
	struct stat sb;
	int fd = -1, r = 0;

	fd = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	close(fd);
	fd = -1;
	r = read_whole_file(host, &data, &len);
	if (r < 0)
		goto out;
	rd = archive_read_disk_new();
	e = archive_entry_new();
	archive_entry_copy_sourcepath(e, host);
	if (archive_read_disk_entry_from_file(rd, e, -1, &sb) != ARCHIVE_OK) {
		msg_error(_("backup of %s: %s"), host, archive_error_string(rd));
		r = -EIO;
		goto out;
	}
	archive_entry_copy_pathname(e, name);
	archive_entry_set_size(e, (int64_t)len);
	if (archive_write_header(ar, e) != ARCHIVE_OK ||
	    (len && archive_write_data(ar, data, len) != (ssize_t)len) ||
	    archive_write_finish_entry(ar) != ARCHIVE_OK) {
		msg_error(_("backup of %s: %s"), host, archive_error_string(ar));
		r = -EIO;
		goto out;
	}
	if (fsync(ar_fd) < 0)
		r = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (e)
		archive_entry_free(e);
	if (rd)
		archive_read_free(rd);
	if (data)
		memset(data, 0, len);	/* it may be a private key */
	free(data);
	return r;
}

void backup_close(struct archive *ar)
{
	archive_write_close(ar);
	archive_write_free(ar);
}

static int lazy_archive_or_warn(void)
{
	char *why = NULL;
	int r = lazy_archive(&why);
	if (r < 0)
		msg_error("%s", why);
	free(why);
	return r;
}

/* Restore backup entry `seq` of archive `ar` to host path. */
/*
 * Undo compares before it acts: a file that already is exactly what its
 * backup holds (bytes, owner, mode, mtime, extended attributes) needs no
 * restore, so undoing a change that never happened (an immutable directory,
 * a failure before the rename) succeeds instead of failing.  An mtime the
 * backup kept to the second only matches on its seconds.
 */
static int xattr_sets_equal(const struct xattr *a, size_t na, const struct xattr *b, size_t nb)
{
	size_t i, k;
	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		for (k = 0; k < nb; k++)
			if (strcmp(a[i].name, b[k].name) == 0)
				break;
		if (k == nb || a[i].size != b[k].size || memcmp(a[i].value, b[k].value, a[i].size) != 0)
			return 0;
	}
	return 1;
}

static int already_restored(const char *host, const struct buf *data, const struct file_meta *m)
{
	struct stat sb;
	struct xattr *x = NULL;
	size_t nx = 0, len = 0;
	char *cur = NULL;
	int same = 0;

	if (lstat(host, &sb) < 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 07777) != (m->mode & 07777) ||
	    (m->set_owner && (sb.st_uid != m->uid || sb.st_gid != m->gid)) ||
	    (m->has_mtime && (sb.st_mtim.tv_sec != m->mtime.tv_sec ||
			      (m->mtime.tv_nsec && sb.st_mtim.tv_nsec != m->mtime.tv_nsec))))
		return 0;
	if (read_regular_file(host, 0, &cur, &len) < 0)
		return 0;
	if (len == data->len && (len == 0 || memcmp(cur, data->data, len) == 0) && xattrs_read(host, &x, &nx) == 0)
		same = xattr_sets_equal(x, nx, m->xattrs, m->nxattrs);
	xattrs_free(x, nx);
	if (cur)
		memset(cur, 0, len);
	free(cur);
	return same;
}

int backup_restore(const char *arpath, unsigned seq, const char *host)
{
	char *prefix = xasprintf("%u/", seq);
	struct archive *a = lazy_archive_or_warn() == 0 ? archive_read_new() : NULL;
	struct archive_entry *e;
	struct file_meta m;
	struct buf data = { 0 };
	int r = -ENOENT;

	memset(&m, 0, sizeof(m));
	if (!a) {
		r = -ENOENT;
		goto out;
	}
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, arpath, 10240) != ARCHIVE_OK) {
		msg_error(_("cannot open backup %s: %s"), arpath, archive_error_string(a));
		r = -EIO;
		goto out;
	}
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *xn;
		const void *xv;
		size_t xs;
		char chunk[16384];
		ssize_t got;

		if (!str_starts_with(archive_entry_pathname(e), prefix))
			continue;
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_append(&data, chunk, (size_t)got);
		if (got < 0) {
			r = -EIO;
			goto out;
		}
		m.uid = (uid_t)archive_entry_uid(e);
		m.gid = (gid_t)archive_entry_gid(e);
		m.mode = archive_entry_perm(e);
		m.set_owner = geteuid() == 0;
		m.has_mtime = 1;
		m.mtime.tv_sec = archive_entry_mtime(e);
		m.mtime.tv_nsec = archive_entry_mtime_nsec(e);
		archive_entry_xattr_reset(e);
		while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
			struct xattr *x;
			m.xattrs = xrealloc(m.xattrs, (m.nxattrs + 1) * sizeof(*m.xattrs));
			x = &m.xattrs[m.nxattrs++];
			x->name = xstrdup(xn);
			x->value = xmalloc(xs + 1);
			memcpy(x->value, xv, xs);
			x->size = xs;
		}
		if (!data.data)
			buf_append(&data, "", 0);
		if (already_restored(host, &data, &m)) {
			r = 0;
		} else {
			char *temp = atomic_tempname(host);
			r = atomic_replace(host, temp, data.data, data.len, &m, NULL, NULL);
			free(temp);
		}
		break;
	}
	if (r == -ENOENT)
		msg_error(_("backup entry %u of %s is missing from %s"), seq, host, arpath);
out:
	if (data.data)
		memset(data.data, 0, data.len);
	buf_free(&data);
	xattrs_free(m.xattrs, m.nxattrs);
	if (a)
		archive_read_free(a);
	free(prefix);
	return r;
}
