/*
 * verify.h - `mailstage verify`: a report of checks (local services and
 * files, live DNS, network), each ok / warn / fail with what was seen, what
 * was expected and, when not ok, the fix in one sentence.
 */
#ifndef MAILSTAGE_VERIFY_H
#define MAILSTAGE_VERIFY_H

#include "runner.h"

struct verify_opts {
	const char *resolver;		/* --resolver ADDR:PORT */
	const char *doh;		/* --doh URL */
	const char *send_test;		/* --send-test ADDRESS */
	const char *auth_file;		/* --auth FILE: "user" and "password" lines, for 587 */
	int timeout_s;			/* per DNS query / probe */
	int dns_only;			/* `dns --check`: only the DNS records */
};

/* Exit 0 when nothing failed, 1 otherwise (or a setup exit code). */
int cmd_verify(const struct run_opts *o, const struct verify_opts *v);

/* SPF: does the record authorise addr?  1 yes, 0 no, -1 cannot tell (include:, redirect=). */
int spf_authorises(const char *record, const char *addr, const char *const *a_addrs, char **why);
/* The p= value of a DKIM TXT record (or of SELECTOR.txt zone text); NULL when absent. */
char *dkim_p_of(const char *text);

#endif
