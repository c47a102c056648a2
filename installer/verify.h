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
/* A CAA record as dnsq prints it (FLAGS TAG "VALUE"): 0 with *flags, *tag and *value unquoted (caller frees), -EINVAL. */
int caa_parse(const char *rec, int *flags, char **tag, char **value);
/*
 * May the CA whose CAA domain is ca issue for a name (not a wildcard) by
 * http-01 under this CAA RRset, the first non-empty one from the name up
 * (RFC 8659 3)?  1 yes; 2 yes, but only to the ACME account an accounturi
 * names (RFC 8657); 0 no, with *why (caller frees): the record that forbids.
 */
int caa_allows(const char *const *set, size_t n, const char *ca, char **why);

/* verify_senders.c's rules.  The status (ST_OK/WARN/FAIL) of a 7-day DMARC pass rate (0..1). */
int dmarc_rate_status(double rate);
/* Bits of the RSA modulus in a DKIM p= value (base64 SubjectPublicKeyInfo), or -EINVAL. */
int dkim_key_bits(const char *p_b64);
/* A DMARC record with p=none|quarantine|reject and a rua=mailto: address: 0, else -EINVAL with *why. */
int dmarc_sender_ok(const char *rec, char **why);
/* Does main.cf's smtp_tls_security_level (or the old smtp_use_tls) use TLS outbound? 1/0 */
int smtp_tls_outbound(const char *level, const char *use_tls);
/* A fully qualified host name (at least two labels, LDH): 1/0 */
int helo_name_valid(const char *name);
/* The summary of the sender requirements (untranslated: pass through _()). */
const char *sender_summary(int all_met, int bulk_met);

#endif
