/*
 * msg.h - diagnostics on stderr and the systemd journal.
 *
 * One error path: functions report with msg_error() and return a negative
 * errno; only main() decides the exit code.  msg_fatal() is for usage errors
 * found before anything could have changed.
 */
#ifndef MAILSTAGE_MSG_H
#define MAILSTAGE_MSG_H

#include "util.h"

enum msg_verbosity { MSG_QUIET = 0, MSG_NORMAL = 1, MSG_VERBOSE = 2 };
extern int msg_verbosity;
extern const char *msg_progname;

void msg_info(const char *fmt, ...) ATTR_PRINTF(1, 2);	/* normal and up */
void msg_verbose(const char *fmt, ...) ATTR_PRINTF(1, 2);	/* -v only */
void msg_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);	/* always */
void msg_error(const char *fmt, ...) ATTR_PRINTF(1, 2);	/* always */
void msg_fatal(int exit_code, const char *fmt, ...) ATTR_PRINTF(2, 3) ATTR_NORETURN;

/*
 * Structured record in the systemd journal (when one is running): MESSAGE plus
 * MAILSTAGE_RUN, MAILSTAGE_STAGE, MAILSTAGE_ACTION and MAILSTAGE_PATH fields.
 * Any of run/stage/action/path may be NULL.
 */
void msg_journal(int priority, const char *run, const char *stage, const char *action,
		 const char *path, const char *fmt, ...) ATTR_PRINTF(6, 7);
/* Disable journal logging (tests, --root runs ask for it explicitly). */
extern int msg_journal_enabled;

#endif
