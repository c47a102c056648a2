/*
 * config.c - read /etc/mailstage/mailstage.conf into struct config.
 *
 * One table (KEYS below) names every key with its type, default, example and
 * a one-line description; the parser, the defaults, the validation messages,
 * config_keys() (documentation and its test) all come from it.  Errors are
 * collected, sorted by line and returned together, so that a user fixes a
 * file in one go:
 *   mailstage.conf:3: hostname "mail_example" is not a fully qualified domain name, e.g. mail.example.com
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "i18n.h"
#include "util.h"

#define MAX_LINE	4096		/* bytes, without the line end */
#define MAX_FILE	(1024 * 1024)	/* a configuration file is a few KiB */
#define BINARY_LINES	3		/* more lines than this not text: a binary file */
#define MAX_ERRORS	50		/* shown; more are counted */
#define MAX_ITEMS	64		/* per list */
#define DAY		(24L * 3600)

enum kind {
	K_FQDN,		/* char *, lower-cased, trailing dot removed */
	K_IPV4,		/* char *, a usable unicast address */
	K_IPV6,		/* char *, NULL when empty */
	K_SELECTOR,	/* char *, DNS label(s) */
	K_DKIM_BITS,	/* long, 1024/2048/3072/4096 */
	K_ENUM,		/* char *, one of extra ("a|b|c") */
	K_EMAIL,	/* char *, "mailto:" stripped, "" allowed */
	K_RECIPIENT,	/* char *, local user name or address */
	K_PATH,		/* char *, absolute, NULL when empty */
	K_INT,		/* long, lo..hi */
	K_DURATION,	/* char *, Postfix time value, <= hi seconds; extra = default unit */
	K_SERVICES,	/* strv, firewalld service names */
	K_BOOLEANS,	/* strv, "name=on|off" */
	K_DOMAINS,	/* strv, domain names */
	K_HOSTPORT,	/* char *, host:port */
	K_URL,		/* char *, https:// (or http://) URL, NULL when empty */
	K_DKIM_ALGS,	/* strv, rsa-sha256 | ed25519-sha256 */
};

/*
 * X(name, type, default, example, anchor, doc, kind, lo, hi, extra)
 * default NULL: required; "": empty/none; "<...>": derived from other keys.
 * anchor: the section (.SH) of mailstage.conf(5) that documents the key.
 * kind picks the type (types[] below: its validator and storage); lo and
 * hi bound whole numbers and times (seconds), extra is an enum's choices
 * ("a|b|c") or a time's default unit.
 */
#define KEYS(X) \
X(hostname, "fqdn", NULL, "mail.example.com", "IDENTITY", \
  "Fully qualified name of this server: Postfix myhostname, HELO name, PTR target, certificate name.", \
  K_FQDN, 0, 0, NULL) \
X(domain, "fqdn", NULL, "example.com", "IDENTITY", \
  "Mail domain that is signed and published in SPF, DKIM and DMARC records (Postfix mydomain).", \
  K_FQDN, 0, 0, NULL) \
X(ipv4, "ipv4", NULL, "192.0.2.10", "IDENTITY", \
  "Public IPv4 address of this server, listed in the SPF record.", \
  K_IPV4, 0, 0, NULL) \
X(ipv6, "ipv6", "", "2001:db8::10", "IDENTITY", \
  "Public IPv6 address of this server, listed in the SPF record; empty when the server has none.", \
  K_IPV6, 0, 0, NULL) \
X(dkim_selector, "selector", "default", "default", "DKIM", \
  "DKIM selector: the key is published as SELECTOR._domainkey.DOMAIN.", \
  K_SELECTOR, 0, 0, NULL) \
X(dkim_bits, "int", "2048", "2048", "DKIM", \
  "Size of the DKIM RSA key in bits: 1024, 2048, 3072 or 4096.", \
  K_DKIM_BITS, 1024, 4096, NULL) \
X(dkim_algorithms, "list", "rsa-sha256", "rsa-sha256, ed25519-sha256", "DKIM", \
  "Signing algorithms: rsa-sha256, or rsa-sha256, ed25519-sha256 for a second signature with an Ed25519 key (RFC 8463) under SELECTOR-ed25519.", \
  K_DKIM_ALGS, 0, 0, NULL) \
X(dkim_rotate_days, "int", "0", "180", "DKIM", \
  "Age in days after which apply makes the next DKIM key under a date-based selector (sYYYYMMDD; sYYYYMMDD-ed25519 for the Ed25519 key, which rotates on its own) and signs with it once DNS serves its record; 0: never.", \
  K_INT, 0, 3650, NULL) \
X(dkim_retire_days, "int", "7", "7", "DKIM", \
  "Days the previous DKIM record stays published after a rotation, before it is listed to remove.", \
  K_INT, 0, 365, NULL) \
X(spf_policy, "enum", "~all", "~all", "SPF AND DMARC", \
  "SPF result for senders not listed: ~all (softfail) or -all (fail).", \
  K_ENUM, 0, 0, "~all|-all") \
X(dmarc_policy, "enum", "quarantine", "quarantine", "SPF AND DMARC", \
  "DMARC policy for mail that fails: none, quarantine or reject.", \
  K_ENUM, 0, 0, "none|quarantine|reject") \
X(dmarc_rua, "email", "<dmarc@domain>", "dmarc@example.com", "SPF AND DMARC", \
  "Address for DMARC aggregate reports (rua); an optional mailto: is removed; empty for none.", \
  K_EMAIL, 0, 0, NULL) \
X(dmarc_ruf, "email", "<dmarc_rua>", "dmarc@example.com", "SPF AND DMARC", \
  "Address for DMARC failure reports (ruf); empty for none.", \
  K_EMAIL, 0, 0, NULL) \
X(dmarc_pct, "int", "100", "100", "SPF AND DMARC", \
  "Percentage of failing mail the DMARC policy applies to, 0 to 100.", \
  K_INT, 0, 100, NULL) \
X(dmarc_alias_to, "recipient", "root", "root", "SPF AND DMARC", \
  "Local user or address that receives mail for the DMARC report address.", \
  K_RECIPIENT, 0, 0, NULL) \
