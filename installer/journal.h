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
 *   cmd seq=K argv=A                             (what ran; a command has no undo)
 *   action seq=K type=TYPE arg=A undo=U          (an action type's undo parameters)
 *   done seq=K [exit=C]
 *   checkpoint stage=STAGE
 *   end status=ok|failed|interrupted changes=N time=T
 *   rolled-back time=T                           (appended by `mailstage rollback`)
 *   undo-failed errors=N time=T                  (a rollback that did not finish)
 *
 * Read back strictly (journal_parse): every record has exactly its fields,
 * once each, every value of its type; paths absolute and normalised, in the
 * target and outside the state directory; ar= a backup of the run's own
 * directory, temp= the name mailstage gives its temporary files.  An undo is
 * never an argv from disk: an action record names an action type of the
 * table the runner passes in (struct state's actions) and its parameters,
 * which that type checks, and the type's code builds what runs.  A final
 * line without its newline is a record torn by a crash before its fsync
 * finished, so its mutation never started: it is ignored (and cut off
 * before anything is appended).
 */
#ifndef MAILSTAGE_JOURNAL_H
#define MAILSTAGE_JOURNAL_H

#include <sys/types.h>
#include "atomic.h"
#include "root.h"
#include "util.h"

struct action_type;

struct state {
	struct root *root;
	char *dir;			/* host path of /var/lib/mailstage */
	int lock_fd;
	/*
	 * The action types rollback may undo (NULL-terminated), set by the
	 * caller after state_open(): the runner passes action_types_all().
	 * NULL: every action record is refused as unknown.
	 */
	const struct action_type *const *actions;
	/* the names in checkpoints/, listed once (checkpoint_present) */
	struct strv cp_names;
	int cp_listed;
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
/*
 * As state_runs, but only the runs that are not over (no end record, or
 * one with status=interrupted, and not rolled back): what apply looks for.
 * A journal is still opened through the same trust checks; one that says
 * it is over is not parsed (apply does not act on it; rollback and status,
 * which do, parse it strictly).  The cost of a no-op apply then does not
 * grow with the history.
 */
int state_runs_unfinished(struct state *st, struct runinfo **v, size_t *n);
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
/*
 * Has the stage a checkpoint file (what a converged apply needs to know)?
 * checkpoints/ is listed once per state_open(): one directory read instead
 * of a file read per stage; checkpoint_write() adds to the list.
 */
int checkpoint_present(struct state *st, const char *stage);

/* Split a record line into its kind and fields; value of a field (unescaped) or NULL. */
char *record_field(const char *line, const char *key);

/* ---- the strict reading of a journal ---- */

enum jrec_kind {
	JR_BEGIN, JR_RESUME, JR_STAGE, JR_FILE, JR_REMOVE, JR_DIR, JR_ATTR, JR_CMD, JR_ACTION, JR_DONE,
	JR_CHECKPOINT, JR_END, JR_ROLLED_BACK, JR_UNDO_FAILED
};

struct jrec {
	enum jrec_kind kind;
	unsigned line;			/* 1-based line of the journal */
	unsigned seq;			/* changes and done */
	char *path;			/* file, remove, dir, attr (a target path) */
	char *temp;			/* file: its temporary file, or NULL */
	char *ar;			/* file, remove with prior=backup: "backup-S.tar" */
	int prior_backup;		/* file, remove: 1 = prior=backup, 0 = prior=absent */
	unsigned long uid, gid;		/* attr: the prior owner */
	unsigned mode;			/* attr: the prior mode */
	const struct action_type *action;	/* action: its type, from the table */
	char *arg, *undo;		/* action: checked by action->undo_check */
	char *name;			/* stage, checkpoint: the stage; begin: cmd; end: status */
	long time;			/* begin, resume, end, rolled-back, undo-failed */
	unsigned changes;		/* end */
	int done;			/* a change: a done record with its seq follows */
	const char *stage;		/* a change: the stage it was made in (points into a stage record), or NULL */
};

struct jparsed {
	struct jrec *v;
	size_t n;
	unsigned max_seq;
	int rolled_back;
	const char *status;		/* the last end record's status, or NULL */
};

/*
 * Parse a journal of run run_no strictly (see the top): 0 and *out, or
 * -EINVAL with *line (1-based) and *why (what is wrong with that record).
 * root is the target (an action type's check may need it), types the
 * action table.  Nothing is read from disk and nothing is run.
 */
int journal_parse(const char *text, size_t len, unsigned run_no, const struct root *root,
		  const struct action_type *const *types, struct jparsed *out, unsigned *line, char **why);
void jparsed_free(struct jparsed *p);
/* Is the record a change (file, remove, dir, attr, cmd, action)? */
int jrec_is_change(const struct jrec *r);
/*
 * What rollback undoes, in order: indices into p->v, every change once,
 * newest first, the actions whose type is undo_last after all the rest.
 * Returns the count; *order is malloc'd (caller frees).
 */
size_t journal_plan(const struct jparsed *p, size_t **order);

#endif
