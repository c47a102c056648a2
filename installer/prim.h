/*
 * prim.h - the host primitives: the only way a stage changes the host.
 *
 * Each primitive resolves its path inside --root, records its undo in the
 * run's journal (fsync'd, with a backup of anything it replaces) and only
 * then mutates.  Failures return -errno and leave a message in run->error.
 */
#ifndef MAILSTAGE_PRIM_H
#define MAILSTAGE_PRIM_H

#include <sys/types.h>
#include "exec.h"

struct run;

int prim_write_file(struct run *r, const char *path, const void *data, size_t len, const char *owner,
		    const char *group, mode_t mode);
int prim_mkdir(struct run *r, const char *path, const char *owner, const char *group, mode_t mode);
int prim_set_attr(struct run *r, const char *path, const char *owner, const char *group, mode_t mode);
int prim_remove(struct run *r, const char *path);
/*
 * Run argv (no shell).  Every path in touches (NULL-terminated, may be
 * NULL) is backed up first, so files the command rewrites (aliases.db)
 * come back at rollback; the command itself has no undo (rollback never
 * runs an argv read from the journal: undoable effects are action types).
 * A non-zero exit is a failure, with the output in the message and the journal.
 */
int prim_run(struct run *r, char *const argv[], char *const touches[], int timeout_ms, struct exec_result *res);

/*
 * Carry out a typed action: prepare() computes its undo, which is journaled
 * (fsync'd) before apply() runs.  `what` is the one-line description.
 */
struct ctx;
struct action_type;
int prim_action(struct run *r, struct ctx *c, const struct action_type *type, const char *arg,
		const char *what);

/* Resolve owner and group names in the target: 0 or -ENOENT with run->error set. */
int prim_ids(struct run *r, const char *owner, const char *group, uid_t *uid, gid_t *gid);

#endif