X(tls_cert, "path", "", "/etc/pki/tls/certs/mail.example.com.crt", "TLS", \
  "Absolute path of the TLS certificate (PEM); with tls_key, or empty for a self-signed one.", \
  K_PATH, 0, 0, NULL) \
X(tls_key, "path", "", "/etc/pki/tls/private/mail.example.com.key", "TLS", \
  "Absolute path of the TLS private key (PEM); with tls_cert, or empty for a self-signed one.", \
  K_PATH, 0, 0, NULL) \
X(tls_acme, "enum", "no", "yes", "TLS", \
  "yes: obtain and renew the certificate from an ACME CA (http-01 on port 80) instead of a self-signed one; not with tls_cert.", \
  K_ENUM, 0, 0, "yes|no") \
X(acme_directory, "url", "https://acme-v02.api.letsencrypt.org/directory", "https://acme-v02.api.letsencrypt.org/directory", "TLS", \
  "ACME directory URL of the CA (with tls_acme); the default is Let's Encrypt's production directory.", \
  K_URL, 0, 0, NULL) \
X(acme_email, "email", "", "postmaster@example.com", "TLS", \
  "Contact address given to the ACME CA (expiry notices); empty: none.", \
  K_EMAIL, 0, 0, NULL) \
X(acme_ca_file, "path", "", "/etc/pki/tls/certs/ca-bundle.crt", "TLS", \
  "CA bundle (PEM) that verifies the ACME server's certificate; empty: the system's.", \
  K_PATH, 0, 0, NULL) \
X(smtpd_client_connection_rate_limit, "int", "10", "10", "POSTFIX LIMITS", \
  "Connections one client may open per minute (0: no limit).", \
  K_INT, 0, 100000, NULL) \
X(smtpd_client_message_rate_limit, "int", "30", "30", "POSTFIX LIMITS", \
  "Messages one client may send per minute (0: no limit).", \
  K_INT, 0, 100000, NULL) \
X(smtpd_client_connection_count_limit, "int", "10", "10", "POSTFIX LIMITS", \
  "Simultaneous connections one client may hold (0: no limit).", \
  K_INT, 0, 10000, NULL) \
X(smtpd_error_sleep_time, "duration", "1s", "1s", "POSTFIX LIMITS", \
  "Pause before answering a client error (a time: number with unit s, m, h, d or w).", \
  K_DURATION, 0, 300, "s") \
X(initial_destination_concurrency, "int", "2", "2", "POSTFIX LIMITS", \
  "Parallel deliveries to one destination at first (at most the concurrency limit).", \
  K_INT, 1, 1000, NULL) \
X(default_destination_rate_delay, "duration", "1s", "1s", "POSTFIX LIMITS", \
  "Pause between two deliveries to the same destination (0s: none).", \
  K_DURATION, 0, 3600, "s") \
X(default_destination_concurrency_limit, "int", "5", "5", "POSTFIX LIMITS", \
  "Most parallel deliveries to one destination.", \
  K_INT, 1, 1000, NULL) \
X(message_size_limit, "int", "10240000", "10240000", "POSTFIX LIMITS", \
  "Largest message in bytes (0: no limit).", \
  K_INT, 0, 1073741824L, NULL) \
X(mailbox_size_limit, "int", "51200000", "51200000", "POSTFIX LIMITS", \
  "Largest local mailbox in bytes, at least message_size_limit (0: no limit).", \
  K_INT, 0, 2147483647L, NULL) \
X(maximal_queue_lifetime, "duration", "1d", "1d", "POSTFIX LIMITS", \
  "How long undeliverable mail stays queued before it bounces (unit default d).", \
  K_DURATION, 0, 100 * DAY, "d") \
X(bounce_queue_lifetime, "duration", "1d", "1d", "POSTFIX LIMITS", \
  "How long an undeliverable bounce stays queued (unit default d).", \
  K_DURATION, 0, 100 * DAY, "d") \
X(firewall_services, "list", "smtp smtps smtp-submission", "smtp smtps smtp-submission", "SYSTEM", \
  "firewalld services opened permanently (space or comma separated; empty: none).", \
  K_SERVICES, 0, 0, NULL) \
X(selinux_booleans, "list", "httpd_can_sendmail=on", "httpd_can_sendmail=on", "SYSTEM", \
  "SELinux booleans set persistently, NAME=on or NAME=off (empty: none).", \
  K_BOOLEANS, 0, 0, NULL) \
X(rbl, "list", "zen.spamhaus.org", "zen.spamhaus.org", "SYSTEM", \
  "DNS blocklists whose listed clients are rejected (empty: none).", \
  K_DOMAINS, 0, 0, NULL) \
X(port25_probe, "host:port", "gmail-smtp-in.l.google.com:25", "gmail-smtp-in.l.google.com:25", "SYSTEM", \
  "Host and port used to check that outbound port 25 is open.", \
  K_HOSTPORT, 0, 0, NULL) \
X(sakura_api_key_file, "path", "", "/etc/mailstage/sakura-api-key", "SYSTEM", \
  "Sakura VPS API key file (root's, mode 0600): with sakura_server_id, PTR and packet filter are set through the API; empty: not used.", \
  K_PATH, 0, 0, NULL) \
X(sakura_server_id, "int", "0", "123456", "SYSTEM", \
  "Sakura VPS server ID (the control panel's server list, or GET /servers); 0: not used.", \
  K_INT, 0, 2147483647L, NULL) \
X(sakura_api_url, "url", "", "https://secure.sakura.ad.jp/vps/api/v7", "SYSTEM", \
  "Sakura VPS API base URL; empty: https://secure.sakura.ad.jp/vps/api/v7 (http:// only to a loopback address).", \
  K_URL, 0, 0, NULL) \
X(sakura_ca_file, "path", "", "/etc/pki/tls/certs/ca-bundle.crt", "SYSTEM", \
  "CA bundle (PEM) that verifies the Sakura VPS API's certificate; empty: the system's.", \
  K_PATH, 0, 0, NULL)

#define PUBLIC_ROW(n, t, d, e, a, doc, k, lo, hi, x) { #n, t, d, e, doc, a, lo, hi },
static const struct config_key keys[] = { KEYS(PUBLIC_ROW) };

#define NKEYS ARRAY_SIZE(keys)

