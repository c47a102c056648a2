/*
 * atomic.h - replace a file atomically: a temporary file in the same
 * directory gets its owner, mode and extended attributes before any
 * content, is written and fsync'd, renamed over the target, and the
 * directory is fsync'd.  A reader sees the old file or the new one, never
 * a torn one.  Used by the primitives and by rollback's restore.
 */
#ifndef MAILSTAGE_ATOMIC_H
#define MAILSTAGE_ATOMIC_H

#include <sys/types.h>
#include <time.h>

struct xattr {
	char *name;
	char *value;
	size_t size;
};

struct file_meta {
	uid_t uid;
	gid_t gid;
	mode_t mode;			/* permission bits */
	int set_owner;			/* 0: leave the creator's owner (unprivileged --root runs) */
	struct xattr *xattrs;
	size_t nxattrs;
	int has_mtime;
	struct timespec mtime;
	int has_atime;			/* else atime is set to mtime */
	struct timespec atime;
	int exact_xattrs;		/* 1: remove what the new file got besides xattrs (an inherited default ACL) */
};

/* "DIR/.BASE.mailstage-XXXXXXXXXXXX" with random X; the caller may journal it first. */
char *atomic_tempname(const char *host);

/*
 * Write data to `temp` (created O_EXCL, never following symlinks), set
 * meta, fsync, rename to host, fsync the directory.  `hook` (may be NULL)
 * is called with "written" after the content is durable and before the
 * rename; a negative return aborts (the temporary file is removed).
 * 0 or -errno; on failure the target is untouched and temp removed.
 */
int atomic_replace(const char *host, const char *temp, const void *data, size_t len,
		   const struct file_meta *meta, int (*hook)(const char *phase, void *arg), void *arg);

/* Read the extended attributes of a file (for copying a label). */
int xattrs_read(const char *host, struct xattr **v, size_t *n);
void xattrs_free(struct xattr *v, size_t n);

/* Parent directory of a host path (caller frees). */
char *path_dirname(const char *path);

#endif
