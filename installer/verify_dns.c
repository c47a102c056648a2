/*
 * verify_dns.c - the checks of `mailstage verify` (and all of `mailstage
 * dns --check`) against the live DNS: the host's A/AAAA, MX, SPF
 * authorising every address, the DKIM record against the local key,
 * DMARC, the forward-confirmed PTR of each address, a DKIM record too long
 * for Sakura's DNS (steps/provider.c has the facts), the CAA that lets the
 * ACME CA issue (tls_acme); and the SPF, DKIM and CAA record helpers they
 * use (unit-tested).
 */
#include "verify.h"
#include "verify_check.h"
#include "dns.h"
#include "dnsq.h"
#include "i18n.h"
#include "steps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* ---- SPF and DKIM record helpers (unit-tested) ---- */

static int cidr_match(const char *spec, const char *addr)
{
	unsigned char a[16], b[16];
	char net[64];
	const char *slash = strchr(spec, '/');
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET, bits, i;
	size_t nl = slash ? (size_t)(slash - spec) : strlen(spec);

	if (nl >= sizeof(net))
		return 0;
	memcpy(net, spec, nl);
	net[nl] = 0;
	if (inet_pton(fam, net, a) != 1 || inet_pton(fam, addr, b) != 1)
		return 0;
	bits = slash ? atoi(slash + 1) : (fam == AF_INET ? 32 : 128);
	for (i = 0; bits > 0; i++, bits -= 8) {
		unsigned char m = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((a[i] & m) != (b[i] & m))
			return 0;
	}
	return 1;
}

int spf_authorises(const char *record, const char *addr, const char *const *a_addrs, char **why)
{
	char *copy = xstrdup(record), *save = NULL, *t;
	int v6 = strchr(addr, ':') != NULL, r = 0, unsure = 0;

	*why = NULL;
	for (t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char q = '+';
		if (strchr("+-~?", *t))
			q = *t++;
		if (q != '+')
			continue;	/* only pass qualifiers authorise */
		if ((!v6 && strncasecmp(t, "ip4:", 4) == 0) || (v6 && strncasecmp(t, "ip6:", 4) == 0)) {
			if (cidr_match(t + 4, addr)) {
				r = 1;
				break;
			}
		} else if (strcasecmp(t, "a") == 0 || strcasecmp(t, "mx") == 0) {
			size_t i;
			for (i = 0; a_addrs && a_addrs[i]; i++)
				if (strcasecmp(a_addrs[i], addr) == 0)
					r = 1;
			if (r)
				break;
		} else if (strncasecmp(t, "include:", 8) == 0 || strncasecmp(t, "redirect=", 9) == 0 ||
			   strncasecmp(t, "a:", 2) == 0 || strncasecmp(t, "mx:", 3) == 0 ||
			   strncasecmp(t, "exists:", 7) == 0) {
			unsure = 1;
			if (!*why)
				*why = xasprintf(_("\"%s\" is not followed by this check"), t);
		}
	}
	free(copy);
	return r ? 1 : unsure ? -1 : 0;
}

char *dkim_p_of(const char *text)
{
	struct buf joined = { 0 };
	const char *p;
	char *v = NULL, *e;
	int inq = 0, any_quote = strchr(text, '"') != NULL;

	/* Join the quoted character-strings of a zone-file record; plain TXT data is taken as is. */
	for (p = text; *p; p++) {
		if (any_quote) {
			if (*p == '"')
				inq = !inq;
			else if (inq)
				buf_append(&joined, p, 1);
		} else {
			buf_append(&joined, p, 1);
		}
	}
	if (!joined.data)
		return NULL;
	for (p = joined.data; (p = strstr(p, "p=")) != NULL; p += 2) {
		if (p == joined.data || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t') {
			v = xstrdup(p + 2);
			break;
		}
	}
	buf_free(&joined);
	if (!v)
		return NULL;
	if ((e = strchr(v, ';')) != NULL)
		*e = 0;
	{	/* drop blanks inside the base64 */
		char *w = v, *r2;
		for (r2 = v; *r2; r2++)
			if (*r2 != ' ' && *r2 != '\t')
				*w++ = *r2;
		*w = 0;
	}
	return v;
}