/* Key indexes used by the cross-field checks. */
#define INDEX_ROW(n, t, d, e, a, doc, k, lo, hi, x) KI_##n,
enum { KEYS(INDEX_ROW) KI_COUNT };

const struct config_key *config_keys(size_t *n)
{
	if (n)
		*n = NKEYS;
	return keys;
}

/* ---- error collection ---------------------------------------------------- */

struct error {
	unsigned line;		/* 0: about the file as a whole, sorted last */
	size_t seq;
	char *msg;
};

struct parser {
	const char *name;
	struct config *cfg;
	struct error *err;
	size_t nerr, cap;
	char *value[KI_COUNT];		/* raw value from the file, NULL when unset */
	unsigned line[KI_COUNT];	/* where it was set */
	int failed[KI_COUNT];		/* its value was rejected */
	int text_clean;			/* every line passed text_problem() already */
};

static void add_error(struct parser *p, unsigned line, const char *fmt, ...) ATTR_PRINTF(3, 4);
static void add_error(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *what;

	if (p->nerr == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->err = xrealloc(p->err, p->cap * sizeof(*p->err));
	}
	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	p->err[p->nerr].line = line;
	p->err[p->nerr].seq = p->nerr;
	if (line)
		p->err[p->nerr].msg = xasprintf("%s:%u: %s", p->name, line, what);
	else
		p->err[p->nerr].msg = xasprintf("%s: %s", p->name, what);
	p->nerr++;
	free(what);
}

static int error_cmp(const void *a, const void *b)
{
	const struct error *x = a, *y = b;
	unsigned lx = x->line ? x->line : ~0u, ly = y->line ? y->line : ~0u;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted by line; beyond MAX_ERRORS only a count. */
static void flush_errors(struct parser *p, struct strv *errors)
{
	size_t i;

	if (p->nerr > 1)
		qsort(p->err, p->nerr, sizeof(*p->err), error_cmp);
	for (i = 0; i < p->nerr; i++) {
		if (i < MAX_ERRORS && errors)
			strv_push(errors, p->err[i].msg);
		free(p->err[i].msg);
	}
	if (p->nerr > MAX_ERRORS && errors) {
		char *m = xasprintf(_("%s: %zu more errors not shown"), p->name, p->nerr - MAX_ERRORS);
		strv_push(errors, m);
		free(m);
	}
	free(p->err);
	p->err = NULL;
	p->nerr = p->cap = 0;
}

/* A value for display in a message: quoted, cut short when long. */
static char *shown(const char *v)
{
	size_t n = strlen(v), cut = 60;

	if (n <= cut + 3)
		return xasprintf("\"%s\"", v);
	while (cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
		cut--;		/* not inside a UTF-8 sequence */
	return xasprintf("\"%.*s...\"", (int)cut, v);
}

/* ---- validators ----------------------------------------------------------- */

static int is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* Labels of letters, digits and inner hyphens, 1..63 each; returns the count or -1. */
static int check_labels(const char *s, size_t len, int *last_has_alpha)
{
	size_t i, start = 0;
	int labels = 0, alpha = 0;

	if (len == 0)
		return -1;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			size_t l = i - start;
			if (l == 0 || l > 63 || s[start] == '-' || s[i - 1] == '-')
				return -1;
			labels++;
			start = i + 1;
			if (i < len)
				alpha = 0;
			continue;
		}
		if (!is_ldh((unsigned char)s[i]))
			return -1;
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
	}
	if (last_has_alpha)
		*last_has_alpha = alpha;
	return labels;
}

int valid_fqdn(const char *s)
{
	size_t len;
	int alpha = 0;

	if (!s)
		return 0;
	len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		len--;		/* the root label may be written */
	if (len == 0 || len > 253)
		return 0;
	if (check_labels(s, len, &alpha) < 2)
		return 0;
	return alpha;		/* an all-numeric TLD is an address, not a name */
}

int valid_ipv4(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1;
}

int valid_ipv6(const char *s)
{
	struct in6_addr a;

	return s && inet_pton(AF_INET6, s, &a) == 1;
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = xstrndup(s, n);
	char *q;

	for (q = d; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return d;
}

/* A domain name as stored: lower case, no trailing dot. */
static char *fqdn_dup(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	return lower_dup(s, n);
}

static int is_atext(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/*
 * An address that is RFC-valid can still be something else where mailstage
 * writes it: in /etc/aliases a | makes a command and a / a file, and in
 * aliases and main.cf a # starts a comment.  Those are refused in the
 * local part of an address key (! % & and the rest of RFC 5322's atext are
 * harmless there and stay allowed).
 */
static int unsafe_local(const char *s)
{
	const char *at = strrchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);

	return strcspn(s, "|/#") < n;
}

/* local@domain, dot-atom local part. */
static int valid_email(const char *s)
{
	const char *at = strrchr(s, '@');
	const char *q;

	if (!at || at == s || at - s > 64 || !valid_fqdn(at + 1))
		return 0;
	if (s[0] == '.' || at[-1] == '.')
		return 0;
	for (q = s; q < at; q++) {
		if (*q == '.') {
			if (q[1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)*q)) {
			return 0;
		}
	}
	return 1;
}

static char *email_dup(const char *s)
{
	const char *at = strrchr(s, '@');
	char *local = xstrndup(s, (size_t)(at - s));
	char *dom = fqdn_dup(at + 1);
	char *r = xasprintf("%s@%s", local, dom);

	free(local);
	free(dom);
	return r;
}

static int valid_username(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i])))
			return 0;
	return 1;
}

/* Digits only, at most max_digits; 0 and the value, or -1. */
static int parse_digits(const char *s, size_t n, size_t max_digits, long long *v)
{
	size_t i;
	long long r = 0;

	if (n == 0 || n > max_digits)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		r = r * 10 + (s[i] - '0');
	}
	*v = r;
	return 0;
}

static long long unit_seconds(char u)
{
	switch (u) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return DAY;
	case 'w': return 7 * DAY;
	}
	return 0;
}

/* "100d", "5m", "300s" */
static char *format_seconds(long long s)
{
	static const char units[] = "wdhm";
	size_t i;

	for (i = 0; units[i]; i++)
		if (s > 0 && s % unit_seconds(units[i]) == 0)
			return xasprintf("%lld%c", s / unit_seconds(units[i]), units[i]);
	return xasprintf("%llds", s);
}

