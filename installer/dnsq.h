/*
 * dnsq.h - bounded DNS lookups for verify and `dns --check`: through the
 * system resolver, an explicit server (--resolver ADDR:PORT), or
 * DNS-over-HTTPS JSON (--doh URL, libcurl) where port 53 is filtered.
 */
#ifndef MAILSTAGE_DNSQ_H
#define MAILSTAGE_DNSQ_H

#include "util.h"

enum dnsq_type { DNSQ_A = 1, DNSQ_NS = 2, DNSQ_PTR = 12, DNSQ_MX = 15, DNSQ_TXT = 16, DNSQ_AAAA = 28 };

struct dnsq {
	char *server;			/* "ADDR:PORT" (IPv4), or NULL for the system resolver */
	char *doh_url;			/* DNS-over-HTTPS JSON endpoint, or NULL */
	int timeout_s;			/* per query, default 3 */
};

/*
 * Look up name/type.  0 with one string per answer in *out (A/AAAA: the
 * address; MX: "PREF HOST"; TXT: the character-strings joined; PTR, NS: the
 * name, no trailing dot); -ENOENT for NXDOMAIN or no answer of that type;
 * -ETIMEDOUT, -EIO with *why (caller frees) otherwise.
 */
int dnsq_lookup(const struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why);
/* "10.2.0.192.in-addr.arpa" or the ip6.arpa name of an address. */
char *dnsq_reverse_name(const char *addr);
/* Parse "ADDR:PORT" ("127.0.0.1:5353"); 0 or -EINVAL. */
int dnsq_parse_server(const char *s);

#endif