int caa_parse(const char *rec, int *flags, char **tag, char **value)
{
	struct buf v = { 0 };
	const char *p = rec, *t;
	char *end;
	long f;

	*tag = *value = NULL;
	f = strtol(p, &end, 10);
	if (end == p || f < 0 || f > 255 || *end != ' ')
		return -EINVAL;
	t = end + 1;
	for (p = t; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'); p++)
		;
	if (p == t || p - t > 15 || *p != ' ' || p[1] != '"')
		return -EINVAL;
	for (p += 2; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] >= '0' &&
		    p[3] <= '9') {
			char ch = (char)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
			buf_append(&v, &ch, 1);
			p += 3;
			continue;
		}
		if (*p == '\\' && p[1])
			p++;
		buf_append(&v, p, 1);
	}
	if (*p != '"' || p[1]) {
		buf_free(&v);
		return -EINVAL;
	}
	buf_append(&v, "", 1);
	*flags = (int)f;
	*tag = xstrndup(t, (size_t)(strchr(t, ' ') - t));
	*value = buf_steal(&v);
	return 0;
}

/* The trimmed span [s, e) of a CAA value part. */
static void caa_trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* One issue value (RFC 8659 4.2): 1 it names ca (2: with an accounturi), 0 it does not or forbids http-01. */
static int caa_issue_allows(const char *value, const char *ca)
{
	const char *s = value, *e = strchr(value, ';'), *p;
	int r, acct = 0;

	if (!e)
		e = value + strlen(value);
	caa_trim(&s, &e);
	r = (size_t)(e - s) == strlen(ca) && strncasecmp(s, ca, (size_t)(e - s)) == 0;
	for (p = *e ? e + 1 : e; r && *p; ) {	/* parameters: tag=value, ";"-separated */
		const char *ps = p, *pe = strchr(p, ';');
		if (!pe)
			pe = p + strlen(p);
		caa_trim(&ps, &pe);
		if (pe - ps > 18 && strncasecmp(ps, "validationmethods=", 18) == 0) {
			const char *m = ps + 18;
			int http = 0;
			while (m < pe) {
				const char *me = m;
				while (me < pe && *me != ',')
					me++;
				http |= me - m == 7 && strncasecmp(m, "http-01", 7) == 0;
				m = me + 1;
			}
			r = http;
		} else if (pe - ps > 11 && strncasecmp(ps, "accounturi=", 11) == 0) {
			acct = 1;
		}
		p = *pe ? pe + 1 : pe;
	}
	return r && acct ? 2 : r;
}

int caa_allows(const char *const *set, size_t n, const char *ca, char **why)
{
	static const char *const known[] = { "issue", "issuewild", "iodef", "contactemail", "contactphone",
					     "issuevmc", "issuemail" };
	size_t i, k;
	int issues = 0, best = 0;

	*why = NULL;
	for (i = 0; i < n; i++) {
		char *tag = NULL, *value = NULL;
		int flags = 0, a;
		if (caa_parse(set[i], &flags, &tag, &value) < 0)
			continue;	/* not a CAA record: dnsq made every one it got */
		for (k = 0; k < sizeof(known) / sizeof(known[0]) && strcasecmp(tag, known[k]) != 0; k++)
			;
		if ((flags & 128) && k == sizeof(known) / sizeof(known[0])) {
			free(*why);
			*why = xasprintf(_("%s: a critical property no CA may ignore (RFC 8659 4.1)"), set[i]);
			free(tag);
			free(value);
			return 0;
		}
		if (strcasecmp(tag, "issue") == 0) {
			issues++;
			a = caa_issue_allows(value, ca);
			if (a == 1 || (a == 2 && best == 0))
				best = a;
		}
		free(tag);
		free(value);
	}
	if (!issues)
		return 1;	/* no issue property: any CA may issue */
	if (!best)
		*why = xasprintf(_("no issue property names %s (or it excludes http-01)"), ca);
	return best;
}

/* ---- the checks ---- */

static long dns_fail(struct vctx *vc, const char *name, const char *expected, const char *fix, int rc,
		     const char *why)
{
	return verify_add(vc, rc == -ETIMEDOUT ? ST_WARN : ST_FAIL, name, expected, fix, "%s",
	    rc == -ENOENT ? _("no such record") : why ? why : "lookup failed");
}

static int has(const struct strv *s, const char *v)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		if (strcasecmp(s->v[i], v) == 0)
			return 1;
	return 0;
}