/* ---- the validators: one per type ------------------------------------------
 *
 * Each takes the key's row and the value as written and either returns 0
 * with the value as stored (*out, or *num for whole numbers) or returns
 * -EINVAL with *why, the phrase of the error ("is not ..."; caller frees).
 * convert() below does the rest for every key alike: the empty check, the
 * message "KEY VALUE WHY, e.g. EXAMPLE", storing into struct config.
 */

struct keydef;
typedef int (*validator_fn)(const struct keydef *k, const char *v, char **out, long *num, char **why);

static int why_is(char **why, const char *what)
{
	*why = xstrdup(what);
	return -EINVAL;
}

static int v_ipv4(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	struct in_addr a;
	uint32_t h;

	(void)k, (void)num;
	if (inet_pton(AF_INET, v, &a) != 1)
		return why_is(why, _("is not an IPv4 address (four numbers 0-255 separated by dots)"));
	h = ntohl(a.s_addr);
	if ((h >> 24) == 0)
		return why_is(why, _("is not a usable address (0.0.0.0/8), not the server's public address"));
	if ((h >> 24) == 127)
		return why_is(why, _("is a loopback address, not the server's public address"));
	if ((h >> 28) >= 14)
		return why_is(why, _("is a multicast or reserved address, not the server's public address"));
	*out = xstrdup(v);
	return 0;
}

static int v_ipv6(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	struct in6_addr a;
	static const unsigned char zero[16];
	char buf[INET6_ADDRSTRLEN];

	(void)k, (void)num;
	if (!*v) {
		*out = NULL;
		return 0;
	}
	if (inet_pton(AF_INET6, v, &a) != 1)
		return why_is(why, _("is not an IPv6 address (without brackets or /prefix)"));
	if (memcmp(a.s6_addr, zero, 15) == 0 && a.s6_addr[15] <= 1)
		return why_is(why, _("is the unspecified or loopback address, not the server's public address"));
	if (a.s6_addr[0] == 0xff)
		return why_is(why, _("is a multicast address, not the server's public address"));
	if (a.s6_addr[0] == 0xfe && (a.s6_addr[1] & 0xc0) == 0x80)
		return why_is(why, _("is a link-local address, not the server's public address"));
	if (IN6_IS_ADDR_V4MAPPED(&a))
		return why_is(why, _("is an IPv4-mapped address; put IPv4 addresses in ipv4"));
	/* canonical form, so that SPF and comparisons see one spelling */
	*out = xstrdup(inet_ntop(AF_INET6, &a, buf, sizeof(buf)) ? buf : v);
	return 0;
}

static int v_path(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	const char *q;

	(void)k, (void)num;
	if (!*v) {
		*out = NULL;
		return 0;
	}
	if (v[0] != '/')
		return why_is(why, _("is not an absolute path"));
	if (strlen(v) >= 1024 || v[strlen(v) - 1] == '/')
		return why_is(why, _("is not the path of a file"));
	for (q = v; *q; q++)
		if (!isalnum((unsigned char)*q) && !strchr("/._+-@:=~", *q))
			return why_is(why, _("contains a blank or a character other than letters, digits and / . _ + - @ : = ~"));
	for (q = v; (q = strstr(q, "/..")) != NULL; q += 3)
		if (q[3] == '/' || q[3] == '\0')
			return why_is(why, _("contains a \"..\" component"));
	*out = xstrdup(v);
	return 0;
}

static int v_int(const struct keydef *k, const char *v, char **out, long *num, char **why);
static int v_bits(const struct keydef *k, const char *v, char **out, long *num, char **why);
static int v_duration(const struct keydef *k, const char *v, char **out, long *num, char **why);
static int v_enum(const struct keydef *k, const char *v, char **out, long *num, char **why);

#define UNSAFE_LOCAL_MSG _("is not a plain address: a | / or # in its local part would make it a command, " \
			  "a file or a comment where mailstage writes it (/etc/aliases, main.cf)")

static int v_email(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	const char *a = v;

	(void)k, (void)num;
	if (strncasecmp(a, "mailto:", 7) == 0)
		a += 7;
	if (!*v) {
		*out = xstrdup("");
		return 0;
	}
	if (strpbrk(a, ", \t"))
		return why_is(why, _("is more than one address; give one address (local@domain)"));
	if (!valid_email(a))
		return why_is(why, _("is not an email address (local@domain)"));
	if (unsafe_local(a))
		return why_is(why, UNSAFE_LOCAL_MSG);
	*out = email_dup(a);
	return 0;
}

static int v_recipient(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	(void)k, (void)num;
	if (strchr(v, '@') && valid_email(v) && unsafe_local(v))
		return why_is(why, UNSAFE_LOCAL_MSG);
	if (strchr(v, '@') ? valid_email(v) : valid_username(v)) {
		*out = strchr(v, '@') ? email_dup(v) : xstrdup(v);
		return 0;
	}
	return why_is(why, _("is not a local user name or an email address"));
}

static int v_fqdn(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	(void)k, (void)num;
	if (!valid_fqdn(v))
		return why_is(why, _("is not a fully qualified domain name"));
	*out = fqdn_dup(v);
	return 0;
}

static int v_selector(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	size_t n = strlen(v);

	(void)k, (void)num;
	if (n > 63 || check_labels(v, n, NULL) < 1)
		return why_is(why, _("is not a DKIM selector (letters, digits, inner hyphens and dots)"));
	*out = lower_dup(v, n);
	return 0;
}

static int v_hostport(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	const char *colon, *host = v;
	size_t hlen;
	long long port;
	char *h;
	int ok;

	(void)k, (void)num;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			goto bad;
		host = v + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - v);
	}
	if (parse_digits(colon + 1, strlen(colon + 1), 5, &port) < 0 || port < 1 || port > 65535)
		goto bad;
	h = xstrndup(host, hlen);
	ok = v[0] == '[' ? valid_ipv6(h) : (valid_fqdn(h) || valid_ipv4(h));
	free(h);
	if (!ok)
		goto bad;
	*out = lower_dup(v, strlen(v));
	return 0;
