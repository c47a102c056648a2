/*
 * backup.c - the backup archives of a run (see backup.h): what a file held
 * before mailstage replaced or removed it, saved as pax entries before the
 * change (write-ahead, fsync'd), and put back from there by undo.
 *
 * Each backed-up file is two entries.  "SEQ.meta/PATH" comes first: a text
 * that mailstage writes and reads itself, with the owner, the mode, mtime
 * and atime to the nanosecond and every extended attribute by its true
 * name, hex-encoded (system.posix_acl_access and _default, the POSIX ACLs,
 * and security.selinux included).  "SEQ/PATH" follows with the bytes.
 * libarchive is given no xattrs or ACLs at all: versions differ in what
 * they write and read back (3.1.2 skips system.* and ignores ACLs; 3.3 and
 * later write every xattr twice, as LIBARCHIVE.xattr. and SCHILY.xattr.,
 * and read the second back under its still-encoded name), so a restore
 * that relied on them was not exact on any of them.  Full pax (not
 * pax_restricted) keeps the header times exact too.
 *
 * A backup written before the .meta entry existed is still restored from
 * its pax header, with the duplicate xattr forms dropped.
 */
#include "backup.h"
#include "atomic.h"
#include "i18n.h"
#include "lazylib.h"
#include "msg.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_MAGIC "mailstage-backup-meta 1\n"
#define META_MAX (4u << 20)	/* far beyond any real set of xattrs (a value is at most 64 KiB) */

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
	if (!*ar || archive_write_set_format_pax(*ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(*ar, 0) != ARCHIVE_OK ||
	    archive_write_open_fd(*ar, *fd) != ARCHIVE_OK) {
		msg_error(_("backup archive: %s"), *ar ? archive_error_string(*ar) : _("out of memory"));
		return -EIO;
	}
	return 0;
}

static void hex_append(struct buf *b, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i;
	for (i = 0; i < n; i++) {
		char two[2] = { hx[s[i] >> 4], hx[s[i] & 15] };
		buf_append(b, two, 2);
	}
}

/* The .meta text of a file: owner, mode, times, every xattr (name and value hex-encoded). */
static void meta_text(struct buf *b, const struct stat *sb, const struct xattr *x, size_t nx)
{
	size_t i;

	buf_puts(b, META_MAGIC);
	buf_printf(b, "mode %o\nowner %lu %lu\nmtime %lld %ld\natime %lld %ld\n", (unsigned)(sb->st_mode & 07777),
		   (unsigned long)sb->st_uid, (unsigned long)sb->st_gid, (long long)sb->st_mtim.tv_sec,
		   (long)sb->st_mtim.tv_nsec, (long long)sb->st_atim.tv_sec, (long)sb->st_atim.tv_nsec);
	for (i = 0; i < nx; i++) {
		buf_puts(b, "xattr ");
		hex_append(b, x[i].name, strlen(x[i].name));
		buf_puts(b, " ");
		hex_append(b, x[i].value, x[i].size);
		buf_puts(b, "\n");
	}
}

static int write_entry(struct archive *ar, const struct stat *sb, const char *name, mode_t perm, const void *data,
		       size_t len)
{
	struct archive_entry *e = archive_entry_new();
	int r = 0;

	if (!e)
		return -ENOMEM;
	archive_entry_copy_stat(e, sb);	/* owner, type, times with nanoseconds */
	archive_entry_copy_pathname(e, name);
	archive_entry_set_perm(e, perm);
	archive_entry_set_size(e, (int64_t)len);
	if (archive_write_header(ar, e) != ARCHIVE_OK || (len && archive_write_data(ar, data, len) != (ssize_t)len) ||
	    archive_write_finish_entry(ar) != ARCHIVE_OK)
		r = -EIO;
	archive_entry_free(e);
	return r;
}