static void check_addr(struct vctx *vc, const char *host, enum dnsq_type t,
		       const char *want)
{
	struct strv got = { 0 };
	char *why = NULL, *name = xasprintf("%s %s", t == DNSQ_A ? "A" : "AAAA", host), *fix;
	int rc = dnsq_lookup(vc->q, host, t, &got, &why);
	fix = xasprintf(_("publish %s %s %s"), host, t == DNSQ_A ? "A" : "AAAA", want);
	if (rc < 0) {
		dns_fail(vc, name, want, fix, rc, why);
	} else {
		char *j = verify_strv_join(&got, ", ");
		verify_add(vc, has(&got, want) ? ST_OK : ST_FAIL, name, want, fix, "%s", j);
		free(j);
	}
	strv_free(&got);
	free(why);
	free(name);
	free(fix);
}

/* Addresses an "a"/"mx" mechanism of the domain may stand for. */
static void domain_addrs(struct dnsq *q, const char *domain, struct strv *out)
{
	struct strv mx = { 0 };
	char *why = NULL;
	size_t i;
	dnsq_lookup(q, domain, DNSQ_A, out, &why);
	free(why);
	dnsq_lookup(q, domain, DNSQ_AAAA, out, &why);
	free(why);
	if (dnsq_lookup(q, domain, DNSQ_MX, &mx, &why) == 0)
		for (i = 0; i < mx.n; i++) {
			const char *h = strchr(mx.v[i], ' ');
			char *w2 = NULL;
			if (!h)
				continue;
			dnsq_lookup(q, h + 1, DNSQ_A, out, &w2);
			free(w2);
			w2 = NULL;
			dnsq_lookup(q, h + 1, DNSQ_AAAA, out, &w2);
			free(w2);
		}
	free(why);
	strv_free(&mx);
}

static void check_spf(struct vctx *vc)
{
	struct strv txt = { 0 }, spf = { 0 }, addrs = { 0 };
	char *why = NULL, *want = xasprintf("v=spf1 ip4:%s%s%s %s", vc->cfg->ipv4, vc->cfg->ipv6 ? " ip6:" : "",
					    vc->cfg->ipv6 ? vc->cfg->ipv6 : "", vc->cfg->spf_policy);
	char *fix = xasprintf(_("publish one TXT record for %s: \"%s\""), vc->cfg->domain, want);
	const char *ips[2] = { vc->cfg->ipv4, vc->cfg->ipv6 };
	size_t i;
	int rc = dnsq_lookup(vc->q, vc->cfg->domain, DNSQ_TXT, &txt, &why);

	for (i = 0; i < txt.n; i++)
		if (strncasecmp(txt.v[i], "v=spf1", 6) == 0 && (txt.v[i][6] == ' ' || !txt.v[i][6]))
			strv_push(&spf, txt.v[i]);
	if (rc < 0 && rc != -ENOENT) {
		dns_fail(vc, "SPF", want, fix, rc, why);
		goto out;
	}
	if (spf.n != 1) {
		if (spf.n)
			verify_add(vc, ST_FAIL, _("SPF"), _("exactly one v=spf1 record"), fix, _("%zu SPF records (a receiver "
			    "treats that as a permanent error)"), spf.n);
		else
			verify_add(vc, ST_FAIL, _("SPF"), _("exactly one v=spf1 record"), fix, _("no SPF record"));
		goto out;
	}
	domain_addrs(vc->q, vc->cfg->domain, &addrs);
	for (i = 0; i < 2; i++) {
		char *w2 = NULL, *name;
		int a;
		if (!ips[i])
			continue;
		a = spf_authorises(spf.v[0], ips[i], (const char *const *)addrs.v, &w2);
		name = xasprintf(_("SPF authorises %s"), ips[i]);
		vc->found.spf[i] = verify_add(vc, a == 1 ? ST_OK : a == 0 ? ST_FAIL : ST_WARN, name, want,
		    i ? _("add ip6:ADDRESS to the SPF record: Postfix sends over IPv6 to receivers with an IPv6 MX") : fix,
		    "%s%s%s", spf.v[0], w2 ? "; " : "", w2 ? w2 : "");
		free(name);
		free(w2);
	}
out:
	strv_free(&txt);
	strv_free(&spf);
	strv_free(&addrs);
	free(why);
	free(want);
	free(fix);
}

