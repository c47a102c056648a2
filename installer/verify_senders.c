/*
 * verify_senders.c - two groups of `mailstage verify`: the DMARC pass rate
 * of the last 7 days of aggregate reports (report_pass_rate), and "sender
 * requirements": the rules the big mailbox providers publish for senders,
 * each check naming the rule it comes from, then one summary line.
 *
 * The rules (as published; the checks cite them by these short names):
 *  - Gmail, "Email sender guidelines" (support.google.com/mail/answer/81126),
 *    requirements for all senders (since February 2024): SPF or DKIM; valid
 *    forward and reverse DNS (PTR) for the sending IP; a TLS connection for
 *    transmitting email; messages formatted per RFC 5322.  For senders of
 *    5,000 or more messages a day besides: SPF and DKIM both; DMARC
 *    published (p=none at least); the From domain aligned with the SPF or
 *    DKIM domain; one-click unsubscribe (RFC 8058) for marketing mail.
 *    Gmail's DKIM help: keys of 1024 bits at least, 2048 recommended.
 *  - Yahoo, "Sender best practices" (senders.yahooinc.com): a valid,
 *    non-generic PTR for every sending IPv4 or IPv6 address and
 *    forward-confirmed reverse DNS; follow the SMTP standards (RFC 5321:
 *    the EHLO/HELO name is the host's FQDN); SPF or DKIM for all senders,
 *    both for bulk senders; DMARC with a valid aggregate report (rua)
 *    address; one-click unsubscribe for bulk mail.
 *  - Microsoft Outlook.com, requirements for high-volume senders (more than
 *    5,000 messages a day), enforced from 5 May 2025: SPF pass, DKIM pass,
 *    DMARC at least p=none aligned with SPF or DKIM (preferably both).
 *
 * A check of a rule for all senders fails when it is not met; one of a rule
 * for bulk senders only warns.  The summary says which class the server
 * meets.  The lookups already made by the dns group (PTR, SPF, DKIM record)
 * are not made again: their findings in the report are read back.
 */
#include "verify.h"
#include "verify_check.h"
#include "dnsq.h"
#include "i18n.h"
#include "maincf.h"
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SENDERS_GROUP "sender requirements"

/* ---- pure helpers (unit-tested) ---- */

int dmarc_rate_status(double rate)
{
	return rate < 0.90 ? ST_FAIL : rate < 0.98 ? ST_WARN : ST_OK;
}

/* One DER element at *p (of end): its tag, its contents and their length; 0 or -EINVAL. */
static int der_next(const unsigned char **p, const unsigned char *end, int *tag, const unsigned char **val,
		    size_t *len)
{
	const unsigned char *q = *p;
	size_t l;
	if (end - q < 2)
		return -EINVAL;
	*tag = *q++;
	l = *q++;
	if (l & 0x80) {
		int n = (int)(l & 0x7f);
		if (n < 1 || n > 3 || end - q < n)
			return -EINVAL;
		for (l = 0; n > 0; n--)
			l = (l << 8) | *q++;
	}
	if ((size_t)(end - q) < l)
		return -EINVAL;
	*val = q;
	*len = l;
	*p = q + l;
	return 0;
}

int dkim_key_bits(const char *p_b64)
{
	struct buf der = { 0 };
	const unsigned char *p, *end, *v;
	size_t len;
	unsigned acc;
	int tag, rc = -EINVAL;

	if (!p_b64 || base64_decode(p_b64, strlen(p_b64), &der, NULL) < 0)
		goto out;
	/* SubjectPublicKeyInfo { AlgorithmIdentifier, BIT STRING { RSAPublicKey { modulus, exponent } } } */
	p = (const unsigned char *)der.data;
	end = p + der.len;
	if (der_next(&p, end, &tag, &v, &len) < 0 || tag != 0x30)
		goto out;
	p = v;
	end = v + len;
	if (der_next(&p, end, &tag, &v, &len) < 0 || tag != 0x30)	/* the algorithm */
		goto out;
	if (der_next(&p, end, &tag, &v, &len) < 0 || tag != 0x03 || len < 1 || v[0] != 0)
		goto out;
	p = v + 1;
	end = v + len;
	if (der_next(&p, end, &tag, &v, &len) < 0 || tag != 0x30)
		goto out;
	p = v;
	end = v + len;
	if (der_next(&p, end, &tag, &v, &len) < 0 || tag != 0x02)
		goto out;
	while (len && *v == 0)
		v++, len--;
	if (!len)
		goto out;
	rc = (int)(len * 8);
	for (acc = *v; !(acc & 0x80); acc <<= 1)
		rc--;
out:
	buf_free(&der);
	return rc;
}