int backup_add(struct archive *ar, int ar_fd, const char *host, unsigned seq, const char *path)
{
	char *data = NULL, *name = NULL, *mname = NULL;
	struct xattr *x = NULL;
	struct buf meta = { 0 };
	size_t len = 0, nx = 0;
	struct stat sb;
	int fd, r = 0;

	fd = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	r = read_fd_known(fd, &sb, 0, &data, &len);
	if (r < 0)
		goto out;
	r = xattrs_read(host, &x, &nx);
	if (r < 0) {
		msg_error(_("backup of %s: cannot read its extended attributes: %s"), host, strerror(-r));
		goto out;
	}
	meta_text(&meta, &sb, x, nx);
	mname = xasprintf("%u.meta%s", seq, path);
	name = xasprintf("%u%s", seq, path);
	if ((r = write_entry(ar, &sb, mname, 0600, meta.data, meta.len)) < 0 ||
	    (r = write_entry(ar, &sb, name, sb.st_mode & 07777, data, len)) < 0) {
		msg_error(_("backup of %s: %s"), host, archive_error_string(ar));
		goto out;
	}
	if (fsync(ar_fd) < 0)
		r = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (data)
		memset(data, 0, len);	/* it may be a private key */
	free(data);
	xattrs_free(x, nx);
	buf_free(&meta);
	free(name);
	free(mname);
	return r;
}

void backup_close(struct archive *ar)
{
	archive_write_close(ar);
	archive_write_free(ar);
}

/* ---- restore ---- */

static int lazy_archive_or_warn(void)
{
	char *why = NULL;
	int r = lazy_archive(&why);
	if (r < 0)
		msg_error("%s", why);
	free(why);
	return r;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode n hex digits at s into a new buffer (NUL-terminated): its length, or -1. */
static ssize_t unhex(const char *s, size_t n, char **out)
{
	size_t i;
	*out = NULL;
	if (n % 2)
		return -1;
	*out = xmalloc(n / 2 + 1);
	for (i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0) {
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i / 2] = (char)(hi << 4 | lo);
	}
	(*out)[n / 2] = 0;
	return (ssize_t)(n / 2);
}

static void meta_add_xattr(struct file_meta *m, char *name, char *value, size_t size)
{
	struct xattr *x;
	m->xattrs = xrealloc(m->xattrs, (m->nxattrs + 1) * sizeof(*m->xattrs));
	x = &m->xattrs[m->nxattrs++];
	x->name = name;
	x->value = value;
	x->size = size;
}

/* Parse a .meta text into m: 0 or -EINVAL (not one mailstage wrote). */
static int meta_parse(const char *text, size_t len, struct file_meta *m)
{
	const char *p = text, *end = text + len;
	int have = 0;

	if (len < strlen(META_MAGIC) || memcmp(text, META_MAGIC, strlen(META_MAGIC)) != 0 || text[len - 1] != '\n' ||
	    memchr(text, 0, len))
		return -EINVAL;
	for (p += strlen(META_MAGIC); p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = xstrndup(p, (size_t)(nl - p));
		unsigned mode;
		unsigned long u, g;
		long long sec;
		long nsec;
		char c;
		int ok = 1;

		p = nl + 1;
		if (sscanf(line, "mode %o%c", &mode, &c) == 1 && mode <= 07777)
			m->mode = mode, have |= 1;
		else if (sscanf(line, "owner %lu %lu%c", &u, &g, &c) == 2)
			m->uid = (uid_t)u, m->gid = (gid_t)g, have |= 2;
		else if (sscanf(line, "mtime %lld %ld%c", &sec, &nsec, &c) == 2 && nsec >= 0 && nsec < 1000000000)
			m->mtime.tv_sec = (time_t)sec, m->mtime.tv_nsec = nsec, m->has_mtime = 1, have |= 4;
		else if (sscanf(line, "atime %lld %ld%c", &sec, &nsec, &c) == 2 && nsec >= 0 && nsec < 1000000000)
			m->atime.tv_sec = (time_t)sec, m->atime.tv_nsec = nsec, m->has_atime = 1;
		else if (strncmp(line, "xattr ", 6) == 0) {
			const char *hn = line + 6, *sp = strchr(hn, ' ');
			char *name = NULL, *value = NULL;
			ssize_t nl2, vl = -1;
			nl2 = sp ? unhex(hn, (size_t)(sp - hn), &name) : -1;
			if (nl2 > 0 && (size_t)nl2 == strlen(name))
				vl = unhex(sp + 1, strlen(sp + 1), &value);
			if (vl < 0) {
				free(name);
				free(value);
				ok = 0;
			} else {
				meta_add_xattr(m, name, value, (size_t)vl);
			}
		} else
			ok = 0;
		free(line);
		if (!ok)
			return -EINVAL;
	}
	return have == 7 ? 0 : -EINVAL;
}

