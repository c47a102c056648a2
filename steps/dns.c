/*
 * dns.c - stage "dns" (and what `mailstage dns`, installer/cmd_dns.c, prints): the records this server needs
 * published (A/AAAA of the hostname, MX, SPF, the DKIM key, DMARC, CAA for the ACME CA) and the
 * PTR its provider must set, as a zone file nsd and BIND load as is, as
 * records to paste, as JSON and as a table.
 *
 * The zone is written to /var/lib/mailstage/dns/DOMAIN.zone through the
 * primitives like any managed file (plan shows its diff, rollback restores
 * it).  Nothing is invented: before the DKIM key exists (plan on a fresh
 * system) the zone says so in a comment and has no DKIM record.
 */
#include "i18n.h"
#include "dns.h"
#include "crypto.h"
#include "fpcache.h"
#include "msg.h"
#include "exitcode.h"
#include "steps.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ---- */

const char *dns_caa_domain(const char *url)
{
	static const struct {
		const char *host, *caa;
	} cas[] = {
		{ "letsencrypt.org", "letsencrypt.org" },
		{ "zerossl.com", "sectigo.com" },
		{ "sectigo.com", "sectigo.com" },
		{ "pki.goog", "pki.goog" },
		{ "buypass.com", "buypass.com" },
		{ "buypass.no", "buypass.com" },
	};
	const char *h, *e;
	size_t i, hl;

	if (!url || strncasecmp(url, "https://", 8) != 0)
		return NULL;
	h = url + 8;
	for (e = h; *e && *e != '/' && *e != ':' && *e != '?' && *e != '#'; e++)
		if (*e == '@')	/* userinfo: not a host */
			return NULL;
	hl = (size_t)(e - h);
	if (hl && h[hl - 1] == '.')
		hl--;
	for (i = 0; i < sizeof(cas) / sizeof(cas[0]); i++) {
		size_t cl = strlen(cas[i].host);
		if (hl == cl && !strncasecmp(h, cas[i].host, cl))
			return cas[i].caa;
		if (hl > cl && h[hl - cl - 1] == '.' && !strncasecmp(h + hl - cl, cas[i].host, cl))
			return cas[i].caa;
	}
	return NULL;
}

/* Owner name relative to origin (no dots at the ends): "@", "mail", or NULL when outside. */
static char *relative_name(const char *name, const char *origin)
{
	size_t nl = strlen(name), ol = strlen(origin);
	if (strcasecmp(name, origin) == 0)
		return xstrdup("@");
	if (nl > ol + 1 && name[nl - ol - 1] == '.' && strcasecmp(name + nl - ol, origin) == 0)
		return xstrndup(name, nl - ol - 1);
	return NULL;
}