/* The value of tag name in a DMARC record ("" when empty), or NULL. */
static char *dmarc_tag(const char *rec, const char *name)
{
	char *copy = xstrdup(rec), *save = NULL, *t, *r = NULL;
	for (t = strtok_r(copy, ";", &save); t && !r; t = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			continue;
		*eq = 0;
		if (strcasecmp(strip(t), name) == 0)
			r = xstrdup(strip(eq + 1));
	}
	free(copy);
	return r;
}

int dmarc_sender_ok(const char *rec, char **why)
{
	char *p = dmarc_tag(rec, "p"), *rua = dmarc_tag(rec, "rua");
	int rc = 0;

	*why = NULL;
	if (strncasecmp(rec, "v=DMARC1", 8) != 0) {
		*why = xstrdup(_("not a v=DMARC1 record"));
		rc = -EINVAL;
	} else if (!p || (strcasecmp(p, "none") && strcasecmp(p, "quarantine") && strcasecmp(p, "reject"))) {
		*why = xstrdup(_("no valid p= (none, quarantine or reject)"));
		rc = -EINVAL;
	} else if (!rua || strncasecmp(rua, "mailto:", 7) != 0 || !strchr(rua, '@')) {
		*why = xstrdup(_("no rua=mailto: address for aggregate reports"));
		rc = -EINVAL;
	}
	free(p);
	free(rua);
	return rc;
}

int smtp_tls_outbound(const char *level, const char *use_tls)
{
	static const char *const good[] = { "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure" };
	size_t i;
	if (level && *level) {
		for (i = 0; i < ARRAY_SIZE(good); i++)
			if (strcasecmp(level, good[i]) == 0)
				return 1;
		return 0;
	}
	return use_tls && strcasecmp(use_tls, "yes") == 0;	/* the pre-2.3 parameter */
}

