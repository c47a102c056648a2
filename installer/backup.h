/*
 * backup.h - the backup archives of a run (runs/N/backup-S.tar): before a
 * file is replaced or removed, what it holds is saved here; undo puts it
 * back from here.  libarchive is loaded on first use (lazylib.h).
 */
#ifndef MAILSTAGE_BACKUP_H
#define MAILSTAGE_BACKUP_H

struct archive;

/*
 * Create the next unused segment run_dir/backup-S.tar (S counted up from
 * *segment, *ar_name set to "backup-S.tar") and open it for writing.
 * 0 or -errno (reported).
 */
int backup_open(const char *run_dir, unsigned *segment, char **ar_name, struct archive **ar, int *fd);

/* Append the regular file `host` as entry `name`, fsync'd: 0 or -errno. */
int backup_add(struct archive *ar, int fd, const char *host, const char *name);

/* Finish and free a segment opened by backup_open (the fd stays the caller's). */
void backup_close(struct archive *ar);

/*
 * Put entry `seq` ("SEQ/...") of the archive arpath back at host path,
 * unless host already is exactly what it holds.  0 or -errno (reported).
 */
int backup_restore(const char *arpath, unsigned seq, const char *host);

#endif
