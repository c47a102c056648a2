/*
 * journal.h - state under /var/lib/mailstage: the run lock, one directory
 * per run with an append-only write-ahead journal and a pax backup archive,
 * checkpoints, and undo.
 *
 * Layout (under --root):
 *   /var/lib/mailstage/lock              flock()ed by the running process, holds its pid
 *   /var/lib/mailstage/runs/N/journal    one record per line, fsync'd before each mutation
 *   /var/lib/mailstage/runs/N/backup-S.tar  pax: prior bytes, mode, owner, times, xattrs (segment S; backup.h)
 *   /var/lib/mailstage/checkpoints/STAGE written atomically after the stage converged
 *
 * Journal records ("key=value" fields, values percent-escaped):
 *   begin run=N cmd=apply time=T pid=P profile=NAME
 *   resume time=T pid=P
 *   stage name=STAGE
 *   file seq=K path=P temp=T prior=absent|backup ar=backup-S.tar
 *   remove seq=K path=P prior=backup ar=...
 *   dir seq=K path=P prior=absent
 *   attr seq=K path=P uid=U gid=G mode=M        (prior owner and mode)
 *   cmd seq=K argv=A undo=U                      (undo argv, "-" for none)
 *   done seq=K [exit=C]
 *   checkpoint stage=STAGE
 *   end status=ok|failed|rolled-back changes=N time=T
 *   rolled-back time=T                           (appended by `mailstage rollback`)
 */
#ifndef MAILSTAGE_JOURNAL_H
#define MAILSTAGE_JOURNAL_H

#include <sys/types.h>
#include "atomic.h"
#include "root.h"
#include "util.h"

struct state {
	struct root *root;
	char *dir;			/* host path of /var/lib/mailstage */
	int lock_fd;
};

struct journal {
	struct state *st;
	unsigned run_no;
	char *run_dir;			/* host path */
	int fd;				/* journal file */
	struct archive *ar;		/* backup archive of this segment, opened on first use */
	int ar_fd;
	char *ar_name;			/* "backup-S.tar" */
	unsigned segment;
	unsigned seq;
	unsigned changes;		/* mutations recorded by this process */
};

/*
 * Open the state directory.  STATE_CREATE makes the directories (0700);
 * STATE_LOCK takes the run lock, failing with -EBUSY and *why naming the
 * holder's pid.  Without flags nothing is created (plan, status).
 */
#define STATE_CREATE 1
#define STATE_LOCK 2
int state_open(struct state *st, struct root *r, int flags, char **why);
void state_close(struct state *st);

/* What a run's journal says about it. */
struct runinfo {
	unsigned no;
	long time;
	char *cmd;
	char *status;			/* ok, failed, rolled-back, interrupted */
	int rolled_back;
	unsigned changes;		/* file/dir/attr/remove/cmd records */
	struct strv paths;		/* every path it touched */
	struct strv stages;		/* stages that changed something */
	struct strv checkpoints;
};
int state_runs(struct state *st, struct runinfo **v, size_t *n);
void runinfo_free(struct runinfo *v, size_t n);

/* Start a new run directory (lazily, at its first mutation) or resume run `no`. */
int journal_begin(struct state *st, struct journal *j, const char *cmd, const char *profile);
int journal_resume(struct state *st, struct journal *j, unsigned no);
/* Append one record and fsync it.  durable=0 skips the fsync (advisory records). */
int journal_record(struct journal *j, int durable, const char *fmt, ...) ATTR_PRINTF(3, 4);
/* Save the current state of host path (a regular file) as backup entry `seq`. */
int journal_backup(struct journal *j, const char *host, unsigned seq);
int journal_end(struct journal *j, const char *status);
/* Close run `no`, found interrupted, with an end record (status=interrupted): it blocks no later run. */
int journal_close_interrupted(struct state *st, unsigned no, unsigned changes);
void journal_close(struct journal *j);

/*
 * Undo every mutation of run `no`, newest first, then append `rolled-back`.
 * Errors are reported with msg_error and counted; returns 0 or -EIO.
 */
int journal_undo(struct state *st, unsigned no, unsigned *undone);

/* Checkpoints: written atomically after a stage converged in an apply. */
int checkpoint_write(struct state *st, const char *stage, unsigned run_no);
/* 0 and the run number and time, or -ENOENT. */
int checkpoint_read(struct state *st, const char *stage, unsigned *run_no, long *when);

/* Split a record line into its kind and fields; value of a field (unescaped) or NULL. */
char *record_field(const char *line, const char *key);

#endif