bad:
	return why_is(why, _("is not HOST:PORT (a host name, IPv4 address or [IPv6] address, and a port 1-65535)"));
}

/*
 * An API base URL: https:// or http://, a host, no blank, quote, backslash,
 * query or fragment, at most 512 characters; "" is none (NULL).  Whether
 * http:// goes to a loopback address is the client's check
 * (installer/sakura.c: sakura_url_ok), made when the URL is used.
 */
static int v_url(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	const char *host;
	const char *q;

	(void)k, (void)num;
	if (!*v) {
		*out = NULL;
		return 0;
	}
	host = !strncmp(v, "https://", 8) ? v + 8 : !strncmp(v, "http://", 7) ? v + 7 : NULL;
	if (!host || !*host || *host == '/' || strlen(v) > 512)
		return why_is(why, _("is not an https:// URL"));
	for (q = v; *q; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f || strchr("\"'\\?#<>`", *q))
			return why_is(why, _("is not an https:// URL"));
	*out = xstrdup(v);
	return 0;
}

/* List items: the same shape, one item at a time (the list's own checks are in conv_list). */
static int v_service(const struct keydef *k, const char *s, char **out, long *num, char **why)
{
	const char *q;

	(void)k, (void)num;
	if (!*s || strlen(s) > 64)
		goto bad;
	for (q = s; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-'))
			goto bad;
	*out = xstrdup(s);
	return 0;
bad:
	return why_is(why, _("is not a firewalld service name (lowercase letters, digits, hyphens)"));
}

static int v_domain(const struct keydef *k, const char *s, char **out, long *num, char **why)
{
	(void)k, (void)num;
	if (!valid_fqdn(s))
		return why_is(why, _("is not a domain name"));
	*out = fqdn_dup(s);
	return 0;
}

static int v_dkim_alg(const struct keydef *k, const char *s, char **out, long *num, char **why)
{
	(void)k, (void)num;
	if (strcasecmp(s, "rsa-sha256") != 0 && strcasecmp(s, "ed25519-sha256") != 0)
		return why_is(why, _("is not a DKIM signing algorithm (rsa-sha256, ed25519-sha256)"));
	*out = lower_dup(s, strlen(s));
	return 0;
}

/* "name=on" from name=on|off|1|0|true|false. */
static int v_boolean(const struct keydef *k, const char *s, char **out, long *num, char **why)
{
	const char *eq = strchr(s, '=');
	const char *val, *q;
	const char *norm;

	(void)k, (void)num;
	if (!eq || eq == s || eq - s > 64)
		goto bad;
	for (q = s; q < eq; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_'))
			goto bad;
	val = eq + 1;
	if (!strcasecmp(val, "on") || !strcmp(val, "1") || !strcasecmp(val, "true"))
		norm = "on";
	else if (!strcasecmp(val, "off") || !strcmp(val, "0") || !strcasecmp(val, "false"))
		norm = "off";
	else
		goto bad;
	*out = xasprintf("%.*s=%s", (int)(eq - s), s, norm);
	return 0;
bad:
	return why_is(why, _("is not NAME=on or NAME=off"));
}

/* ---- the types ------------------------------------------------------------ */

enum store { ST_STR, ST_LONG, ST_LIST };

struct type {
	enum store store;
	int empty_ok;		/* "" is a value (none), given to the validator */
	validator_fn valid;	/* ST_LIST: of each item */
	int name_value;		/* ST_LIST of NAME=value items: blanks around '=' joined, one value a name */
};

static const struct type types[] = {
	[K_FQDN] = { ST_STR, 0, v_fqdn, 0 },
	[K_IPV4] = { ST_STR, 0, v_ipv4, 0 },
	[K_IPV6] = { ST_STR, 1, v_ipv6, 0 },
	[K_SELECTOR] = { ST_STR, 0, v_selector, 0 },
	[K_DKIM_BITS] = { ST_LONG, 0, v_bits, 0 },
	[K_ENUM] = { ST_STR, 0, v_enum, 0 },
	[K_EMAIL] = { ST_STR, 1, v_email, 0 },
	[K_RECIPIENT] = { ST_STR, 0, v_recipient, 0 },
	[K_PATH] = { ST_STR, 1, v_path, 0 },
	[K_INT] = { ST_LONG, 0, v_int, 0 },
	[K_DURATION] = { ST_STR, 0, v_duration, 0 },
	[K_SERVICES] = { ST_LIST, 1, v_service, 0 },
	[K_BOOLEANS] = { ST_LIST, 1, v_boolean, 1 },
	[K_DOMAINS] = { ST_LIST, 1, v_domain, 0 },
	[K_HOSTPORT] = { ST_STR, 0, v_hostport, 0 },
	[K_URL] = { ST_STR, 1, v_url, 0 },
	[K_DKIM_ALGS] = { ST_LIST, 0, v_dkim_alg, 0 },
};

/* What the validators see of a key: its bounds and extra (the table row). */
struct keydef {
	enum kind kind;
	size_t off;
	long lo, hi;
	const char *extra;
};
#define IMPL_ROW(n, t, d, e, a, doc, k, l, h, x) { k, offsetof(struct config, n), l, h, x },
static const struct keydef impl[] = { KEYS(IMPL_ROW) };

static int v_int(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	long long n;

	(void)out;
	if (parse_digits(v, strlen(v), 18, &n) < 0)
		return why_is(why, _("is not a whole number (digits only)"));
	if (n < k->lo || n > k->hi) {
		*why = xasprintf(_("is out of range (%ld to %ld)"), k->lo, k->hi);
		return -EINVAL;
	}
	*num = (long)n;
	return 0;
}

static int v_bits(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	long long n;

	(void)k, (void)out;
	if (parse_digits(v, strlen(v), 18, &n) < 0)
		return why_is(why, _("is not a whole number (digits only)"));
	if (n != 1024 && n != 2048 && n != 3072 && n != 4096)
		return why_is(why, _("is not one of 1024, 2048, 3072, 4096"));
	*num = (long)n;
	return 0;
}

static int v_duration(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	size_t n = strlen(v);
	long long value, mul;
	char unit = k->extra[0];

	(void)num;
	if (n > 0 && !(v[n - 1] >= '0' && v[n - 1] <= '9')) {
		unit = v[n - 1];
		n--;
	}
	mul = unit_seconds(unit);
	if (mul == 0 || parse_digits(v, n, 9, &value) < 0)
		return why_is(why, _("is not a time (a number with an optional unit s, m, h, d or w)"));
	if (value * mul > k->hi) {
		char *max = format_seconds(k->hi);
		*why = xasprintf(_("is more than the maximum of %s"), max);
		free(max);
		return -EINVAL;
	}
	*out = xstrdup(v);
	return 0;
}

static int v_enum(const struct keydef *k, const char *v, char **out, long *num, char **why)
{
	const char *c = k->extra;
	size_t n = strlen(v);
	struct buf what = { 0 };

	(void)num;
	buf_puts(&what, _("is not one of "));
	while (*c) {
		size_t l = strcspn(c, "|");
		if (l == n && memcmp(c, v, n) == 0) {
			*out = xstrdup(v);
			buf_free(&what);
			return 0;
		}
		buf_printf(&what, "%s%.*s", c == k->extra ? "" : ", ", (int)l, c);
		c += l + (c[l] == '|');
	}
	*why = buf_steal(&what);
	return -EINVAL;
}

/* ---- conversion of one value --------------------------------------------- */

static void *slot(struct parser *p, size_t i)
{
	return (char *)p->cfg + impl[i].off;
}

static void bad(struct parser *p, size_t i, unsigned line, const char *value, const char *what)
{
	char *v = shown(value);

	/* TRANSLATORS: key, its value as written, then a phrase "is not ..." below */
	add_error(p, line, _("%s %s %s, e.g. %s"), keys[i].name, v, what, keys[i].example);
	free(v);
}

static void bad_item(struct parser *p, size_t i, unsigned line, const char *item, const char *what)
{
	char *v = shown(item);

	add_error(p, line, _("%s item %s %s, e.g. %s"), keys[i].name, v, what, keys[i].example);
	free(v);
}

static int strv_has(const struct strv *s, const char *item)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], item) == 0)
			return 1;
	return 0;
}

