/*
 * report.h - `mailstage report`: DMARC aggregate reports read and summed up.
 *
 * Receivers (Gmail, Microsoft, Yahoo, ...) send, for the rua= address of the
 * domain's DMARC record, a daily XML report of what they saw from which
 * address and whether it passed SPF, DKIM and DMARC.  This module reads them
 * in every form they come in: a bare XML file, XML compressed as .gz or as a
 * .zip holding one XML (libarchive), or a mail message (.eml, or a message
 * in the mailbox the DMARC alias delivers to, mbox or Maildir) that carries
 * such a file as a MIME attachment, base64 or not.  Both schemas are read:
 * RFC 7489 Appendix C (no namespace, or http://dmarc.org/dmarc-xml/0.1) and
 * DMARCbis (urn:ietf:params:xml:ns:dmarc-2.0).
 *
 * Reports come from strangers: every input is capped in size before it is
 * read or unpacked (a zip bomb stops at the cap), the XML parser (expat,
 * loaded on first use) refuses any DOCTYPE, so no entity is ever declared
 * (entity expansion, XXE), nothing is fetched from the network, and each bad
 * report gets one message while the others are still counted.
 */
#ifndef MAILSTAGE_REPORT_H
#define MAILSTAGE_REPORT_H

#include "config.h"
#include "profile.h"
#include "root.h"
#include "runner.h"
#include "util.h"

#define REPORT_MAX_INPUT	(32L * 1024 * 1024)	/* a file, or one mail message, as read */
#define REPORT_MAX_XML		(16L * 1024 * 1024)	/* the XML after decoding and unpacking */
#define REPORT_MAX_RECORDS	100000			/* <record> elements in one report */
#define REPORT_MAX_TEXT		1024			/* bytes of one element's text */
#define REPORT_MAX_DEPTH	32			/* element nesting */

struct dmarc_record {
	char *source_ip;
	long long count;
	char *disposition;		/* none | quarantine | reject | pass (DMARCbis) */
	char *dkim, *spf;		/* policy-evaluated: pass | fail */
	char *dkim_raw, *spf_raw;	/* auth_results (the passing one when several), "" when none */
	char *header_from;		/* "" when absent */
	int own;			/* one of this server's configured addresses (ipv4, ipv6) */
};

struct dmarc_report {
	char *org, *report_id, *domain;
	long long begin, end;		/* epoch seconds */
	int bis;			/* DMARCbis namespace */
	struct dmarc_record *rec;
	size_t n;
	long long messages;		/* sum of the records' counts */
	long long dmarc_pass;		/* sum of the counts whose evaluated dkim or spf is pass */
	char *source;			/* where it was read, for messages */
};

/* Parse report XML (any bytes).  0, or -EINVAL/-ENOENT with *why saying what is wrong. */
int dmarc_parse_xml(const char *xml, size_t len, struct dmarc_report *rp, char **why);

/*
 * One input, whatever its form (XML, gzip, zip, mail message): the report
 * in it, parsed.  0; -ENOMSG for a mail message that carries no report (a
 * mailbox's other mail); else a negative errno with *why.
 */
int dmarc_read(const char *data, size_t len, struct dmarc_report *rp, char **why);

void dmarc_report_free(struct dmarc_report *rp);

/* The --json object of one report (one line, no newline). */
char *dmarc_json(const struct dmarc_report *rp);

/* Reports gathered from inputs, for the table and the summary. */
struct report_set {
	struct dmarc_report *v;
	size_t n;
	size_t rejected;		/* bad reports (one message each) */
	size_t old;			/* outside --since */
	size_t duplicates;		/* same org and report id seen before */
};

/*
 * Take *rp into the set (it is moved: the caller's copy is zeroed) unless
 * it is for a foreign domain (rejected, *why), older than since_days before
 * now (since_days 0: any age) or a duplicate.  Marks the records from this
 * server's own addresses.  1 taken, 0 left out, -EINVAL rejected.
 */
int report_set_add(struct report_set *s, struct dmarc_report *rp, const struct config *cfg, long long now,
		   long since_days, char **why);
void report_set_free(struct report_set *s);

/*
 * Where the DMARC alias delivers in the target: the local part of dmarc_rua
 * followed through the target's aliases to a local user, then main.cf's
 * home_mailbox or mail_spool_directory (else the profile's compiled-in
 * spool).  0 with *path (target path) and *maildir; -ENOENT/-ENOTSUP with
 * *why when reports are not delivered to a mailbox here.
 */
int report_mailbox(struct root *root, const struct config *cfg, const struct profile *prof, char **path,
		   int *maildir, char **why);

/*
 * Read every report in the mailbox at target path (mbox, or Maildir when
 * maildir) into s; one message per rejected report (msg_error).  0 (also
 * when the mailbox does not exist yet: *missing = 1), or -errno with *why.
 */
int report_read_mailbox(struct root *root, const char *path, int maildir, struct report_set *s,
			const struct config *cfg, long long now, long since_days, int *missing, char **why);

/*
 * For a verify check: the DMARC pass rate (0..1) over the reports of the
 * last days days in the target's DMARC mailbox, and the number of messages
 * they cover (0: no reports yet, *rate 0).  0, or -errno with *why.
 */
int report_pass_rate(struct root *root, const struct config *cfg, const struct profile *prof, long days,
		     double *rate, long long *messages, char **why);

/*
 * `mailstage report [--since DAYS] [--json] [--digest] [FILE...]`; returns
 * the exit code.  --digest (mailstage-converge.service): one line on stdout
 * and in the journal (MAILSTAGE_ACTION=dmarc-digest) over the last DAYS
 * (default 1) days: pass rate and failing sources.
 */
int cmd_report(const struct run_opts *o, long since_days, int digest, char *const files[], size_t nfiles);

#endif
