/*
 * verify_check.h - what a check of `mailstage verify` is, shared by the
 * check files (verify_local.c, verify_dns.c, verify_net.c, verify_send.c)
 * the report (verify_report.c) and the runner of the tables (verify.c).
 *
 * A check is a function that looks at one thing and reports each finding
 * with verify_add(): ok / warn / fail, what was seen, what was expected
 * and, when not ok, the fix in one sentence (all translatable with _()).
 * Adding a check: write the function in the file of its group and add one
 * line to that file's table (group, name, function, when).  The tables
 * run in the order verify.c lists them, each top to bottom; the text
 * report, the JSON and the exit code are verify.c's.
 */
#ifndef MAILSTAGE_VERIFY_CHECK_H
#define MAILSTAGE_VERIFY_CHECK_H

#include "config.h"
#include "profile.h"
#include "root.h"
#include "util.h"

struct dnsq;
struct run;
struct verify_opts;

enum verify_status { ST_OK, ST_WARN, ST_FAIL };

struct verify_result {
	const char *group;
	char *name, *seen, *expected, *fix;
	enum verify_status st;
};

struct verify_report {
	struct verify_result *v;
	size_t n;
	struct strv notes;		/* printed after the checks */
};

/* What a check sees. */
struct vctx {
	const struct config *cfg;
	const struct profile *prof;
	struct root *root;
	const struct verify_opts *opts;
	struct dnsq *q;			/* the resolver (--resolver, --doh, the system's) */
	struct run *run;		/* for the runner's public plan API (run_pending) only */
	struct verify_report *rp;	/* where verify_add() records */
	const char *group;		/* the group of the check running */
	char *dkim_pub;			/* the local DKIM key's p= (the DKIM key check), or NULL */
	/*
	 * What the dns group found, for the sender requirements
	 * (verify_senders.c): the index in rp->v of each finding, -1 while
	 * not checked.  [0] is the IPv4 address, [1] the IPv6 one.
	 */
	struct {
		long spf[2];		/* "SPF authorises ADDRESS" */
		long ptr[2];		/* "PTR ADDRESS" (forward-confirmed) */
		long dkim;		/* "DKIM record" */
		long test_message;	/* the mail group's "test message" (--send-test) */
	} found;
};

/* When a check runs. */
enum verify_when {
	VC_FULL,			/* `verify` only, not `dns --check` */
	VC_ALWAYS,			/* `verify` and `dns --check` */
	VC_KEY,				/* both, but `dns --check` does not report it (later checks need its result) */
	VC_SEND_TEST,			/* `verify --send-test ADDRESS` only */
};

struct verify_check {
	const char *group;		/* "local", "dns", "network", "mail": the report's heading, JSON "group" */
	const char *name;		/* what it checks (for the reader of the table) */
	void (*run)(struct vctx *vc);
	enum verify_when when;
};

/* The tables, each ended by a NULL run. */
extern const struct verify_check verify_local[];
extern const struct verify_check verify_dns[];
extern const struct verify_check verify_net[];
extern const struct verify_check verify_send[];
extern const struct verify_check verify_senders[];	/* dmarc reports, sender requirements */

/* Record one finding of the running check (seen: printf format, made one line); its index in vc->rp->v. */
long verify_add(struct vctx *vc, enum verify_status st, const char *name, const char *expected, const char *fix,
		const char *fmt, ...) ATTR_PRINTF(6, 7);

/* The report as text (show_expected: `dns --check`'s "found:" form) or JSON; free it. */
void verify_report_print(const struct verify_report *rp, int json, int show_expected);
void verify_report_free(struct verify_report *rp);

/* Helpers shared by the checks. */
char *verify_strv_join(const struct strv *s, const char *sep);
/* A bounded connect to host:port: the fd, or -errno with *why. */
int verify_connect_host(const char *host, const char *port, int timeout_ms, char **why);
/* A file of the target, inside the root only, regular, at most 1 MiB; *host is where it resolved. */
int verify_target_file(struct vctx *vc, const char *path, char **host, char **data, size_t *len, char **why);

#endif