static int conv_list(struct parser *p, size_t i, unsigned line, const char *v)
{
	const struct type *t = &types[impl[i].kind];
	struct strv *dst = slot(p, i);
	struct strv out = { 0 };
	struct buf b = { 0 };
	const char *q;
	char *text, *tok, *save = NULL;
	int r = 0;

	/* "name = on" inside selinux_booleans: join the blanks around '=' */
	for (q = v; *q; q++) {
		if (t->name_value && (*q == ' ' || *q == '\t')) {
			const char *nx = q + strspn(q, " \t");
			if (*nx == '=' || (b.len > 0 && b.data[b.len - 1] == '=')) {
				q = nx - 1;
				continue;
			}
		}
		buf_append(&b, q, 1);
	}
	text = buf_steal(&b);

	for (tok = strtok_r(text, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		char *item = NULL, *why = NULL;
		long unused;

		if (t->valid(&impl[i], tok, &item, &unused, &why) < 0) {
			bad_item(p, i, line, tok, why);
			free(why);
			r = -EINVAL;
			continue;
		}
		if (t->name_value) {
			/* the same name twice: fine when equal, an error when not */
			size_t k, nl = (size_t)(strchr(item, '=') - item) + 1;
			int dup = 0;
			for (k = 0; k < out.n; k++) {
				if (strncmp(out.v[k], item, nl) == 0) {
					dup = 1;
					if (strcmp(out.v[k], item) != 0) {
						add_error(p, line, _("%s sets %.*s both on and off, e.g. %s"),
							  keys[i].name, (int)(nl - 1), item, keys[i].example);
						r = -EINVAL;
					}
				}
			}
			if (!dup)
				strv_push(&out, item);
		} else if (!strv_has(&out, item)) {
			strv_push(&out, item);
		}
		free(item);
	}
	free(text);
	if (r == 0 && out.n > MAX_ITEMS) {
		add_error(p, line, _("%s has %zu items, more than the %d allowed, e.g. %s"), keys[i].name, out.n,
			  MAX_ITEMS, keys[i].example);
		r = -EINVAL;
	}
	if (r < 0) {
		strv_free(&out);
		return r;
	}
	strv_free(dst);
	*dst = out;
	return 0;
}

/* One key's value: the same steps for every type. */
static int convert(struct parser *p, size_t i, unsigned line, const char *v)
{
	const struct type *t = &types[impl[i].kind];
	char *out = NULL, *why = NULL;
	long num = 0;

	/* An empty value is "none" only where none makes sense. */
	if (!*v && !t->empty_ok) {
		add_error(p, line, _("%s is empty, e.g. %s = %s"), keys[i].name, keys[i].name, keys[i].example);
		return -EINVAL;
	}
	if (t->store == ST_LIST)
		return conv_list(p, i, line, v);
	if (t->valid(&impl[i], v, &out, &num, &why) < 0) {
		bad(p, i, line, v, why);
		free(why);
		return -EINVAL;
	}
	if (t->store == ST_LONG) {
		*(long *)slot(p, i) = num;
	} else {
		char **s = slot(p, i);
		free(*s);
		*s = out;
	}
	return 0;
}

/* ---- lines ----------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t len, k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[k] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/* What keeps a line from being plain text: 0 none, else TEXT_NUL, TEXT_CONTROL or TEXT_UTF8 with *byte. */
enum { TEXT_OK, TEXT_NUL, TEXT_CONTROL, TEXT_UTF8 };
static int text_problem(const char *s, size_t n, unsigned char *byte)
{
	size_t k = 0;

	if (memchr(s, '\0', n))
		return TEXT_NUL;
	while (k < n) {
		unsigned char c = (unsigned char)s[k];
		size_t l;

		/* Eight bytes at a time while all are printable ASCII (0x20..0x7e), as nearly all are. */
		while (k + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + k, 8);
			if (((w - 0x2020202020202020ULL) | (w + 0x0101010101010101ULL)) & 0x8080808080808080ULL)
				break;
			k += 8;
		}
		if (k >= n)
			break;
		c = (unsigned char)s[k];

		if (c >= 0x20 && c < 0x7f) {
			k++;	/* printable ASCII, nearly every byte */
			continue;
		}
		*byte = c;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return TEXT_CONTROL;
		l = utf8_len((const unsigned char *)s + k, n - k);
		if (l == 0)
			return TEXT_UTF8;
		k += l;
	}
	return TEXT_OK;
}