static char *lower_dup(const char *s)
{
	char *d = xstrdup(s), *p;
	size_t l = strlen(d);
	if (l && d[l - 1] == '.')
		d[l - 1] = 0;
	for (p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static struct dns_rr *add_rr(struct dns_zone *z, const char *owner, const char *origin, const char *type,
			     char *value, const char *purpose)
{
	struct dns_rr *rr;
	z->rr = xrealloc(z->rr, (z->n + 1) * sizeof(*z->rr));
	rr = &z->rr[z->n++];
	memset(rr, 0, sizeof(*rr));
	rr->fqdn = xasprintf("%s.", owner);
	rr->name = origin ? relative_name(owner, origin) : NULL;
	rr->type = type;
	rr->value = value;
	rr->purpose = purpose;
	return rr;
}

/* A mailto: URI for a DMARC tag: '!' ',' ';' '%' and anything unusual percent-encoded (RFC 7489 6.2). */
static char *dmarc_uri(const char *addr)
{
	struct buf b = { 0 };
	const unsigned char *p;
	buf_puts(&b, "mailto:");
	for (p = (const unsigned char *)addr; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("!,;%\"\\<>", *p))
			buf_printf(&b, "%%%02X", *p);
		else
			buf_append(&b, p, 1);
	}
	return buf_steal(&b);
}

char *dns_reverse_name(const char *addr)
{
	unsigned char a[16];
	struct buf b = { 0 };
	int i;

	if (inet_pton(AF_INET, addr, a) == 1)
		return xasprintf("%u.%u.%u.%u.in-addr.arpa.", a[3], a[2], a[1], a[0]);
	if (inet_pton(AF_INET6, addr, a) != 1)
		return NULL;
	for (i = 15; i >= 0; i--)
		buf_printf(&b, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	buf_puts(&b, "ip6.arpa.");
	return buf_steal(&b);
}

/* The report address's domain, when it is neither the domain nor under it. */
static const char *foreign_report_domain(const char *addr, const char *domain)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	char *rel;
	if (!at)
		return NULL;
	rel = relative_name(at + 1, domain);
	if (rel) {
		free(rel);
		return NULL;
	}
	return at + 1;
}

int dns_build(const struct config *cfg, const char *dkim_p, const char *missing_key, struct dns_zone *z)
{
	char *dom = NULL, *host = NULL, *owner, *rev;
	const char *fd;
	struct buf b = { 0 };
	struct dns_rr *rr;

	memset(z, 0, sizeof(*z));
	if (!cfg->hostname || !cfg->domain || !cfg->ipv4)
		return -EINVAL;
	dom = lower_dup(cfg->domain);
	host = lower_dup(cfg->hostname);
	z->origin = xasprintf("%s.", dom);
	z->hostname = xasprintf("%s.", host);

	add_rr(z, host, dom, "A", xstrdup(cfg->ipv4), "the mail server's IPv4 address (receivers check it "
	       "against the PTR)");
	if (cfg->ipv6 && *cfg->ipv6)
		add_rr(z, host, dom, "AAAA", xstrdup(cfg->ipv6), "the mail server's IPv6 address");
	if (!z->rr[0].name)
		strv_push(&z->notes, "the hostname is outside the domain: publish its A/AAAA records in "
			  "the zone that holds it");
	add_rr(z, dom, dom, "MX", xasprintf("10 %s", z->hostname), "mail for the domain goes to this server");

	buf_printf(&b, "v=spf1 ip4:%s", cfg->ipv4);
	if (cfg->ipv6 && *cfg->ipv6)
		buf_printf(&b, " ip6:%s", cfg->ipv6);
	buf_printf(&b, " %s", cfg->spf_policy && *cfg->spf_policy ? cfg->spf_policy : "~all");
	add_rr(z, dom, dom, "TXT", buf_steal(&b), "SPF: the addresses that may send mail for the domain");

	if (dkim_p) {
		owner = xasprintf("%s._domainkey.%s", cfg->dkim_selector ? cfg->dkim_selector : "default", dom);
		add_rr(z, owner, dom, "TXT", dkim_txt_value(dkim_p), "DKIM: the public key mail is signed with");
		free(owner);
	} else {
		char *n = xasprintf("no DKIM record: %s", missing_key ? missing_key : "no DKIM key yet");
		strv_push(&z->notes, n);
		free(n);
	}

	buf_printf(&b, "v=DMARC1; p=%s", cfg->dmarc_policy && *cfg->dmarc_policy ? cfg->dmarc_policy : "none");
	if (cfg->dmarc_rua && *cfg->dmarc_rua) {
		char *u = dmarc_uri(cfg->dmarc_rua);
		buf_printf(&b, "; rua=%s", u);
		free(u);
	}
	if (cfg->dmarc_ruf && *cfg->dmarc_ruf) {
		char *u = dmarc_uri(cfg->dmarc_ruf);
		buf_printf(&b, "; ruf=%s", u);
		free(u);
	}
	buf_printf(&b, "; pct=%ld", cfg->dmarc_pct);
	owner = xasprintf("_dmarc.%s", dom);
	add_rr(z, owner, dom, "TXT", buf_steal(&b), "DMARC: the policy for mail failing SPF and DKIM alignment");
	free(owner);
	fd = foreign_report_domain(cfg->dmarc_rua, dom);
	if (!fd)
		fd = foreign_report_domain(cfg->dmarc_ruf, dom);
	if (fd) {
		char *n = xasprintf("DMARC reports go to %s: receivers send them only if that domain publishes "
				    "%s._report._dmarc.%s TXT \"v=DMARC1\"", fd, dom, fd);
		strv_push(&z->notes, n);
		free(n);
	}

	if (config_tls_acme(cfg)) {
		/*
		 * CAA on the hostname, not on the domain.  A CA looks up CAA at the
		 * name it certifies and climbs towards the root until it finds a
		 * non-empty RRset (RFC 8659 section 3): a record on the hostname
		 * authorizes our CA for that name and overrides any CAA the domain
		 * already has, while a record on the domain would bind every other
		 * name of the domain (www, ...) to this CA, a policy mailstage has
		 * no business setting for the whole domain.
		 */
		const char *ca = dns_caa_domain(cfg->acme_directory);
		if (ca)
			add_rr(z, host, dom, "CAA", xasprintf("0 issue \"%s\"", ca), "CAA: the CA that may issue the "
			       "hostname's certificate (tls_acme)");
		else {
			char *n = xasprintf("no CAA record: the CA of %s is not one mailstage knows; if the domain "
					    "publishes CAA, add %s CAA 0 issue \"<the CA's CAA domain>\"",
					    cfg->acme_directory ? cfg->acme_directory : "(none)", z->hostname);
			strv_push(&z->notes, n);
			free(n);
		}
	}

	rev = dns_reverse_name(cfg->ipv4);
	if (rev) {
		rev[strlen(rev) - 1] = 0;
		rr = add_rr(z, rev, NULL, "PTR", xstrdup(z->hostname), "reverse DNS of the IPv4 address");
		rr->provider = 1;
		free(rev);
	}
	rev = cfg->ipv6 && *cfg->ipv6 ? dns_reverse_name(cfg->ipv6) : NULL;
	if (rev) {
		rev[strlen(rev) - 1] = 0;
		rr = add_rr(z, rev, NULL, "PTR", xstrdup(z->hostname), "reverse DNS of the IPv6 address");
		rr->provider = 1;
		free(rev);
	}
	free(dom);
	free(host);
	return 0;
}

void dns_zone_free(struct dns_zone *z)
{
	size_t i;
	for (i = 0; i < z->n; i++) {
		free(z->rr[i].fqdn);
		free(z->rr[i].name);
		free(z->rr[i].value);
	}
	free(z->rr);
	free(z->origin);
	free(z->hostname);
	strv_free(&z->notes);
	memset(z, 0, sizeof(*z));
}

/* ---- formatting ---- */

/* A byte a TXT character-string holds as it is: printable ASCII but '"' and '\\'. */
static int txt_plain(unsigned char ch)
{
	return ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
}

char *dns_txt_strings(const char *text, size_t max, const char *sep)
{
	struct buf b = { 0 };
	size_t len = strlen(text), off = 0, i;

	if (max == 0 || max > DNS_TXT_MAX)
		max = DNS_TXT_MAX;
	do {
		size_t n = len - off > max ? max : len - off;
		if (off)
			buf_puts(&b, sep);
		buf_puts(&b, "\"");
		for (i = off; i < off + n; i++) {
			unsigned char ch = (unsigned char)text[i];
			size_t run;
			if (txt_plain(ch)) {
				/* the plain characters up to the next one to escape (a DKIM key: all of them), at once */
				for (run = 1; i + run < off + n && txt_plain((unsigned char)text[i + run]); run++)
					;
				buf_append(&b, text + i, run);
				i += run - 1;
			} else if (ch == '"' || ch == '\\') {
				buf_printf(&b, "\\%c", ch);
			} else {
				buf_printf(&b, "\\%03u", ch);
			}
		}
		buf_puts(&b, "\"");
		off += n;
	} while (off < len);
	return buf_steal(&b);
}

int dns_parse_format(const char *s, enum dns_format *f)
{
	if (!s || strcmp(s, "table") == 0)
		*f = DNS_FMT_TABLE;
	else if (strcmp(s, "zone") == 0)
		*f = DNS_FMT_ZONE;
	else if (strcmp(s, "records") == 0)
		*f = DNS_FMT_RECORDS;
	else if (strcmp(s, "json") == 0)
		*f = DNS_FMT_JSON;
	else
		return -EINVAL;
	return 0;
}

/* The records to publish, in zone-file syntax with absolute names (pasteable anywhere). */
static void zone_records(struct buf *b, const struct dns_zone *z)
{
	size_t i, j;
	int ptr_head = 0;

	for (i = 0; i < z->n; i++) {
		const struct dns_rr *rr = &z->rr[i];
		char *data;
		if (rr->provider)
			continue;
		if (rr->remove) {
			buf_cat(b, "; TO REMOVE (not published any more): ", rr->fqdn, " TXT, ", rr->purpose, "\n", NULL);
			continue;
		}
		buf_cat(b, "; ", rr->purpose, "\n", NULL);
		if (strcmp(rr->type, "TXT") == 0) {
			data = dns_txt_strings(rr->value, DNS_TXT_MAX, "\n\t\t");
			if (strchr(data, '\n')) {
				char *t = xasprintf("( %s )", data);
				free(data);
				data = t;
			}
		} else {
			data = xstrdup(rr->value);
		}
		buf_cat(b, rr->name ? "" : "; (in its own zone) ", rr->fqdn, "\t" DNS_TTL_TEXT "\tIN\t", rr->type, "\t",
			data, "\n", NULL);
		free(data);
	}
	for (i = 0; i < z->n; i++) {
		const struct dns_rr *rr = &z->rr[i];
		if (!rr->provider)
			continue;
		if (!ptr_head++)
			buf_puts(b, "; PTR (reverse DNS): not part of this zone. The address's owner sets it: on Sakura "
				 "VPS in the control panel\n; (or the API), elsewhere at the provider. It must name "
				 "the hostname, whose A record must match:\n");
		buf_printf(b, ";   %s\t%d\tIN\tPTR\t%s\n", rr->fqdn, DNS_TTL, rr->value);
	}
	for (j = 0; j < z->notes.n; j++)
		buf_printf(b, "; NOTE: %s\n", z->notes.v[j]);
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;
	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static void format_zone(struct buf *b, const struct dns_zone *z, int full)
{
	struct buf rec = { 0 };
	zone_records(&rec, z);
	if (!full) {
		buf_printf(b, "; DNS records for %.*s, made by mailstage: add them to its zone.\n",
			   (int)strlen(z->origin) - 1, z->origin);
		buf_append(b, rec.data, rec.len);
		buf_free(&rec);
		return;
	}
	/*
	 * The serial is derived from the records, so the file is the same on every
	 * run and changes exactly when a record does (a new key, a new address).
	 */
	buf_printf(b, "; Zone %s made by mailstage. It loads as is into an authoritative server\n"
		   "; (nsd, BIND): the SOA and NS records are for that. To publish the records at your\n"
		   "; DNS provider, copy the lines after \"records to publish\" into your zone.\n",
		   z->origin);
	buf_printf(b, "$ORIGIN %s\n$TTL %d\n", z->origin, DNS_TTL);
	buf_printf(b, "@\tIN\tSOA\t%s hostmaster.%s %lu 3600 900 1209600 300\n", z->hostname, z->origin,
		   (unsigned long)(fnv1a(rec.data, rec.len) % 2147483646u + 1));
	buf_printf(b, "@\tIN\tNS\t%s\n", z->hostname);
	buf_puts(b, "; ---- records to publish ----\n");
	buf_append(b, rec.data, rec.len);
	buf_free(&rec);
}

static void format_json(struct buf *b, const struct dns_zone *z)
{
	size_t i, j;
	char *s = json_str(z->origin);
	buf_printf(b, "{\"zone\": %s, \"ttl\": %d, \"records\": [", s, DNS_TTL);
	free(s);
	for (i = 0; i < z->n; i++) {
		const struct dns_rr *rr = &z->rr[i];
		char *n = json_str(rr->fqdn), *v = json_str(rr->value), *p = json_str(rr->purpose);
		buf_printf(b, "%s\n  {\"name\": %s, \"type\": \"%s\", \"ttl\": %d, \"value\": %s", i ? "," : "", n,
			   rr->type, DNS_TTL, v);
		if (strcmp(rr->type, "TXT") == 0) {
			size_t len = strlen(rr->value), off = 0;
			buf_puts(b, ", \"strings\": [");
			do {
				size_t k = len - off > DNS_TXT_MAX ? DNS_TXT_MAX : len - off;
				char *part = xstrndup(rr->value + off, k), *q = json_str(part);
				buf_printf(b, "%s%s", off ? ", " : "", q);
				free(part);
				free(q);
				off += k;
			} while (off < len);
			buf_puts(b, "]");
		}
		buf_printf(b, ", \"publish\": \"%s\", \"purpose\": %s}",
			   rr->remove ? "remove" : rr->provider ? "provider" : rr->name ? "zone" : "other-zone", p);
		free(n);
		free(v);
		free(p);
	}
	buf_puts(b, "\n], \"notes\": [");
	for (j = 0; j < z->notes.n; j++) {
		char *q = json_str(z->notes.v[j]);
		buf_printf(b, "%s%s", j ? ", " : "", q);
		free(q);
	}
	buf_puts(b, "]}\n");
}

static void format_table(struct buf *b, const struct dns_zone *z)
{
	size_t i, w = 4;
	for (i = 0; i < z->n; i++)
		if (strlen(z->rr[i].fqdn) > w)
			w = strlen(z->rr[i].fqdn);
	buf_printf(b, "%-*s  %-4s  %s\n", (int)w, "NAME", "TYPE", "VALUE");
	for (i = 0; i < z->n; i++) {
		const struct dns_rr *rr = &z->rr[i];
		buf_printf(b, "%-*s  %-4s  %s%s\n", (int)w, rr->fqdn, rr->type, rr->value,
			   rr->remove ? "   (TO REMOVE: the retired DKIM key's record)" : rr->provider ? "   (reverse DNS: set by the provider, e.g. Sakura VPS control panel)" :
			   rr->name ? "" : "   (in the hostname's own zone)");
	}
	for (i = 0; i < z->notes.n; i++)
		buf_printf(b, "note: %s\n", z->notes.v[i]);
}

char *dns_format(const struct dns_zone *z, enum dns_format f)
{
	struct buf b = { 0 };
	switch (f) {
	case DNS_FMT_ZONE: format_zone(&b, z, 1); break;
	case DNS_FMT_RECORDS: format_zone(&b, z, 0); break;
	case DNS_FMT_JSON: format_json(&b, z); break;
	case DNS_FMT_TABLE: format_table(&b, z); break;
	}
	return buf_steal(&b);
}

/* ---- the DKIM key ---- */

char *dns_p_from_record(const char *text)
{
	struct buf b = { 0 };
	const char *q = text, *p, *e;
	char *r = NULL;

	/* Join the quoted strings (comments after ';' outside quotes skipped). */
	while (*q) {
		if (*q == ';') {
			while (*q && *q != '\n')
				q++;
			continue;
		}
		if (*q++ != '"')
			continue;
		while (*q && *q != '"') {
			if (*q == '\\' && q[1])
				q++;
			buf_append(&b, q++, 1);
		}
		if (*q)
			q++;
	}
	if (!b.data)
		goto out;
	for (p = b.data; (p = strstr(p, "p=")) != NULL; p++) {
		if (p == b.data || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t') {
			p += 2;
			for (e = p; *e && *e != ';' && *e != ' '; e++)
				;
			if (e > p)
				r = xstrndup(p, (size_t)(e - p));
			break;
		}
	}
out:
	buf_free(&b);
	return r;
}

/*
 * The p= value of the DKIM key in the root: from the private key, or, when
 * that is unreadable by this user, from the published SELECTOR.txt record.
 * 0 with *p, or 0 with *p NULL and *missing saying why; -errno when a file
 * cannot be read for another reason (*missing says which).
 */
#define KEY_FILE_MAX (1u << 20)	/* a PEM key or its record is a few KiB */

static int dkim_public_sel(struct root *root, const struct config *cfg, const struct profile *prof,
			   const char *sel, int ed25519, char **p, char **missing)
{
	char *kp = dkim_sel_key_path(cfg, prof, sel), *rp = dkim_sel_record_path(cfg, prof, sel);
	char *host = NULL, *why = NULL, *data = NULL;
	struct stat sb;
	size_t len = 0;
	int r;

	*p = NULL;
	*missing = NULL;
	/* Inside the root only, a regular file only: a key linked to one elsewhere is not published. */
	r = root_read_stat(root, kp, KEY_FILE_MAX, &data, &len, &sb, &why);
	if (r == 0)
		fp_seen(root, kp, &sb);	/* its fingerprint asks no stat() again */
	if (r == -EPERM || r == -EINVAL || r == -EFBIG) {
		*missing = xasprintf("%s", why);
		r = 0;
		goto out;
	}
	if (r == 0) {
		if (ed25519 ? crypto_ed25519_public(data, len, p, NULL) < 0 : fp_dkim_public(root, kp, data, len, p) < 0)
			*missing = xasprintf("the DKIM key %s is not a valid %s key (mailstage apply replaces it)", kp,
					     ed25519 ? "Ed25519" : "RSA");
		crypto_free_secret(data, len);
		data = NULL;
		goto out;
	}
	if (r == -ENOENT) {
		r = 0;
		*missing = xasprintf("the DKIM key %s does not exist yet; mailstage apply makes it, then the "
				     "record appears here", kp);
		goto out;
	}
	if (r != -EACCES) {
		*missing = xasprintf("cannot read %s: %s", kp, strerror(-r));
		goto out;
	}
	/* Not root: the public record file is world-readable. */
	free(host);
	host = NULL;
	free(why);
	why = NULL;
	if (root_read(root, rp, KEY_FILE_MAX, &data, &len, &why) == 0)
		*p = dns_p_from_record(data);
	r = 0;
	if (!*p)
		*missing = xasprintf("cannot read the DKIM key %s (permission denied) nor its record %s; "
				     "run mailstage dns as root", kp, rp);
out:
	free(kp);
	free(rp);
	free(host);
	free(why);
	free(data);
	return r;
}

int dns_dkim_public(struct root *root, const struct config *cfg, const struct profile *prof, char **p,
		    char **missing)
{
	return dkim_public_sel(root, cfg, prof, cfg->dkim_selector, 0, p, missing);
}

/* A DKIM TXT record placed after the last one already there (before DMARC). */
static void insert_dkim(struct dns_zone *z, const char *owner, const char *dom, char *value, const char *purpose)
{
	size_t at = z->n, i;
	struct dns_rr rr;

	for (i = 0; i < z->n; i++)
		if (strstr(z->rr[i].fqdn, "._domainkey."))
			at = i + 1;
	if (at == z->n)
		for (i = 0; i < z->n; i++)
			if (strncmp(z->rr[i].fqdn, "_dmarc.", 7) == 0) {
				at = i;
				break;
			}
	add_rr(z, owner, dom, "TXT", value, purpose);
	rr = z->rr[z->n - 1];
	memmove(&z->rr[at + 1], &z->rr[at], (z->n - 1 - at) * sizeof(*z->rr));
	z->rr[at] = rr;
}

/* One key of algorithm alg, selector sel, as a DKIM record after the others: 1 added, 0 not (*missing), -errno. */
static int add_key(struct root *root, const struct config *cfg, const struct profile *prof, struct dns_zone *z,
		   int alg, const char *sel, const char *purpose, char **missing)
{
	char *p = NULL, *owner, *dom;
	int r = dkim_public_sel(root, cfg, prof, sel, alg == DKIM_ED25519, &p, missing);

	if (r < 0 || !p)
		return r;
	dom = lower_dup(cfg->domain);
	owner = xasprintf("%s._domainkey.%s", sel, dom);
	insert_dkim(z, owner, dom, dkim_txt_value_k(alg == DKIM_ED25519 ? "ed25519" : "rsa", p), purpose);
	free(owner);
	free(dom);
	free(p);
	return 1;
}

/*
 * The records of algorithm alg's rotation beside its active key's: the next
 * key to publish; the retiring one kept until dkim_retire_days, then marked
 * remove, with a note.  A key that cannot be read has no record here.
 */
static void add_rotation(struct root *root, const struct config *cfg, const struct profile *prof, struct dns_zone *z,
			 int alg, const struct dkim_keyrot *k)
{
	char *missing = NULL, *owner, *n;
	int gone;
	size_t i;

	if (*k->next)
		add_key(root, cfg, prof, z, alg, k->next, "DKIM: the next key (rotation): publish it now; mail is "
			"signed with it once DNS serves it", &missing);
	free(missing);
	missing = NULL;
	if (!*k->retiring)
		return;
	gone = dkim_now() - k->retiring_at >= cfg->dkim_retire_days * 86400LL;
	if (add_key(root, cfg, prof, z, alg, k->retiring, gone ? "DKIM: TO REMOVE: the retired key (rotation): "
		    "delete this record; the next apply then deletes its key" : "DKIM: the previous key (rotation): "
		    "keep it published for dkim_retire_days", &missing) == 1 && gone) {
		n = lower_dup(cfg->domain);
		owner = xasprintf("%s._domainkey.%s", k->retiring, n);
		free(n);
		for (i = 0; i < z->n; i++)
			if (!strncmp(z->rr[i].fqdn, owner, strlen(owner)) && !strcmp(z->rr[i].fqdn + strlen(owner), "."))
				z->rr[i].remove = 1;
		n = xasprintf("to remove: %s TXT, the retired DKIM key", owner);
		strv_push(&z->notes, n);
		free(n);
		free(owner);
	}
	free(missing);
}

/* The Ed25519 key's record (dkim_algorithms), selector sel, or a note when it does not exist yet. */
static int add_ed25519(struct root *root, const struct config *cfg, const struct profile *prof, struct dns_zone *z,
		       const char *sel)
{
	char *missing = NULL, *n;
	int r = add_key(root, cfg, prof, z, DKIM_ED25519, sel, "DKIM: the Ed25519 key of the second signature "
			"(RFC 8463)", &missing);

	if (r == 0) {
		n = xasprintf("no Ed25519 DKIM record: %s", missing);
		strv_push(&z->notes, n);
		free(n);
	}
	free(missing);
	return r < 0 ? r : 0;
}

char *dns_dkim_p_of(const struct dns_zone *z)
{
	size_t i;
	for (i = 0; i < z->n; i++)
		if (strstr(z->rr[i].fqdn, "._domainkey.") && !strncmp(z->rr[i].value, "v=DKIM1; k=rsa; p=", 18))
			return xstrdup(z->rr[i].value + 18);
	return NULL;
}

int dns_build_root(struct root *root, const struct config *cfg, const struct profile *prof, struct dns_zone *z,
		   char **err)
{
	struct dkim_rotation st;
	struct config c2 = *cfg;
	char *p = NULL, *missing = NULL;
	int r;

	*err = NULL;
	memset(z, 0, sizeof(*z));
	if ((r = dkim_rotation_load(root, cfg, prof, &st, err)) < 0)
		return r;
	c2.dkim_selector = st.k[DKIM_RSA].active;
	if ((r = dns_dkim_public(root, &c2, prof, &p, &missing)) < 0) {
		*err = missing;
		missing = NULL;
		goto out;
	}
	if ((r = dns_build(&c2, p, missing, z)) < 0)
		goto out;
	/* each algorithm's keys: the active one, the next to publish, the retiring one */
	add_rotation(root, cfg, prof, z, DKIM_RSA, &st.k[DKIM_RSA]);
	if (!config_dkim_ed25519(cfg))
		goto out;
	if ((r = add_ed25519(root, cfg, prof, z, st.k[DKIM_ED25519].active)) < 0)
		*err = xasprintf("cannot read the Ed25519 DKIM key: %s", strerror(-r));
	else
		add_rotation(root, cfg, prof, z, DKIM_ED25519, &st.k[DKIM_ED25519]);
out:
	if (r < 0 && r != -EINVAL)
		dns_zone_free(z);
	free(p);
	free(missing);
	return r;
}

/* ---- the stage ---- */

static int check(struct ctx *c)
{
	struct dns_zone z;
	char *p = NULL, *missing = NULL, *text = NULL, *path = NULL;
	size_t i, before;
	int r;

	memset(&z, 0, sizeof(z));
	r = dns_build_root(c->root, c->cfg, c->prof, &z, &missing);
	if (r == -EINVAL && !missing) {
		r = stage_fail(c, _("the DNS records need hostname, domain and ipv4 in the configuration"));
		goto out;
	}
	if (r < 0) {
		r = stage_fail(c, "%s", missing);
		goto out;
	}
	text = dns_format(&z, DNS_FMT_ZONE);
	path = xasprintf("%s/%.*s.zone", DNS_STATE_DIR, (int)strlen(z.origin) - 1, z.origin);
	if ((r = want_dir_exists(c, DNS_STATE_DIR, "root", "root", 0755)) < 0)
		goto out;
	before = c->nchanges;
	if ((r = want_file(c, path, text, strlen(text), "root", "root", 0644)) < 0)
		goto out;
	for (i = 0; i < z.notes.n; i++)
		stage_note(c, "%s", z.notes.v[i]);
	if (c->nchanges > before)
		stage_note(c, _("publish the records in %s (`mailstage dns` shows them) and ask the provider for "
			   "the PTR of %s: %s"), path, c->cfg->ipv4, z.hostname);
out:
	dns_zone_free(&z);
	free(p);
	free(missing);
	free(text);
	free(path);
	return r;
}

const struct stage stage_dns = {
	.name = "dns",
	.summary = N_("the DNS records to publish (A/AAAA, MX, SPF, DKIM, DMARC; the PTR to ask for) as a zone "
		   "in /var/lib/mailstage/dns/DOMAIN.zone"),
	.check = check,
};
STAGE_REGISTER(stage_dns);