int helo_name_valid(const char *name)
{
	const char *p;
	size_t label = 0;
	int dots = 0;
	if (!name || !*name || strlen(name) > 253 || *name == '.' || *name == '-')
		return 0;
	for (p = name; *p; p++) {
		if (*p == '.') {
			if (!label || p[-1] == '-')
				return 0;
			label = 0;
			dots++;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			   *p == '-') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return dots >= 1 && label > 0 && p[-1] != '-';
}

const char *sender_summary(int all_met, int bulk_met)
{
	return bulk_met ? N_("meets the requirements for bulk senders (Gmail 5,000+/day, Yahoo, Outlook high-volume)") :
	       all_met ? N_("meets the requirements for all senders, not yet those for bulk senders (5,000+/day): see the "
			    "warnings above") :
			 N_("does not meet the requirements for all senders: see the failures above");
}

/* ---- the DMARC reports ---- */

static void check_pass_rate(struct vctx *vc)
{
	double rate = 0;
	long long messages = 0;
	char *why = NULL;
	const char *name = _("DMARC pass rate (7 days)");
	int rc = report_pass_rate(vc->root, vc->cfg, vc->prof, 7, &rate, &messages, &why);

	if (rc < 0)
		verify_add(vc, ST_WARN, name, _("at least 98 percent"), _("deliver the rua= address of the DMARC record to a "
		    "local mailbox (mailstage apply), or read the reports with `mailstage report FILE`"), "%s",
		    why ? why : strerror(-rc));
	else if (messages == 0)
		verify_add(vc, ST_OK, name, _("at least 98 percent"), NULL, _("no reports yet (receivers send them daily)"));
	else
		verify_add(vc, (enum verify_status)dmarc_rate_status(rate), name, _("at least 98 percent"),
		    _("run `mailstage report --since 7` for the failing sources: this server's own (a broken SPF/DKIM "
		      "here) or others sending as the domain"),
		    _("%.1f %% of %lld messages passed DMARC"), rate * 100, messages);
	free(why);
}

/* ---- sender requirements ---- */

/* What the group found so far, for the summary (reset by its first check). */
static struct {
	int all_failed, bulk_failed;
} sr;

enum rule { RULE_ALL, RULE_BULK };

/* verify_add, counting toward the summary: a rule for all senders fails, one for bulk senders warns. */
static void sr_add(struct vctx *vc, enum rule r, int met, int warn_only, const char *name, const char *expected,
		   const char *fix, const char *seen)
{
	enum verify_status st = met ? (warn_only ? ST_WARN : ST_OK) : r == RULE_ALL ? ST_FAIL : ST_WARN;
	if (!met && r == RULE_ALL)
		sr.all_failed = 1;
	if (!met)
		sr.bulk_failed = 1;
	verify_add(vc, st, name, expected, fix, "%s", seen);
}

/* The dns group's finding at index at (vc->found), or NULL when it was not checked. */
static const struct verify_result *finding(const struct vctx *vc, long at)
{
	return at >= 0 && (size_t)at < vc->rp->n ? &vc->rp->v[at] : NULL;
}

/* The target's main.cf, or NULL with *why. */
static struct maincf *target_maincf(struct vctx *vc, char **why)
{
	char *path = xasprintf("%s/main.cf", vc->prof->postfix_dir), *host = NULL, *data = NULL, *err = NULL;
	struct maincf *mc = NULL;
	size_t len = 0;
	if (verify_target_file(vc, path, &host, &data, &len, why) == 0 && maincf_parse(data, len, &mc, &err) < 0) {
		*why = xasprintf("%s: %s", path, err);
		mc = NULL;
	}
	free(err);
	free(data);
	free(host);
	free(path);
	return mc;
}

/* Gmail (all senders: forward and reverse DNS), Yahoo (FCrDNS for every sending IPv4 and IPv6 address). */
static void check_fcrdns(struct vctx *vc)
{
	const char *ips[2] = { vc->cfg->ipv4, vc->cfg->ipv6 };
	const char *name = _("forward-confirmed PTR");
	struct buf seen = { 0 };
	int met = 1;
	size_t i;

	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < 2; i++) {
		const struct verify_result *f;
		if (!ips[i])
			continue;
		f = finding(vc, vc->found.ptr[i]);
		if (!f || f->st != ST_OK)
			met = 0;
		buf_printf(&seen, "%s%s: %s", seen.len ? "; " : "", ips[i], f ? f->seen : _("not checked"));
	}
	if (!vc->cfg->ipv6) {
		char *why = NULL;
		struct maincf *mc = target_maincf(vc, &why);
		const char *proto = mc ? maincf_get(mc, "inet_protocols") : NULL;
		/* Postfix 3's default is all; EL7's main.cf (Postfix 2.10) says all too */
		if (!proto || strstr(proto, "all") || strstr(proto, "ipv6")) {
			met = 0;
			buf_printf(&seen, _("; no IPv6 address configured, but inet_protocols = %s lets Postfix send over "
			    "IPv6 from an address without PTR"), proto ? proto : "all");
		} else {
			buf_printf(&seen, _("; IPv6 sending disabled (inet_protocols = %s)"), proto);
		}
		maincf_free(mc);
		free(why);
	}
	sr_add(vc, RULE_ALL, met, 0, name, _("each sending address: PTR to the hostname, whose A/AAAA points back "
	    "(Gmail all senders; Yahoo)"), _("set the PTR of each address to the hostname (and its A/AAAA), or set "
	    "ipv6 in mailstage.conf, or inet_protocols = ipv4"), seen.data ? seen.data : "");
	buf_free(&seen);
}

