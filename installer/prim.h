/*
 * prim.h - the host primitives: the only way a stage changes the host.
 *
 * Each primitive resolves its path inside --root, records its undo in the
 * run's journal (fsync'd, with a backup of anything it replaces) and only
 * then mutates.  Failures return -errno and leave a message in p->error.
 * The primitives take the root and the journal (struct prim), not the run:
 * they stand below the runner and never call it.
 */
#ifndef MAILSTAGE_PRIM_H
#define MAILSTAGE_PRIM_H

#include <sys/types.h>
#include "exec.h"
#include "journal.h"
#include "root.h"
#include "util.h"

struct prim {
	struct root *root;		/* the confined root */
	struct state *st;		/* its state directory (locked) */
	struct journal j;
	int jopen;			/* journal opened (first mutation done) */
	unsigned resume_no;		/* run to continue, 0 for a new run */
	const char *cmd;		/* "apply": the journal's begin record */
	const char *profile;		/* profile name, for the begin record */
	char run_id[16];
	int dry;			/* plan: primitives refuse */
	const char *stage;		/* stage being applied */
	const char *journaled_stage;
	char *error;			/* last failure, for the report */
	struct strv changed_paths;	/* paths changed by this run (handlers) */
};

/* Open the run's journal at its first mutation (new run, or the resumed one); record the stage. */
int prim_journal(struct prim *p);
/* Did this run change path (or anything under it, when path ends with '/')? */
int run_changed(const struct prim *p, const char *path);
/* Close the journal (when open) and free what the primitives hold. */
void prim_free(struct prim *p);

int prim_write_file(struct prim *r, const char *path, const void *data, size_t len, const char *owner,
		    const char *group, mode_t mode);
int prim_mkdir(struct prim *r, const char *path, const char *owner, const char *group, mode_t mode);
int prim_set_attr(struct prim *r, const char *path, const char *owner, const char *group, mode_t mode);
int prim_remove(struct prim *r, const char *path);
/*
 * Run argv (no shell).  Every path in touches (NULL-terminated, may be
 * NULL) is backed up first, so files the command rewrites (aliases.db)
 * come back at rollback; the command itself has no undo (rollback never
 * runs an argv read from the journal: undoable effects are action types).
 * A non-zero exit is a failure, with the output in the message and the journal.
 */
int prim_run(struct prim *r, char *const argv[], char *const touches[], int timeout_ms, struct exec_result *res);

/*
 * Carry out a typed action named type (its journal key): prepare(a, ...)
 * computes its undo, which is journaled (fsync'd) before apply(a, ...) runs.
 * `what` is the one-line description.
 */
int prim_action(struct prim *r, const char *type, const char *arg, const char *what,
		int (*prepare)(void *a, const char *arg, char **undo_arg), int (*apply)(void *a, const char *arg),
		void *a);

/* Resolve owner and group names in the target: 0 or -ENOENT with p->error set. */
int prim_ids(struct prim *r, const char *owner, const char *group, uid_t *uid, gid_t *gid);

#endif
