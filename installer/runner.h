/*
 * runner.h - one invocation of mailstage: configuration, profile, root,
 * state, and the commands that walk the stages (plan, apply, rollback,
 * status, stages).
 */
#ifndef MAILSTAGE_RUNNER_H
#define MAILSTAGE_RUNNER_H

#include "config.h"
#include "exitcode.h"
#include "journal.h"
#include "prim.h"
#include "profile.h"
#include "root.h"
#include "stage.h"
#include "util.h"


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
	struct prim p;			/* journal, error, changed paths: what the primitives keep */
	int exit_code;			/* set by stage_refuse(): exit with this when nothing changed */
};

/*
 * Read the root, configuration and profile (need_config) and check the
 * stage names; returns an exit code (EXIT_OK: go on).  run_free() always.
 */
int run_setup(struct run *r, const struct run_opts *o, const char *cmd, int need_config);
void run_free(struct run *r);
/* Check the selected stages (--only, --skip) without changing anything: one line per pending change. */
int run_pending(struct run *r, struct strv *pending);

/* The stages in the order apply runs them (each stage registers itself: stage.h). */
const struct stage *const *stages_all(void);
const struct stage *stage_by_name(const char *name);

int cmd_plan(const struct run_opts *o);
int cmd_apply(const struct run_opts *o);
int cmd_rollback(const struct run_opts *o, const char *which);
int cmd_status(const struct run_opts *o);
int cmd_stages(const struct run_opts *o);

#endif
