/*
 * backup.h - the backup archives of a run (runs/N/backup-S.tar) and the
 * prior states undo puts back.  Before a file is replaced or removed, what
 * it holds is saved here: the bytes, the owner, the mode, mtime and atime
 * to the nanosecond and every extended attribute by its true name (POSIX
 * ACLs and SELinux labels included), the same on every libarchive from
 * 3.1.2 up.  Undo describes what a path was before a change as a struct
 * prior and hands it to prior_put_back(), the one place that compares
 * before it acts: putting back what is already there is success, whatever
 * the kind of change.  libarchive is loaded on first use (lazylib.h).
 */
#ifndef MAILSTAGE_BACKUP_H
#define MAILSTAGE_BACKUP_H

#include <sys/types.h>
#include "atomic.h"
#include "util.h"

struct archive;

/*
 * Create the next unused segment run_dir/backup-S.tar (S counted up from
 * *segment, *ar_name set to "backup-S.tar") and open it for writing.
 * 0 or -errno (reported).
 */
int backup_open(const char *run_dir, unsigned *segment, char **ar_name, struct archive **ar, int *fd);

/* Append the regular file `host` as backup entry `seq` of `path` (as shown in the root), fsync'd. */
int backup_add(struct archive *ar, int fd, const char *host, unsigned seq, const char *path);

/* Finish and free a segment opened by backup_open (the fd stays the caller's). */
void backup_close(struct archive *ar);

/* What a path was before a change, as the journal and the backup record it. */
enum prior_kind {
	PRIOR_ABSENT,			/* no file there (the change created it) */
	PRIOR_ABSENT_DIR,		/* no directory there (the change made it) */
	PRIOR_ATTR,			/* owner and mode */
	PRIOR_FILE,			/* a regular file: bytes and meta from the backup */
};
struct prior {
	enum prior_kind kind;
	uid_t uid;			/* PRIOR_ATTR */
	gid_t gid;
	mode_t mode;
	int set_owner;			/* PRIOR_ATTR: compare and set the owner (root only) */
	struct buf data;		/* PRIOR_FILE */
	struct file_meta m;
	int exact_time;			/* the backup kept mtime to the nanosecond */
};

/* A PRIOR_FILE from backup entry `seq` of the archive arpath: 0 or -errno (reported). */
int prior_load_backup(struct prior *p, const char *arpath, unsigned seq, const char *host);
void prior_free(struct prior *p);

/*
 * Make host what p says it was: nothing when it already is (content,
 * owner, mode, xattrs and ACLs, mtime as recorded), else put it back
 * (restore the file, remove what was created, set owner and mode).
 * 0 or -errno.
 */
int prior_put_back(const char *host, const struct prior *p);

#endif
