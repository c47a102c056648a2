/*
 * dns.h - the DNS records a mailstage server needs (A/AAAA, MX, SPF, DKIM,
 * DMARC, and the PTR its provider must set), built from the configuration
 * and the DKIM key, and printed as a zone file, JSON or a table.
 *
 * Building and formatting are pure functions of their inputs (unit-tested);
 * the `dns` stage writes the zone to /var/lib/mailstage/dns/DOMAIN.zone and
 * `mailstage dns` (installer/cmd_dns.c) prints the same records.
 */
#ifndef MAILSTAGE_DNS_H
#define MAILSTAGE_DNS_H

#include <stddef.h>
#include "config.h"
#include "util.h"

struct ctx;
struct root;
struct profile;

#define DNS_TTL 3600
#define DNS_STR_(x) #x
#define DNS_STR(x) DNS_STR_(x)
#define DNS_TTL_TEXT DNS_STR(DNS_TTL)	/* "3600", for text put together without printf */
#define DNS_TXT_MAX 255		/* bytes in one TXT character-string (RFC 1035 3.3) */
#define DNS_STATE_DIR "/var/lib/mailstage/dns"

struct dns_rr {
	char *fqdn;		/* absolute owner name with the final dot: "mail.example.com." */
	char *name;		/* owner relative to the zone ("@", "mail"), NULL when outside it */
	const char *type;	/* "A", "AAAA", "MX", "TXT", "CAA", "PTR" */
	char *value;		/* presentation data; TXT: the text itself, unsplit and unescaped */
	const char *purpose;	/* "mail server address", "SPF", ... */
	int provider;		/* not in the domain's zone: reverse DNS set by the provider */
	int remove;		/* a retired DKIM key's record: to delete from the zone, not to publish */
};

struct dns_zone {
	char *origin;		/* "example.com." */
	char *hostname;		/* "mail.example.com." */
	struct dns_rr *rr;
	size_t n;
	struct strv notes;	/* one line each: a missing DKIM key, external report addresses */
};

/*
 * The records for cfg.  dkim_p is the key's base64 p= value, or NULL when
 * there is no key yet; then missing_key names what is missing (a note, no
 * DKIM record is invented).  0, or -EINVAL for a configuration without the
 * required identity (hostname, domain, ipv4).
 */
int dns_build(const struct config *cfg, const char *dkim_p, const char *missing_key, struct dns_zone *z);
void dns_zone_free(struct dns_zone *z);

/*
 * The CAA issuer domain (RFC 8659) of the CA whose ACME directory is url,
 * chosen by the URL's host: Let's Encrypt, ZeroSSL (sectigo.com), Google
 * Trust Services (pki.goog), Buypass; NULL for another CA.
 */
const char *dns_caa_domain(const char *url);

/* TXT data as quoted character-strings of at most max bytes each, escaped for a zone file. */
char *dns_txt_strings(const char *text, size_t max, const char *sep);
/* PTR owner name of an IPv4 or IPv6 address ("10.2.0.192.in-addr.arpa."), NULL if not an address. */
char *dns_reverse_name(const char *addr);

enum dns_format { DNS_FMT_TABLE, DNS_FMT_ZONE, DNS_FMT_RECORDS, DNS_FMT_JSON };
int dns_parse_format(const char *s, enum dns_format *f);
/*
 * DNS_FMT_ZONE: a complete zone file loadable as is ($ORIGIN, $TTL, SOA, NS,
 * the records); DNS_FMT_RECORDS: only the records to paste into an existing
 * zone; DNS_FMT_JSON; DNS_FMT_TABLE for people.
 */
char *dns_format(const struct dns_zone *z, enum dns_format f);

/* The DKIM p= value of a SELECTOR.txt record file (strings joined), or NULL. */
char *dns_p_from_record(const char *text);

/*
 * The p= value of the DKIM key in the root: from the private key, or, when
 * that is unreadable, from the published SELECTOR.txt record.  0 with *p,
 * or 0 with *p NULL and *missing saying why; -errno (*missing says which).
 */
int dns_dkim_public(struct root *root, const struct config *cfg, const struct profile *prof, char **p,
		    char **missing);
/*
 * Everything above for the root: each algorithm's DKIM rotation keys (RSA,
 * and Ed25519 with dkim_algorithms: the active one; the next one to publish;
 * the retiring one kept until dkim_retire_days, then marked remove).  0; -EINVAL for a
 * configuration without the identity; another -errno with *err (caller frees).
 */
int dns_build_root(struct root *root, const struct config *cfg, const struct profile *prof, struct dns_zone *z,
		   char **err);
/* The p= of the zone's first RSA DKIM record (the signing key's), or NULL; caller frees. */
char *dns_dkim_p_of(const struct dns_zone *z);

#endif