/* Gmail (all senders: SPF or DKIM; 5,000+/day: both, aligned), Yahoo (same), Outlook (high volume: both pass). */
static void check_aligned(struct vctx *vc)
{
	const char *ips[2] = { vc->cfg->ipv4, vc->cfg->ipv6 };
	const struct verify_result *dk = finding(vc, vc->found.dkim);
	int spf = 1, dkim = dk && dk->st == ST_OK;
	char *seen;
	size_t i;

	for (i = 0; i < 2; i++) {
		const struct verify_result *f;
		if (!ips[i])
			continue;
		f = finding(vc, vc->found.spf[i]);
		if (!f || f->st != ST_OK)
			spf = 0;
	}
	/* Both are published at the configured domain (SPF of DOMAIN, DKIM d=DOMAIN), the From domain of its mail. */
	seen = xasprintf(_("SPF %s, DKIM %s; both for %s, the From domain (aligned)"), spf ? _("passes") : _("fails"),
			 dkim ? _("passes") : _("fails"), vc->cfg->domain);
	if (!spf && !dkim)
		sr_add(vc, RULE_ALL, 0, 0, _("SPF and DKIM aligned"), _("SPF or DKIM (all senders), both (bulk senders)"),
		    _("fix the SPF and DKIM records (see the dns group)"), seen);
	else
		sr_add(vc, RULE_BULK, spf && dkim, 0, _("SPF and DKIM aligned"), _("SPF and DKIM both pass for the From "
		    "domain (Gmail 5,000+/day, Yahoo bulk, Outlook high-volume)"), _("fix the failing record (see the dns "
		    "group)"), seen);
	free(seen);
}

/* Gmail (5,000+/day: DMARC, p=none at least), Outlook (high volume: p=none at least), Yahoo (a valid rua). */
static void check_dmarc_policy(struct vctx *vc)
{
	struct strv txt = { 0 };
	char *dname = xasprintf("_dmarc.%s", vc->cfg->domain), *why = NULL, *seen = NULL;
	const char *rec = NULL;
	size_t i;
	int rc = dnsq_lookup(vc->q, dname, DNSQ_TXT, &txt, &why), met = 0;

	for (i = 0; i < txt.n; i++)
		if (strncasecmp(txt.v[i], "v=DMARC1", 8) == 0)
			rec = txt.v[i];
	if (rec) {
		free(why);
		met = dmarc_sender_ok(rec, &why) == 0;
		seen = xasprintf("%s%s%s", rec, why ? ": " : "", why ? why : "");
	} else {
		seen = xasprintf(_("no DMARC record at %s%s%s"), dname, rc < 0 && why ? ": " : "", rc < 0 && why ? why : "");
	}
	sr_add(vc, RULE_BULK, met, 0, _("DMARC p= and rua"), _("v=DMARC1; p=none (at least); rua=mailto:... (Gmail "
	    "5,000+/day, Yahoo, Outlook high-volume)"), _("publish the DMARC TXT record from `mailstage dns`"), seen);
	strv_free(&txt);
	free(dname);
	free(why);
	free(seen);
}

/* Gmail's DKIM help and Yahoo: 1024 bits at least, 2048 recommended. */
static void check_key_size(struct vctx *vc)
{
	int bits = dkim_key_bits(vc->dkim_pub);
	char *seen = bits > 0 ? xasprintf(_("%d-bit RSA key"), bits) : xstrdup(_("no local DKIM key to measure"));
	sr_add(vc, RULE_ALL, bits >= 1024, bits > 0 && bits < 2048, _("DKIM key size"), _("1024 bits at least, 2048 "
	    "recommended (Gmail, Yahoo)"), _("set dkim_bits = 2048 in mailstage.conf and rotate the key "
	    "(mailstage apply), then publish the new record"), seen);
	free(seen);
}

/* Gmail (all senders, since December 2023): a TLS connection for transmitting email. */
static void check_tls_out(struct vctx *vc)
{
	char *why = NULL, *seen;
	struct maincf *mc = target_maincf(vc, &why);
	const char *lvl = mc ? maincf_get(mc, "smtp_tls_security_level") : NULL;
	int met = mc && smtp_tls_outbound(lvl, maincf_get(mc, "smtp_use_tls"));

	seen = mc ? xasprintf("smtp_tls_security_level = %s", lvl && *lvl ? lvl : _("(unset: none)")) :
		    xstrdup(why ? why : _("main.cf not readable"));
	sr_add(vc, RULE_ALL, met, 0, _("TLS outbound"), _("smtp_tls_security_level = may or stronger (Gmail all "
	    "senders)"), _("set smtp_tls_security_level = may in main.cf (mailstage apply sets it)"), seen);
	free(seen);
	maincf_free(mc);
	free(why);
}

/* Replace a leading $myhostname / ${myhostname} of a main.cf value. */
static char *expand_myhostname(const char *v, const char *myhostname)
{
	if (strcmp(v, "$myhostname") == 0 || strcmp(v, "${myhostname}") == 0 || strcmp(v, "$(myhostname)") == 0)
		return xstrdup(myhostname);
	return xstrdup(v);
}

