/*
 * action.h - what a typed action is (struct action_type): the vocabulary
 * shared by the stages that define action types, the runner that applies
 * them and the journal that checks and replays their undo at rollback.  It
 * sits below the journal (floor 2), so that the journal needs nothing of the
 * stage machinery above it (installer/README: the floors).
 */
#ifndef MAILSTAGE_ACTION_H
#define MAILSTAGE_ACTION_H

struct ctx;
struct root;

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
	 * The strict check of an undo string read back from the journal, which
	 * rollback treats as untrusted: every parameter is of its type (a
	 * package name, a unit name, a boolean name and value, a path of the
	 * target) and nothing else is there.  0, or -EINVAL with *why.  Rollback
	 * checks every record before it undoes anything; undo() builds the
	 * commands it runs from the parameters, never takes an argv from disk.
	 */
	int (*undo_check)(const struct root *root, const char *undo_arg, char **why);
	/*
	 * Undo after every file of the run is restored (services: a unit
	 * restarted by the run is restarted again on its restored files).
	 */
	int undo_last;
};

#endif
