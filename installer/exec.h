/*
 * exec.h - run a program by argv (never through a shell), with a timeout,
 * capturing its combined stdout and stderr.
 */
#ifndef MAILSTAGE_EXEC_H
#define MAILSTAGE_EXEC_H

#include "util.h"

struct exec_result {
	int exit_code;		/* exit status, or 128+signal; -1 when it could not start */
	int timed_out;		/* killed after the timeout */
	struct buf out;		/* stdout and stderr, interleaved */
};

/*
 * Run argv[0] (looked up in a fixed PATH: /usr/sbin:/usr/bin:/sbin:/bin)
 * with stdin from `input` (NULL: /dev/null), LC_ALL=C.  Returns 0 when the
 * program ran (whatever its exit code) and -errno when it could not be
 * started (-ENOENT: not installed).  The program and its children are
 * killed when timeout_ms passes.  Free res->out with buf_free.
 */
int exec_run(char *const argv[], const char *input, int timeout_ms, struct exec_result *res);

/* The path of prog in the fixed PATH (caller frees), or NULL when it is not there. */
char *exec_find(const char *prog);

/* Is a program present in the fixed PATH? */
int exec_exists(const char *prog);

#endif