/* Yahoo (follow the SMTP standards) and RFC 5321 4.1.1.1: EHLO names the host's FQDN, which resolves. */
static void check_helo(struct vctx *vc)
{
	char *why = NULL, *helo, *seen = NULL;
	struct maincf *mc = target_maincf(vc, &why);
	const char *mh = mc ? maincf_get(mc, "myhostname") : NULL, *hn = mc ? maincf_get(mc, "smtp_helo_name") : NULL;
	struct strv got = { 0 };
	int met = 0;

	/* Unset myhostname is the system's FQDN, which mailstage sets to the configured hostname. */
	helo = expand_myhostname(hn ? hn : "$myhostname", mh ? mh : vc->cfg->hostname);
	if (!helo_name_valid(helo)) {
		seen = xasprintf(_("HELO %s is not a fully qualified host name"), helo);
	} else {
		char *w2 = NULL;
		int rc = dnsq_lookup(vc->q, helo, DNSQ_A, &got, &w2);
		size_t i;
		for (i = 0; rc == 0 && i < got.n; i++)
			if (strcmp(got.v[i], vc->cfg->ipv4) == 0)
				met = 1;
		seen = rc < 0 ? xasprintf(_("HELO %s does not resolve: %s"), helo, w2 ? w2 : "lookup failed") :
		       xasprintf(_("HELO %s resolves to %s%s"), helo, got.n ? got.v[0] : "", met ? "" :
				 _(", not to the configured address"));
		free(w2);
	}
	sr_add(vc, RULE_ALL, met, 0, _("HELO name"), vc->cfg->ipv4, _("set myhostname (or smtp_helo_name) to the "
	    "hostname, whose A record is the configured address"), seen);
	strv_free(&got);
	free(seen);
	free(helo);
	maincf_free(mc);
	free(why);
}

/* Gmail (all senders): format messages per RFC 5322 (its section 3.6: Date is required, Message-ID expected). */
static void check_format(struct vctx *vc)
{
	const struct verify_result *t = finding(vc, vc->found.test_message);
	const char *name = _("message format");
	const char *exp = _("Date and Message-ID on the message (Gmail all senders, RFC 5322)");

	if (!vc->opts->send_test)
		verify_add(vc, ST_OK, name, exp, NULL, _("checked with --send-test ADDRESS"));
	else
		/* verify's test message carries Date and Message-ID; the check is that it got through */
		sr_add(vc, RULE_ALL, t && t->st == ST_OK, 0, name, exp, _("see the mail group's test message"),
		    t && t->st == ST_OK ? _("the test message, with Date and Message-ID, was accepted") :
		    _("the test message was not accepted"));
}

static void check_summary(struct vctx *vc)
{
	int all = !sr.all_failed, bulk = all && !sr.bulk_failed;
	verify_add(vc, all ? ST_OK : ST_FAIL, _("summary"), NULL, NULL, _("%s%s; bulk senders must also send "
	    "List-Unsubscribe and List-Unsubscribe-Post with one-click unsubscribe (RFC 8058): headers of the sending "
	    "application, which verify does not see"), _(sender_summary(all, bulk)),
	    vc->opts->send_test ? "" : _(" (message format: with --send-test)"));
}

const struct verify_check verify_senders[] = {
	{ "dmarc reports", "DMARC pass rate", check_pass_rate, VC_FULL },
	{ SENDERS_GROUP, "forward-confirmed PTR", check_fcrdns, VC_FULL },
	{ SENDERS_GROUP, "SPF and DKIM aligned", check_aligned, VC_FULL },
	{ SENDERS_GROUP, "DMARC p= and rua", check_dmarc_policy, VC_FULL },
	{ SENDERS_GROUP, "DKIM key size", check_key_size, VC_FULL },
	{ SENDERS_GROUP, "TLS outbound", check_tls_out, VC_FULL },
	{ SENDERS_GROUP, "HELO name", check_helo, VC_FULL },
	{ SENDERS_GROUP, "message format", check_format, VC_FULL },
	{ SENDERS_GROUP, "summary", check_summary, VC_FULL },
	{ NULL, NULL, NULL, 0 },
};
