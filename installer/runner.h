/*
 * runner.h - one invocation of mailstage: configuration, profile, root,
 * state, and the commands that walk the stages (plan, apply, rollback,
 * status, stages).
 */
#ifndef MAILSTAGE_RUNNER_H
#define MAILSTAGE_RUNNER_H

#include "config.h"
#include "journal.h"
#include "profile.h"
#include "root.h"
#include "stage.h"
#include "util.h"

/* Exit codes (documented in --help, mailstage(8) and the README). */
enum {
	EXIT_OK = 0,		/* done; plan: converged */
	EXIT_FAILED = 1,	/* verify found failures; rollback refused or incomplete */
	EXIT_PENDING = 2,	/* plan: changes are pending */
	EXIT_ROLLED_BACK = 3,	/* apply failed; everything it changed was restored */
	EXIT_NOT_RESTORED = 4,	/* apply failed and the restore was incomplete: see the messages */
	EXIT_USAGE = 64,	/* EX_USAGE: bad command line */
	EXIT_UNAVAILABLE = 69,	/* EX_UNAVAILABLE: a required program is missing */
	EXIT_SOFTWARE = 70,	/* EX_SOFTWARE: internal error */
	EXIT_IOERR = 74,	/* EX_IOERR: state directory not writable, disk full */
	EXIT_TEMPFAIL = 75,	/* EX_TEMPFAIL: another run holds the lock, or an interrupted run */
	EXIT_NOPERM = 77,	/* EX_NOPERM: not root */
	EXIT_CONFIG = 78,	/* EX_CONFIG: bad configuration or unsupported OS */
};

struct run_opts {
	const char *config;		/* -c FILE (host path); default ROOT/etc/mailstage/mailstage.conf */
	const char *root;		/* --root DIR, default "/" */
	const char *profile;		/* --profile NAME */
	struct strv only, skip;		/* stage names */
	int json;
	int resume;			/* apply --resume */
};

struct run {
	const struct run_opts *opts;
	const char *cmd;
	struct config cfg;
	const struct profile *prof;
	struct root root;
	struct state st;
	struct journal j;
	int jopen;			/* journal opened (first mutation done) */
	unsigned resume_no;		/* run to continue, 0 for a new run */
	char run_id[16];
	int dry;			/* plan: primitives refuse */
	const char *stage;		/* stage being applied */
	const char *journaled_stage;
	char *error;			/* last failure, for the report */
	int exit_code;			/* set by stage_refuse(): exit with this when nothing changed */
	struct strv changed_paths;	/* paths changed by this run (handlers) */
};

/*
 * Read the root, configuration and profile (need_config) and check the
 * stage names; returns an exit code (EXIT_OK: go on).  run_free() always.
 */
int run_setup(struct run *r, const struct run_opts *o, const char *cmd, int need_config);
void run_free(struct run *r);
/* Check the selected stages (--only, --skip) without changing anything: one line per pending change. */
int run_pending(struct run *r, struct strv *pending);

/* Open the run's journal at its first mutation (new run, or the resumed one). */
int run_journal(struct run *r);
/* Did this run change path (or anything under it, when path ends with '/')? */
int run_changed(const struct run *r, const char *path);

int cmd_plan(const struct run_opts *o);
int cmd_apply(const struct run_opts *o);
int cmd_rollback(const struct run_opts *o, const char *which);
int cmd_status(const struct run_opts *o);
int cmd_stages(const struct run_opts *o);

/* Apply a stage's recorded changes through the primitives. */
int apply_changes(struct run *r, struct ctx *c);

char *json_str(const char *s);	/* "quoted and escaped" */

#endif
