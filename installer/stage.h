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
#include <sys/stat.h>
#include "config.h"
#include "exitcode.h"
#include "profile.h"
#include "root.h"
#include "util.h"

struct run;
struct prim;
struct ctx;

#include "action.h"

enum change_kind { CH_FILE, CH_DIR, CH_ATTR, CH_REMOVE, CH_COMMAND, CH_ACTION };

/* struct action_type: installer/action.h (the journal reads it too). */
/*
 * The action types, NULL-terminated: each registers itself
 * (ACTION_REGISTER(action_x); steps/steps.c), as the stages do, so that the
 * runner finds them without calling up into steps/.  The runner hands the
 * table to the journal (struct state's actions) for rollback's dispatch.
 */
const struct action_type *const *action_types_all(void);
void action_register(const struct action_type *t);
#define ACTION_REGISTER(t) \
	static void __attribute__((constructor)) register_action_##t(void) { action_register(&t); }

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
	/* CH_COMMAND (no undo of its own: an undoable effect is an action type) */
	char **argv;
	char **touches;			/* files the command rewrites: backed up first */
	int timeout_ms;
	/* CH_ACTION */
	const struct action_type *action;
	char *arg;
};

struct ctx {
	struct run *run;		/* the runner's (opaque to a stage) */
	struct prim *prim;		/* the primitives' (opaque: use the stage_*() below) */
	const struct config *cfg;
	const struct profile *prof;
	struct root *root;
	const char *stage;
	struct change *changes;
	size_t nchanges;
	struct strv notes;		/* warnings and facts for the summary */
	int exit_code;			/* set by stage_refuse() */
	struct seen_file *seen;		/* the file read_target() read last (stage.c) */
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
/* lstat() of a target path: 0 or -errno (a path refused by the root: -EPERM, no message). */
int target_lstat(struct ctx *c, const char *path, struct stat *sb);

/* Want this exact content, owner, group and mode. */
int want_file(struct ctx *c, const char *path, const char *data, size_t len, const char *owner,
	      const char *group, mode_t mode);
/*
 * Want a file whose content is made at apply time (a new key), described by
 * `what`.  produce() fills ch->data and returns 0, or returns 1 to keep the
 * file as it is (nothing written), or a negative errno (the apply fails).
 */
int want_new_file(struct ctx *c, const char *path, int (*produce)(struct ctx *, struct change *),
		  const char *what, int secret, const char *owner, const char *group, mode_t mode);
/* Want owner, group and mode on an existing file (content kept). */
int want_attr(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode);
/* Want a regular file gone (backed up in the journal first, so rollback restores it); why: one phrase. */
int want_removed(struct ctx *c, const char *path, const char *why);
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
/*
 * Want a command run; touches lists files it rewrites (backed up first, so
 * rollback restores them).  A command has no undo of its own: an effect
 * that is undone otherwise is an action type (want_action).
 */
int want_command(struct ctx *c, const char *what, char *const argv[], char *const touches[], int timeout_ms);
/* Want a typed action carried out (see struct action_type). */
int want_action(struct ctx *c, const char *what, const struct action_type *type, const char *arg);
/* A note (warning) shown in the stage's result and summary. */
void stage_note(struct ctx *c, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* A check() failure: report and return -EINVAL. */
int stage_fail(struct ctx *c, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* A refusal before anything changes (preflight): like stage_fail, and apply exits with exit_code. */
int stage_refuse(struct ctx *c, int exit_code, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* ---- what an action type's apply() and a check() may ask of the run ---- */

/* Is this a plan (nothing may change)? */
int stage_dry(const struct ctx *c);
/* The DNS server live DNS checks of a stage ask (--resolver ADDR:PORT), NULL: the system's. */
const char *stage_resolver(const struct ctx *c);
void stage_set_resolver(const char *server);
/* The run's number as text ("" before its first change), for journal records. */
const char *stage_run_id(const struct ctx *c);
/* Set the failure message of this run (owned: freed later; NULL clears it). */
void stage_set_error(struct ctx *c, char *msg);
/* Did this run change path (or anything under it, when path ends with '/')? */
int stage_changed(const struct ctx *c, const char *path);
/* Every path this run changed so far. */
const struct strv *stage_changed_paths(const struct ctx *c);

/*
 * A stage registers itself (STAGE_REGISTER(stage_x); at the end of its
 * file); the runner alone puts the registered stages in order
 * (installer/runner.c) and refuses to start when one is missing.
 */
void stage_register(const struct stage *s);
const struct stage *stage_registered(const char *name);
size_t stages_registered(void);		/* how many registered themselves */
#define STAGE_REGISTER(s) \
	static void __attribute__((constructor)) register_##s(void) { stage_register(&s); }

/* ---- the runner's ---- */

void changes_free(struct change *v, size_t n);
/* What a ctx holds besides its changes (the file read_target() kept). */
void ctx_forget_seen(struct ctx *c);
/* Apply a stage's recorded changes through the primitives. */
int apply_changes(struct ctx *c);

#endif
