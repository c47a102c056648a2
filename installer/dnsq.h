/*
 * dnsq.h - bounded DNS lookups for verify and `dns --check`: through the
 * system resolver, an explicit server (--resolver ADDR:PORT), or
 * DNS-over-HTTPS JSON (--doh URL, libcurl) where port 53 is filtered.
 *
 * The bound (timeout_s) is total time, not per attempt: every retry, every
 * server of resolv.conf and, for DoH, the one resolution of the URL's host
 * are inside it.  dnsq_start() opens a check: the lookups until the next
 * dnsq_start() share one bound (without it each lookup has its own).
 */
#ifndef MAILSTAGE_DNSQ_H
#define MAILSTAGE_DNSQ_H

#include "util.h"

enum dnsq_type { DNSQ_A = 1, DNSQ_NS = 2, DNSQ_PTR = 12, DNSQ_MX = 15, DNSQ_TXT = 16, DNSQ_AAAA = 28, DNSQ_CAA = 257 };

struct addrinfo;

struct dnsq {
	char *server;			/* "ADDR:PORT" (IPv4), or NULL for the system resolver */
	char *doh_url;			/* DNS-over-HTTPS JSON endpoint, or NULL */
	int timeout_s;			/* the bound of one check, total; default 3 */
	/* kept over a run; zero to begin, dnsq_free() at the end */
	long long deadline_ms;		/* of the check running (CLOCK_MONOTONIC), 0: none */
	void *curl;			/* the one DoH handle of the run (its connection is reused) */
	void *curl_hdr, *curl_resolve;	/* its header list and CURLOPT_RESOLVE "host:port:addr" */
	char *doh_err;			/* set: the endpoint is unusable in this run, every lookup says why */
	int doh_err_rc;			/* and returns this (-ETIMEDOUT or -EIO) */
	int doh_answered;		/* the endpoint answered once */
};

/*
 * Look up name/type.  0 with one string per answer in *out (A/AAAA: the
 * address; MX: "PREF HOST"; TXT: the character-strings joined; PTR, NS: the
 * name, no trailing dot; CAA: as dnsq_caa_rdata() prints it, from DoH too);
 * -ENOENT for NXDOMAIN or no answer of that type;
 * -ETIMEDOUT, -EIO with *why (caller frees) otherwise.
 */
int dnsq_lookup(struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why);
/*
 * A CAA RDATA (RFC 8659 4.1: flags, tag length, tag, value) in its
 * presentation form: FLAGS TAG "VALUE", with " and \ escaped and other
 * bytes outside printable ASCII as \DDD.  0 with *out (caller frees),
 * -EINVAL when it is not one (a tag of 1-15 letters and digits).
 */
int dnsq_caa_rdata(const unsigned char *rd, size_t n, char **out);
/* RFC 3597's generic form "\# LEN HEX..." (DoH servers give unknown types so) as bytes: 0 or -EINVAL. */
int dnsq_generic_rdata(const char *s, unsigned char **rd, size_t *n);
/* "10.2.0.192.in-addr.arpa" or the ip6.arpa name of an address. */
char *dnsq_reverse_name(const char *addr);
/* Parse "ADDR:PORT" ("127.0.0.1:5353"); 0 or -EINVAL. */
int dnsq_parse_server(const char *s);
/*
 * Check a --doh URL: https://HOST[:PORT]/..., or http:// to a loopback
 * address (127.0.0.0/8, [::1]: tests).  0 with *host (caller frees), *port
 * and *literal (HOST is an address) when those are not NULL; else -EINVAL.
 */
int dnsq_parse_doh_url(const char *url, char **host, int *port, int *literal);
/* A check begins: its lookups share one bound of timeout_s from now. */
void dnsq_start(struct dnsq *q);
/* Release what a run kept (the DoH handle). */
void dnsq_free(struct dnsq *q);
/*
 * getaddrinfo() within timeout_ms (getaddrinfo_a): the system's resolution
 * (/etc/hosts, then DNS) that cannot outlast its bound.  0 with *res
 * (freeaddrinfo), -ETIMEDOUT or -ENOENT with *why (caller frees).
 */
int dnsq_getaddrinfo(const char *host, const char *port, int socktype, int timeout_ms, struct addrinfo **res,
		     char **why);

#endif