static void check_dkim_dns(struct vctx *vc)
{
	struct strv txt = { 0 };
	char *name = xasprintf("%s._domainkey.%s", vc->cfg->dkim_selector, vc->cfg->domain), *why = NULL, *live = NULL;
	char *fix = xasprintf(_("publish the TXT record from `mailstage dns` (%s)"), name);
	int rc = dnsq_lookup(vc->q, name, DNSQ_TXT, &txt, &why);
	size_t i;

	if (rc < 0) {
		vc->found.dkim = dns_fail(vc, _("DKIM record"), _("the key's record"), fix, rc, why);
		goto out;
	}
	for (i = 0; i < txt.n && !live; i++)
		live = dkim_p_of(txt.v[i]);
	if (!vc->dkim_pub)
		vc->found.dkim = verify_add(vc, ST_WARN, _("DKIM record"), _("the key's record"), _("run mailstage apply"), _("%s present, but there "
		    "is no local key to compare it with"), name);
	else if (live && strcmp(live, vc->dkim_pub) == 0)
		vc->found.dkim = verify_add(vc, ST_OK, _("DKIM record"), _("the key's record"), NULL, _("%s matches the key"), name);
	else
		vc->found.dkim = verify_add(vc, ST_FAIL, _("DKIM record"), _("the key's record"), fix, "%s %s", name,
		    live ? "holds another key (p= differs)" : "has no p= value");
out:
	strv_free(&txt);
	free(name);
	free(why);
	free(live);
	free(fix);
}

/* One algorithm's retired key (the DKIM rotation): its record should be gone once dkim_retire_days passed. */
static void check_retired_key(struct vctx *vc, const struct dkim_keyrot *k)
{
	struct strv txt = { 0 };
	char *why = NULL, *name = NULL, *fix = NULL;
	char day[16];
	time_t at;
	int rc;

	if (!*k->retiring)
		return;
	at = (time_t)k->retiring_at;
	strftime(day, sizeof(day), "%Y-%m-%d", gmtime(&at));
	name = xasprintf("%s._domainkey.%s", k->retiring, vc->cfg->domain);
	if (dkim_now() - k->retiring_at < vc->cfg->dkim_retire_days * 86400LL) {
		verify_add(vc, ST_OK, _("DKIM retired record"), _("published until dkim_retire_days"), NULL,
			   _("%s: the previous key, retired on %s, stays published %ld days"), name, day,
			   vc->cfg->dkim_retire_days);
		goto out;
	}
	rc = dnsq_lookup(vc->q, name, DNSQ_TXT, &txt, &why);
	fix = xasprintf(_("delete the TXT record %s from DNS; the next mailstage apply then deletes its key"), name);
	if (rc == -ENOENT)
		verify_add(vc, ST_OK, _("DKIM retired record"), _("removed from DNS"), NULL,
			   _("%s is gone from DNS; the next apply deletes its key"), name);
	else
		verify_add(vc, ST_WARN, _("DKIM retired record"), _("removed from DNS"), fix,
			   _("%s is still published, retired on %s (dkim_retire_days = %ld)"), name, day,
			   vc->cfg->dkim_retire_days);
out:
	strv_free(&txt);
	free(why);
	free(name);
	free(fix);
}

/* The DKIM rotation's retired keys, RSA and Ed25519. */
static void check_dkim_retired(struct vctx *vc)
{
	struct dkim_rotation st;
	char *why = NULL;
	int alg;

	if (dkim_rotation_load(vc->root, vc->cfg, vc->prof, &st, &why) < 0) {
		verify_add(vc, ST_WARN, _("DKIM rotation"), _("a valid rotation state"), _("see the message"), "%s", why);
		free(why);
		return;
	}
	for (alg = 0; alg < DKIM_NALG; alg++)
		check_retired_key(vc, &st.k[alg]);
}

