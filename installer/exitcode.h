/*
 * exitcode.h - the exit codes of mailstage (documented in --help,
 * mailstage(8) and the README).  On the base floor: a stage refuses with
 * one, a command returns one, only main() exits with it.
 */
#ifndef MAILSTAGE_EXITCODE_H
#define MAILSTAGE_EXITCODE_H

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

#endif
