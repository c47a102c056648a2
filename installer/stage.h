/*
 * stage.h - what a stage is.
 *
 * A stage has a name, a one-line summary and a check().  check() compares
 * what the stage wants with what the host has and records every difference
 * as a change with the want_*() helpers below; it never mutates anything.
 * The runner shows the changes (plan), carries them out through the
 * primitives (apply) and, because each primitive journals its undo first,
 * undoes them (rollback).  So a stage reads: check, plan, apply, undo.
 */
#ifndef MAILSTAGE_STAGE_H
#define MAILSTAGE_STAGE_H

#include <sys/types.h>
#include "config.h"
#include "profile.h"
#include "root.h"
#include "util.h"

struct run;
struct ctx;

enum change_kind { CH_FILE, CH_DIR, CH_ATTR, CH_REMOVE, CH_COMMAND, CH_ACTION };

/*
 * A typed action (install packages, set an SELinux boolean, open a firewall
 * service, start a unit) that is not a file.  prepare() reads the current
 * state and returns, as one string, what undo() needs to restore it; the
 * runner journals that string (fsync'd) before apply() changes anything.
 * undo() gets only the root and that string, so rollback works from the
 * journal alone, in a later process.
 */
struct action_type {
	const char *name;		/* journal key, e.g. "selinux-boolean" */
	int (*prepare)(struct ctx *c, const char *arg, char **undo_arg);
	int (*apply)(struct ctx *c, const char *arg);
	int (*undo)(struct root *root, const char *undo_arg, char **why);
	/*
	 * Undo after every file of the run is restored (services: a unit
	 * restarted by the run is restarted again on its restored files).
	 */
	int undo_last;
};
/* The action types (steps/steps.c), for rollback's dispatch. */
const struct action_type *action_type_by_name(const char *name);

struct change {
	enum change_kind kind;
	char *path;			/* target path (not for commands) */
	char *what;			/* one line: "create /etc/x (0600 root:root)" */
	/* CH_FILE: the new content, or a producer run at apply time (new keys) */
	char *old;			/* current content, NULL when absent */
	size_t oldlen;
	char *data;
	size_t len;
	int secret;			/* never print the content */
	int (*produce)(struct ctx *c, struct change *ch);
	/* CH_FILE, CH_DIR, CH_ATTR */
	char *owner, *group;
	mode_t mode;
	/* CH_COMMAND */
	char **argv, **undo_argv;
	char **touches;			/* files the command rewrites: backed up first */
	int timeout_ms;
	/* CH_ACTION */
	const struct action_type *action;
	char *arg;
};

struct ctx {
	struct run *run;
	const struct config *cfg;
	const struct profile *prof;
	struct root *root;
	const char *stage;
	struct change *changes;
	size_t nchanges;
	struct strv notes;		/* warnings and facts for the summary */
};

struct stage {
	const char *name;
	const char *summary;
	int (*check)(struct ctx *c);
	/* NULL, or: is the stage in use with this configuration (not shown nor run when not)? */
	int (*active)(const struct config *cfg);
};

/* ---- what a check() uses ---- */

/* Current content of a target file: 0, -ENOENT, or -errno (message reported). */
int read_target(struct ctx *c, const char *path, char **data, size_t *len);
/* Does a target path exist (lstat)? */
int target_exists(struct ctx *c, const char *path);

/* Want this exact content, owner, group and mode. */
int want_file(struct ctx *c, const char *path, const char *data, size_t len, const char *owner,
	      const char *group, mode_t mode);
/* Want a file whose content is made at apply time (a new key), described by `what`. */
int want_new_file(struct ctx *c, const char *path, int (*produce)(struct ctx *, struct change *),
		  const char *what, int secret, const char *owner, const char *group, mode_t mode);
/* Want owner, group and mode on an existing file (content kept). */
int want_attr(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode);
/*
 * Unsafe modes are drift: when path (file or directory) is writable by its
 * group or others, want it without those bits, owner and group kept.  Once
 * per path per stage; nothing when absent or a symlink.
 */
int want_not_writable_by_others(struct ctx *c, const char *path);
/* Want a directory with exactly this owner, group and mode. */
int want_dir(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode);
/* Want a directory to exist; created with these when absent, left alone otherwise. */
int want_dir_exists(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode);
/* Want a command run; undo_argv (may be NULL) reverses it; touches lists files it rewrites. */
int want_command(struct ctx *c, const char *what, char *const argv[], char *const undo_argv[],
		 char *const touches[], int timeout_ms);
/* Want a typed action carried out (see struct action_type). */
int want_action(struct ctx *c, const char *what, const struct action_type *type, const char *arg);
/* A note (warning) shown in the stage's result and summary. */
void stage_note(struct ctx *c, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* A check() failure: report and return -EINVAL. */
int stage_fail(struct ctx *c, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* A refusal before anything changes (preflight): like stage_fail, and apply exits with exit_code. */
int stage_refuse(struct ctx *c, int exit_code, const char *fmt, ...) ATTR_PRINTF(3, 4);

void changes_free(struct change *v, size_t n);

/* The stages in order (steps/steps.c). */
const struct stage *const *stages_all(void);
const struct stage *stage_by_name(const char *name);

#endif