static void check_dmarc(struct vctx *vc)
{
	struct strv txt = { 0 };
	char *name = xasprintf("_dmarc.%s", vc->cfg->domain), *why = NULL;
	char *fix = xasprintf(_("publish the DMARC TXT record from `mailstage dns` (%s)"), name);
	const char *rec = NULL;
	int rc = dnsq_lookup(vc->q, name, DNSQ_TXT, &txt, &why), n = 0;
	size_t i;

	for (i = 0; i < txt.n; i++)
		if (strncasecmp(txt.v[i], "v=DMARC1", 8) == 0)
			rec = txt.v[i], n++;
	if (rc < 0 && rc != -ENOENT)
		dns_fail(vc, _("DMARC record"), _("v=DMARC1; p=..."), fix, rc, why);
	else if (n != 1)
		verify_add(vc, ST_FAIL, _("DMARC record"), _("exactly one v=DMARC1 record"), fix, _("%d DMARC records at %s"), n, name);
	else {
		const char *p = strstr(rec, "p=");
		while (p && p > rec && p[-1] != ';' && p[-1] != ' ')
			p = strstr(p + 2, "p=");
		if (!p || !(strncmp(p + 2, "none", 4) == 0 || strncmp(p + 2, "quarantine", 10) == 0 ||
			    strncmp(p + 2, "reject", 6) == 0))
			verify_add(vc, ST_FAIL, _("DMARC record"), _("p=none|quarantine|reject"), fix, "%s", rec);
		else
			verify_add(vc, ST_OK, _("DMARC record"), _("v=DMARC1 with a valid p="), NULL, "%s", rec);
	}
	strv_free(&txt);
	free(name);
	free(why);
	free(fix);
}

static void check_mx(struct vctx *vc)
{
	struct strv mx = { 0 };
	char *why = NULL, *want = xasprintf("10 %s", vc->cfg->hostname);
	char *fix = xasprintf(_("publish %s MX 10 %s"), vc->cfg->domain, vc->cfg->hostname);
	int rc = dnsq_lookup(vc->q, vc->cfg->domain, DNSQ_MX, &mx, &why), found = 0;
	size_t i;

	for (i = 0; i < mx.n; i++) {
		const char *h = strchr(mx.v[i], ' ');
		if (h && strcasecmp(h + 1, vc->cfg->hostname) == 0)
			found = 1;
	}
	if (rc < 0)
		dns_fail(vc, "MX", want, fix, rc, why);
	else {
		char *j = verify_strv_join(&mx, ", ");
		verify_add(vc, found ? ST_OK : ST_WARN, _("MX"), want, fix, "%s", j);
		free(j);
	}
	strv_free(&mx);
	free(why);
	free(want);
	free(fix);
}

/* The PTR of ip, forward-confirmed; its finding's index. */
static long check_ptr(struct vctx *vc, const char *ip)
{
	struct strv ptr = { 0 }, fwd = { 0 };
	char *rev = dnsq_reverse_name(ip), *why = NULL, *name = xasprintf("PTR %s", ip);
	const char *fix = _("set the reverse DNS (PTR) of the address to the hostname in the Sakura VPS control panel "
			    "(the A record must exist first)");
	long at;
	int rc = rev ? dnsq_lookup(vc->q, rev, DNSQ_PTR, &ptr, &why) : -EINVAL;

	if (rc < 0)
		at = dns_fail(vc, name, vc->cfg->hostname, fix, rc, why);
	else if (!has(&ptr, vc->cfg->hostname))
		at = verify_add(vc, ST_FAIL, name, vc->cfg->hostname, fix, "%s", ptr.v[0]);
	else {
		char *w2 = NULL;
		int fr = dnsq_lookup(vc->q, vc->cfg->hostname, strchr(ip, ':') ? DNSQ_AAAA : DNSQ_A, &fwd, &w2);
		at = verify_add(vc, fr == 0 && has(&fwd, ip) ? ST_OK : ST_FAIL, name, vc->cfg->hostname, fix,
		    "%s%s", vc->cfg->hostname, fr == 0 && has(&fwd, ip) ? " (forward-confirmed)" : ", but its address "
		    "does not point back");
		free(w2);
	}
	strv_free(&ptr);
	strv_free(&fwd);
	free(rev);
	free(why);
	free(name);
	return at;
}

/* A (and AAAA when ipv6 is set) of the hostname. */
static void check_addrs(struct vctx *vc)
{
	check_addr(vc, vc->cfg->hostname, DNSQ_A, vc->cfg->ipv4);
	if (vc->cfg->ipv6)
		check_addr(vc, vc->cfg->hostname, DNSQ_AAAA, vc->cfg->ipv6);
}

/* Postfix sends over IPv6 too: receivers check that PTR as well. */
static void check_ptrs(struct vctx *vc)
{
	vc->found.ptr[0] = check_ptr(vc, vc->cfg->ipv4);
	if (vc->cfg->ipv6)
		vc->found.ptr[1] = check_ptr(vc, vc->cfg->ipv6);
}