/* Plain text: no NUL, no control characters but tab, valid UTF-8. */
static int check_text(struct parser *p, unsigned lineno, const char *s, size_t n)
{
	unsigned char c = 0;

	switch (text_problem(s, n, &c)) {
	case TEXT_NUL:
		add_error(p, lineno, _("line contains a NUL byte; the configuration must be plain text"));
		return -EINVAL;
	case TEXT_CONTROL:
		add_error(p, lineno, _("line contains control character 0x%02x; the configuration must be plain text"), c);
		return -EINVAL;
	case TEXT_UTF8:
		add_error(p, lineno, _("line is not valid UTF-8 text (byte 0x%02x); the configuration must be plain text"), c);
		return -EINVAL;
	}
	return 0;
}

static void unknown_key(struct parser *p, unsigned lineno, const char *key)
{
	size_t i, best = (size_t)-1, bestd = (size_t)-1, len = strlen(key);
	char *k = shown(key);
	char *lower = lower_dup(key, len);	/* "Hostname" is a typo too */

	for (i = 0; i < NKEYS && len <= 64; i++) {	/* no key is longer */
		size_t d = levenshtein(lower, keys[i].name);
		if (d < bestd) {
			bestd = d;
			best = i;
		}
	}
	if (best != (size_t)-1 && (bestd <= 2 || bestd <= len / 3) && bestd < len)
		add_error(p, lineno, _("unknown key %s (did you mean \"%s\"?)"), k, keys[best].name);
	else
		add_error(p, lineno, _("unknown key %s (the keys are listed in mailstage.conf(5))"), k);
	free(lower);
	free(k);
}

static void parse_line(struct parser *p, unsigned lineno, const char *s, size_t n)
{
	char *copy, *line, *eq, *key, *value;
	size_t i;

	if (n > 0 && s[n - 1] == '\r')
		n--;		/* CRLF files (edited on Windows) are fine */
	if (n > MAX_LINE) {
		add_error(p, lineno, _("line is %zu bytes long, more than the %d allowed"), n, MAX_LINE);
		return;
	}
	if (!p->text_clean && check_text(p, lineno, s, n) < 0)
		return;
	/* A blank line or a comment (most of the file): nothing to copy. */
	for (i = 0; i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'); i++)
		;
	if (i == n || s[i] == '#')
		return;

	copy = xstrndup(s, n);
	line = strip(copy);
	if (!*line || *line == '#')
		goto out;

	eq = strchr(line, '=');
	if (!eq) {
		/* name the key when the first word is one */
		size_t w = strcspn(line, " \t:");
		for (i = 0; i < NKEYS; i++)
			if (strlen(keys[i].name) == w && strncmp(line, keys[i].name, w) == 0)
				break;
		{
			char *l = shown(line);
			if (i < NKEYS)
				add_error(p, lineno, _("line %s has no \"=\", e.g. %s = %s"), l, keys[i].name,
					  keys[i].example);
			else
				add_error(p, lineno, _("line %s has no \"=\"; lines are \"key = value\", e.g. %s = %s"), l,
					  keys[0].name, keys[0].example);
			free(l);
		}
		goto out;
	}
	*eq = '\0';
	key = strip(line);
	value = strip(eq + 1);
	if (!*key) {
		add_error(p, lineno, _("no key before \"=\", e.g. %s = %s"), keys[0].name, keys[0].example);
		goto out;
	}
	for (i = 0; i < NKEYS; i++)
		if (strcmp(key, keys[i].name) == 0)
			break;
	if (i == NKEYS) {
		unknown_key(p, lineno, key);
		goto out;
	}
	if (p->value[i]) {
		add_error(p, lineno, _("duplicate key \"%s\" (already set on line %u); keep one of the two lines"),
			  key, p->line[i]);
		goto out;
	}
	p->value[i] = xstrdup(value);
	p->line[i] = lineno;
out:
	free(copy);
}

/* ---- cross-field checks ------------------------------------------------------ */

static int list_has(const struct strv *l, const char *item)
{
	size_t i;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], item) == 0)
			return 1;
	return 0;
}

int config_dkim_ed25519(const struct config *cfg)
{
	return list_has(&cfg->dkim_algorithms, "ed25519-sha256");
}

static void cross_checks(struct parser *p)
{
	struct config *c = p->cfg;

	/* Only values that were accepted are compared. */
	/* TLS: both or neither */
	if (!c->tls_cert != !c->tls_key && !p->failed[KI_tls_cert] && !p->failed[KI_tls_key]) {
		size_t set = c->tls_cert ? KI_tls_cert : KI_tls_key;
		size_t unset = c->tls_cert ? KI_tls_key : KI_tls_cert;
		add_error(p, p->line[set], _("%s is set but %s is not; set both or neither, e.g. %s = %s"),
			  keys[set].name, keys[unset].name, keys[unset].name, keys[unset].example);
	}

	/* ACME makes the certificate: an administrator's own pair is another way */
	if (config_tls_acme(c) && c->tls_cert && !p->failed[KI_tls_acme] &&
	    !p->failed[KI_tls_cert])
		add_error(p, p->line[KI_tls_acme], _("tls_acme = yes and tls_cert are both set; the certificate "
			  "comes either from the ACME CA or from tls_cert/tls_key: remove one, e.g. tls_acme = no"));

	/* Ed25519 only beside RSA: most receivers do not verify Ed25519 yet (RFC 8463 section 1). */
	if (!p->failed[KI_dkim_algorithms] && !list_has(&c->dkim_algorithms, "rsa-sha256"))
		add_error(p, p->line[KI_dkim_algorithms], _("dkim_algorithms must include rsa-sha256: "
			  "receivers that do not know Ed25519 need the RSA signature, e.g. %s = %s"),
			  keys[KI_dkim_algorithms].name, keys[KI_dkim_algorithms].example);

	/* Postfix refuses to start when a mailbox cannot hold one message. */
	if (!p->failed[KI_mailbox_size_limit] && !p->failed[KI_message_size_limit] &&
	    c->mailbox_size_limit != 0 &&
	    (c->message_size_limit == 0 || c->mailbox_size_limit < c->message_size_limit) &&
	    (p->line[KI_mailbox_size_limit] || p->line[KI_message_size_limit])) {
		unsigned l = p->line[KI_mailbox_size_limit] ? p->line[KI_mailbox_size_limit]
							   : p->line[KI_message_size_limit];
		add_error(p, l, _("mailbox_size_limit %ld is smaller than message_size_limit %ld; "
			  "Postfix will not start, e.g. mailbox_size_limit = %ld or 0"),
			  c->mailbox_size_limit, c->message_size_limit,
			  c->message_size_limit ? 5 * c->message_size_limit : 0L);
	}

	if (!p->failed[KI_initial_destination_concurrency] && !p->failed[KI_default_destination_concurrency_limit] &&
	    c->initial_destination_concurrency > c->default_destination_concurrency_limit &&
	    (p->line[KI_initial_destination_concurrency] || p->line[KI_default_destination_concurrency_limit])) {
		unsigned l = p->line[KI_initial_destination_concurrency]
				     ? p->line[KI_initial_destination_concurrency]
				     : p->line[KI_default_destination_concurrency_limit];
		add_error(p, l, _("initial_destination_concurrency %ld is more than default_destination_concurrency_limit %ld, "
			  "e.g. initial_destination_concurrency = %ld"),
			  c->initial_destination_concurrency, c->default_destination_concurrency_limit,
			  c->default_destination_concurrency_limit < 2 ? c->default_destination_concurrency_limit : 2L);
	}
}