/* "%XX" decoded; NULL when s has no escape (or a malformed one). */
static char *url_decode(const char *s)
{
	char *out, *o;
	if (!strchr(s, '%'))
		return NULL;
	out = o = xmalloc(strlen(s) + 1);
	for (; *s; s++) {
		if (*s == '%') {
			int hi = s[1] ? hexval((char)(s[1] | 0x20)) : -1, lo = hi >= 0 && s[2] ? hexval((char)(s[2] | 0x20)) : -1;
			if (lo < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return out;
}

/*
 * A backup without a .meta entry (written by an older mailstage) has its
 * xattrs from the pax header, where libarchive 3.3 and later return each
 * escaped name twice: decoded (LIBARCHIVE.xattr.) and still escaped
 * (SCHILY.xattr.).  The escaped form is a duplicate and is dropped.
 */
static void drop_duplicate_forms(struct file_meta *m)
{
	size_t i, k, n = 0;
	for (i = 0; i < m->nxattrs; i++) {
		char *dec = url_decode(m->xattrs[i].name);
		int dup = 0;
		for (k = 0; dec && k < m->nxattrs && !dup; k++)
			dup = k != i && strcmp(m->xattrs[k].name, dec) == 0;
		free(dec);
		if (dup) {
			free(m->xattrs[i].name);
			free(m->xattrs[i].value);
		} else {
			m->xattrs[n++] = m->xattrs[i];
		}
	}
	m->nxattrs = n;
}

/* Owner, mode, mtime and xattrs from the pax header of an entry (a backup without .meta). */
static void meta_from_header(struct archive_entry *e, struct file_meta *m)
{
	const char *xn;
	const void *xv;
	size_t xs;

	m->uid = (uid_t)archive_entry_uid(e);
	m->gid = (gid_t)archive_entry_gid(e);
	m->mode = archive_entry_perm(e);
	m->has_mtime = 1;
	m->mtime.tv_sec = archive_entry_mtime(e);
	m->mtime.tv_nsec = archive_entry_mtime_nsec(e);
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
		char *v = xmalloc(xs + 1);
		memcpy(v, xv, xs);
		meta_add_xattr(m, xstrdup(xn), v, xs);
	}
	drop_duplicate_forms(m);
}

/*
 * Undo compares before it acts: a file that already is exactly what its
 * backup holds (bytes, owner, mode, mtime to the nanosecond, every xattr,
 * the ACLs among them) needs no restore, so undoing a change that never
 * happened (an immutable directory, a failure before the rename) succeeds
 * instead of failing.  Only an old backup without .meta, whose mtime may
 * have been kept to the second, matches on the seconds when it has no
 * nanoseconds.
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

static int file_matches(const char *host, const void *data, size_t dlen, const struct file_meta *m, int exact_time)
{
	struct stat sb;
	struct xattr *x = NULL;
	size_t nx = 0, len = 0;
	char *cur = NULL;
	int same = 0;

	if (lstat(host, &sb) < 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 07777) != (m->mode & 07777) ||
	    (m->set_owner && (sb.st_uid != m->uid || sb.st_gid != m->gid)) ||
	    (m->has_mtime && (sb.st_mtim.tv_sec != m->mtime.tv_sec ||
			      ((exact_time || m->mtime.tv_nsec) && sb.st_mtim.tv_nsec != m->mtime.tv_nsec))))
		return 0;
	if (read_regular_file(host, 0, &cur, &len) < 0)
		return 0;
	if (len == dlen && (len == 0 || memcmp(cur, data, len) == 0) && xattrs_read(host, &x, &nx) == 0)
		same = xattr_sets_equal(x, nx, m->xattrs, m->nxattrs);
	xattrs_free(x, nx);
	if (cur)
		memset(cur, 0, len);
	free(cur);
	return same;
}

static int backup_load(const char *arpath, unsigned seq, const char *host, struct buf *data, struct file_meta *m,
		       int *exact_time)
{
	char *prefix = xasprintf("%u/", seq), *mprefix = xasprintf("%u.meta/", seq);
	struct archive *a = lazy_archive_or_warn() == 0 ? archive_read_new() : NULL;
	struct archive_entry *e;
	struct buf meta = { 0 };
	int r = -ENOENT, have_meta = 0;

	memset(m, 0, sizeof(*m));
	*exact_time = 0;
	if (!a)
		goto out;
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, arpath, 10240) != ARCHIVE_OK) {
		msg_error(_("cannot open backup %s: %s"), arpath, archive_error_string(a));
		r = -EIO;
		goto out;
	}
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		int is_meta = str_starts_with(archive_entry_pathname(e), mprefix);
		struct buf *to = is_meta ? &meta : data;
		char chunk[16384];
		ssize_t got;

		if (!is_meta && !str_starts_with(archive_entry_pathname(e), prefix))
			continue;
		if (is_meta && archive_entry_size(e) > (int64_t)META_MAX) {
			r = -EINVAL;
			break;
		}
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_append(to, chunk, (size_t)got);
		if (got < 0) {
			r = -EIO;
			break;
		}
		if (is_meta) {
			xattrs_free(m->xattrs, m->nxattrs);
			memset(m, 0, sizeof(*m));
			if ((r = meta_parse(meta.data ? meta.data : "", meta.len, m)) < 0)
				break;
			have_meta = 1;
			r = -ENOENT;
			continue;
		}
		if (!have_meta)
			meta_from_header(e, m);
		*exact_time = have_meta;
		m->set_owner = geteuid() == 0;
		m->exact_xattrs = 1;
		if (!data->data)
			buf_append(data, "", 0);
		r = 0;
		break;
	}
	if (r == -ENOENT)
		msg_error(_("backup entry %u of %s is missing from %s"), seq, host, arpath);
	else if (r == -EINVAL)
		msg_error(_("backup entry %u of %s: its .meta entry is not one mailstage writes: the state "
			    "directory has been tampered with"), seq, arpath);
	else if (r == -EIO)
		msg_error(_("cannot read backup %s: %s"), arpath, archive_error_string(a));
out:
	if (r < 0) {
		xattrs_free(m->xattrs, m->nxattrs);
		memset(m, 0, sizeof(*m));
		if (data->data)
			memset(data->data, 0, data->len);
		buf_free(data);
	}
	buf_free(&meta);
	if (a)
		archive_read_free(a);
	free(prefix);
	free(mprefix);
	return r;
}

/* ---- undo: the prior state of a path, compared before it is put back ---- */

int prior_load_backup(struct prior *p, const char *arpath, unsigned seq, const char *host)
{
	memset(p, 0, sizeof(*p));
	p->kind = PRIOR_FILE;
	return backup_load(arpath, seq, host, &p->data, &p->m, &p->exact_time);
}

void prior_free(struct prior *p)
{
	if (p->data.data)
		memset(p->data.data, 0, p->data.len);	/* it may be a private key */
	buf_free(&p->data);
	xattrs_free(p->m.xattrs, p->m.nxattrs);
	memset(p, 0, sizeof(*p));
}

/* 1 when host already is as recorded, 0 when not. */
static int prior_matches(const char *host, const struct prior *p)
{
	struct stat sb;

	switch (p->kind) {
	case PRIOR_ABSENT:
	case PRIOR_ABSENT_DIR:
		return lstat(host, &sb) < 0 && errno == ENOENT;
	case PRIOR_ATTR:
		/* A path gone since has nothing to put back (its removal is undone by its own record). */
		if (lstat(host, &sb) < 0)
			return 1;
		return (!p->set_owner || (sb.st_uid == p->uid && sb.st_gid == p->gid)) &&
		    (S_ISLNK(sb.st_mode) || (sb.st_mode & 07777) == (p->mode & 07777));
	case PRIOR_FILE:
		return file_matches(host, p->data.data, p->data.len, &p->m, p->exact_time);
	}
	return 0;
}

int prior_put_back(const char *host, const struct prior *p)
{
	struct stat sb;
	char *temp;
	int r = 0;

	if (prior_matches(host, p))
		return 0;	/* already what was there: nothing to do, and nothing that could fail */
	switch (p->kind) {
	case PRIOR_ABSENT:
		if (unlink(host) < 0 && errno != ENOENT)
			r = -errno;
		break;
	case PRIOR_ABSENT_DIR:
		if (rmdir(host) < 0 && errno != ENOENT)
			r = -errno;
		break;
	case PRIOR_ATTR:
		/* Only what differs is put back. */
		if (lstat(host, &sb) < 0)
			return -errno;
		if (p->set_owner && (sb.st_uid != p->uid || sb.st_gid != p->gid) && lchown(host, p->uid, p->gid) < 0)
			r = -errno;
		if (r == 0 && !S_ISLNK(sb.st_mode) && (sb.st_mode & 07777) != (p->mode & 07777) &&
		    chmod(host, p->mode & 07777) < 0)
			r = -errno;
		break;
	case PRIOR_FILE:
		temp = atomic_tempname(host);
		r = atomic_replace(host, temp, p->data.data, p->data.len, &p->m, NULL, NULL);
		free(temp);
		break;
	}
	return r;
}