/*
 * Sakura's DNS (NS ns1/ns2.dns.ne.jp) takes at most 255 characters per TXT
 * record: a longer DKIM record there gets provider_sakura_dns_advice (why
 * and what to do, English and Japanese).  Nothing on other DNS services.
 */
static void check_sakura_dns(struct vctx *vc)
{
	size_t len = vc->dkim_pub ? strlen("v=DKIM1; k=rsa; p=") + strlen(vc->dkim_pub) : 0;

	if (len > 255 && provider_sakura_dns(vc->q, vc->cfg->domain))
		verify_add(vc, ST_WARN, _("DKIM record on Sakura's DNS"), _("at most 255 characters"),
			   provider_sakura_dns_advice, _("%zu characters (%s._domainkey.%s), NS ns1/ns2.dns.ne.jp"), len,
			   vc->cfg->dkim_selector, vc->cfg->domain);
}

/*
 * CAA (tls_acme = yes): the first non-empty CAA RRset from the hostname up
 * (RFC 8659 3, the TLD not asked) must let the CA issue.  None at all is a
 * warning: CAA is optional, any CA may issue.
 */
static void check_caa(struct vctx *vc)
{
	const char *ca = config_tls_acme(vc->cfg) ? dns_caa_domain(vc->cfg->acme_directory) : NULL;
	const char *at;
	char *want = NULL, *fix = NULL, *why = NULL, *j = NULL;
	struct strv got = { 0 };
	int rc = -ENOENT, a;

	if (!ca)
		return;
	want = xasprintf("%s CAA 0 issue \"%s\"", vc->cfg->hostname, ca);
	for (at = vc->cfg->hostname; at && strchr(at, '.'); at = strchr(at, '.') + 1) {
		free(why);
		why = NULL;
		rc = dnsq_lookup(vc->q, at, DNSQ_CAA, &got, &why);
		if (rc != -ENOENT)
			break;
	}
	if (rc == -ENOENT) {
		fix = xasprintf(_("to allow only this CA, publish %s (mailstage dns shows it)"), want);
		verify_add(vc, ST_WARN, "CAA", want, fix, _("no CAA record on %s or its parent domains: any CA may "
							    "issue (CAA is optional)"), vc->cfg->hostname);
		goto out;
	}
	fix = xasprintf(_("publish %s (mailstage dns shows it): a CAA record on the hostname takes the place of "
			  "the domain's"), want);
	if (rc < 0) {
		dns_fail(vc, "CAA", want, fix, rc, why);
		goto out;
	}
	free(why);
	why = NULL;
	j = verify_strv_join(&got, ", ");
	a = caa_allows((const char *const *)got.v, got.n, ca, &why);
	if (a == 0) {
		if (strcasecmp(at, vc->cfg->hostname) == 0) {
			free(fix);
			fix = xasprintf(_("add %s to the CAA records of %s (or remove the one that forbids)"), want, at);
		}
		verify_add(vc, ST_FAIL, "CAA", want, fix, _("the CAA records of %s do not allow %s: %s (%s)"), at, ca, j,
			   why);
	} else {
		verify_add(vc, a == 2 ? ST_WARN : ST_OK, "CAA", want,
			   a == 2 ? _("check that the accounturi is mailstage's ACME account, or publish the record "
				      "without it") : NULL,
			   a == 2 ? _("%s allows %s for one ACME account only: %s") : _("%s allows %s: %s"), at, ca, j);
	}
out:
	strv_free(&got);
	free(want);
	free(fix);
	free(why);
	free(j);
}

const struct verify_check verify_dns[] = {
	{ "dns", "A/AAAA", check_addrs, VC_ALWAYS },
	{ "dns", "MX", check_mx, VC_ALWAYS },
	{ "dns", "SPF", check_spf, VC_ALWAYS },
	{ "dns", "DKIM record", check_dkim_dns, VC_ALWAYS },
	{ "dns", "DKIM retired record", check_dkim_retired, VC_ALWAYS },
	{ "dns", "DMARC record", check_dmarc, VC_ALWAYS },
	{ "dns", "PTR", check_ptrs, VC_ALWAYS },
	{ "dns", "DKIM record on Sakura's DNS", check_sakura_dns, VC_ALWAYS },
	{ "dns", "CAA", check_caa, VC_ALWAYS },
	{ NULL, NULL, NULL, 0 },
};