/* ---- entry points ------------------------------------------------------------ */

int config_parse(const char *text, size_t len, const char *display_name, struct config *cfg,
		 struct strv *errors)
{
	struct parser p;
	const char *s, *end;
	unsigned lineno = 0;
	size_t i;
	int r = 0;

	memset(cfg, 0, sizeof(*cfg));
	memset(&p, 0, sizeof(p));
	p.name = display_name ? display_name : "mailstage.conf";
	p.cfg = cfg;
	cfg->path = xstrdup(p.name);

	if (!text) {
		text = "";
		len = 0;
	}
	if (len > MAX_FILE) {
		add_error(&p, 0, _("file is %zu bytes, more than the %d allowed; is it the right file?"), len, MAX_FILE);
		r = -EINVAL;
		goto out;
	}

	s = text;
	end = text + len;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;		/* byte order mark from some editors */
	/*
	 * A binary file (a key, an archive, a disk image copied over it) gets one
	 * message, not one per line: more than BINARY_LINES lines that are not
	 * text, and it is not a mailstage.conf at all.
	 */
	{
		const char *q = s;
		unsigned l = 0, bad = 0, first = 0;
		unsigned char c;
		while (q < end) {
			const char *nl = memchr(q, '\n', (size_t)(end - q)), *le = nl ? nl : end;
			size_t n = (size_t)(le - q);
			l++;
			if (n && q[n - 1] == '\r')
				n--;
			if (text_problem(q, n, &c) != TEXT_OK && !bad++)
				first = l;
			q = nl ? nl + 1 : end;
		}
		p.text_clean = bad == 0;
		if (bad > BINARY_LINES) {
			add_error(&p, first, _("this is not a text file: %u lines hold NUL, control or non-UTF-8 bytes, "
					       "the first here (mailstage.conf is \"key = value\" lines, see "
					       "mailstage.conf(5))"), bad);
			r = -EINVAL;
			goto out;
		}
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;

		parse_line(&p, ++lineno, s, (size_t)(le - s));
		s = nl ? nl + 1 : end;
	}

	for (i = 0; i < NKEYS; i++) {
		if (p.value[i]) {
			if (convert(&p, i, p.line[i], p.value[i]) < 0)
				p.failed[i] = 1;
		} else if (!keys[i].default_value) {
			add_error(&p, 0, _("required key \"%s\" is missing, e.g. %s = %s"), keys[i].name, keys[i].name,
				  keys[i].example);
		} else if (keys[i].default_value[0] != '<') {
			(void)convert(&p, i, 0, keys[i].default_value);
		}
	}

	/* derived defaults */
	if (!p.value[KI_dmarc_rua] && cfg->domain)
		cfg->dmarc_rua = xasprintf("dmarc@%s", cfg->domain);
	if (!p.value[KI_dmarc_ruf] && cfg->dmarc_rua)
		cfg->dmarc_ruf = xstrdup(cfg->dmarc_rua);

	cross_checks(&p);
	if (p.nerr)
		r = -EINVAL;
out:
	flush_errors(&p, errors);
	for (i = 0; i < NKEYS; i++)
		free(p.value[i]);
	return r;
}

int config_load(const char *file, const char *display_name, struct config *cfg, struct strv *errors)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (!display_name)
		display_name = file;
	/* One message for anything that is not a plain file of sane size (a FIFO never blocks). */
	r = read_regular_file(file, MAX_FILE, &data, &len);
	if (r < 0) {
		char *m = r == -EINVAL ? xasprintf(_("%s is not a regular file"), display_name)
			: r == -EFBIG ? xasprintf(_("%s is larger than %u KiB: not a mailstage.conf"), display_name,
						  (unsigned)MAX_FILE >> 10)
			: xasprintf(_("cannot read %s: %s"), display_name, strerror(-r));
		cfg->path = xstrdup(display_name);
		if (errors)
			strv_push(errors, m);
		free(m);
		goto out;
	}
	r = config_parse(data, len, display_name, cfg, errors);
	/* Kept: everything the configuration says is a function of these bytes (fpcache's edit records). */
	cfg->source = data;
	cfg->source_len = len;
	data = NULL;
out:
	free(data);
	return r;
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < NKEYS; i++) {
		void *s = (char *)cfg + impl[i].off;
		switch (types[impl[i].kind].store) {
		case ST_LONG:
			break;
		case ST_LIST:
			strv_free(s);
			break;
		case ST_STR:
			free(*(char **)s);
			break;
		}
	}
	free(cfg->path);
	free(cfg->source);
	memset(cfg, 0, sizeof(*cfg));
}

int config_tls_acme(const struct config *cfg)
{
	return cfg->tls_acme && strcmp(cfg->tls_acme, "yes") == 0;
}
