/*
 * report.c - `mailstage report`: DMARC aggregate reports read from files or
 * from the DMARC mailbox, one table per report and a summary (see report.h).
 *
 * Layers, outermost first:
 *   mailbox   mbox (messages split at "From " lines) or Maildir (new/, cur/)
 *   mail      RFC 5322 headers and MIME: the first part whose content type
 *             or name is a report, base64 or quoted-printable decoded
 *   archive   gzip or zip (one XML file) unpacked with libarchive, at most
 *             REPORT_MAX_XML bytes out (a zip bomb stops there)
 *   XML       checked to be UTF-8, parsed by expat with every DOCTYPE
 *             refused (no entity can be declared: no billion laughs, no
 *             XXE; expat 2.1 on EL7 has no amplification limits of its own)
 */
#include "report.h"
#include "i18n.h"
#include "kvfile.h"
#include "lazylib.h"
#include "mailconf.h"
#include "maincf.h"
#include "msg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define NS_7489 "http://dmarc.org/dmarc-xml/0.1"
#define NS_BIS "urn:ietf:params:xml:ns:dmarc-2.0"
#define MIME_MAX_DEPTH 5
#define ALIAS_MAX_HOPS 10
#define DAY (24LL * 3600)

/* ---- small helpers ---- */

static char *mib(long long n)
{
	if (n >= 1024LL * 1024 * 1024)
		return xasprintf("%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
	return xasprintf("%.1f MiB", (double)n / (1024.0 * 1024));
}

/* A whole non-negative decimal number (blanks around allowed), at most max. */
static int parse_count(const char *s, long long max, long long *out)
{
	long long v = 0;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return -ERANGE;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Blanks trimmed, tabs and line ends made spaces (the text is shown in one
 * table cell), and the C1 controls U+0080..U+009F (valid XML, but U+009B is
 * a terminal's CSI) made "??": a report cannot drive the admin's terminal.
 */
static char *clean_text(const char *s)
{
	char *c = xstrdup(s), *p, *r;
	for (p = c; *p; p++) {
		if (*p == '\t' || *p == '\r' || *p == '\n')
			*p = ' ';
		else if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
	r = xstrdup(strip(c));
	free(c);
	return r;
}

/* Lower-cased copy, trimmed. */
static char *lower_text(const char *s)
{
	char *c = clean_text(s), *p;
	for (p = c; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return c;
}

/* Offset of the first byte that is not valid UTF-8 (overlong, surrogate, > U+10FFFF, NUL), or len. */
static size_t utf8_invalid_at(const unsigned char *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		size_t n, k;
		unsigned cp;
		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return i;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

/* ---- XML (expat) ---- */

struct xp {
	XML_Parser p;
	struct dmarc_report *rp;
	char path[512];
	size_t plen[REPORT_MAX_DEPTH + 1];
	int depth;
	struct buf text;
	int overflow;			/* the current element's text passed REPORT_MAX_TEXT */
	char *why;
	int have_begin, have_end;
	char *begin_s, *end_s;
	char **count_s;			/* per record, checked at the end */
	size_t count_cap;
};

static void xp_fail(struct xp *x, char *why)
{
	if (!x->why)
		x->why = why;
	else
		free(why);
	XML_StopParser(x->p, XML_FALSE);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
			       int has_internal)
{
	struct xp *x = ud;
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	xp_fail(x, xasprintf(_("it has a DOCTYPE (line %lu): refused, since a DTD is how entity expansion "
			       "(billion laughs) and external entities (XXE) get in, and reports have none"),
			     (unsigned long)XML_GetCurrentLineNumber(x->p)));
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value, int vlen,
			      const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	struct xp *x = ud;
	(void)is_param, (void)value, (void)vlen, (void)base, (void)sysid, (void)pubid, (void)notation;
	xp_fail(x, xasprintf(_("it declares the entity \"%s\": refused (entity expansion, XXE)"), name));
}

static struct dmarc_record *cur_rec(struct xp *x)
{
	return x->rp->n ? &x->rp->rec[x->rp->n - 1] : NULL;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xp *x = ud;
	const char *local = strrchr(name, ' ');
	size_t l;
	(void)atts;
	if (x->why)
		return;
	local = local ? local + 1 : name;
	if (x->depth >= REPORT_MAX_DEPTH) {
		xp_fail(x, xasprintf(_("elements nest deeper than %d"), REPORT_MAX_DEPTH));
		return;
	}
	if (x->depth == 0) {
		size_t nsl = (size_t)(local - name);
		int ns_ok = nsl == 0 || (nsl - 1 == strlen(NS_7489) && strncmp(name, NS_7489, nsl - 1) == 0) ||
			    (nsl - 1 == strlen(NS_BIS) && strncmp(name, NS_BIS, nsl - 1) == 0);
		if (strcmp(local, "feedback") != 0 || !ns_ok) {
			char *n = xstrdup(name), *sp = strrchr(n, ' ');
			if (sp)
				*sp = ':';
			xp_fail(x, xasprintf(_("not a DMARC aggregate report: the root element is <%s>, not <feedback>"),
					     n));
			free(n);
			return;
		}
		x->rp->bis = nsl > 0 && strncmp(name, NS_BIS, nsl - 1) == 0;
	}
	l = strlen(local);
	x->plen[x->depth] = strlen(x->path);
	if (x->plen[x->depth] + l + 2 > sizeof(x->path)) {
		xp_fail(x, xasprintf(_("element names too long")));
		return;
	}
	if (x->depth > 0)
		strcat(x->path, "/");
	strcat(x->path, local);
	x->depth++;
	x->text.len = 0;
	if (x->text.data)
		x->text.data[0] = 0;
	x->overflow = 0;
	if (strcmp(x->path, "feedback/record") == 0) {
		struct dmarc_report *rp = x->rp;
		if (rp->n >= REPORT_MAX_RECORDS) {
			xp_fail(x, xasprintf(_("more than %d records"), REPORT_MAX_RECORDS));
			return;
		}
		rp->rec = xrealloc(rp->rec, (rp->n + 1) * sizeof(*rp->rec));
		memset(&rp->rec[rp->n], 0, sizeof(*rp->rec));
		if (rp->n + 1 > x->count_cap) {
			x->count_cap = x->count_cap ? 2 * x->count_cap : 16;
			x->count_s = xrealloc(x->count_s, x->count_cap * sizeof(*x->count_s));
		}
		x->count_s[rp->n] = NULL;
		rp->n++;
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xp *x = ud;
	if (x->why || x->overflow || len <= 0)
		return;
	if (x->text.len + (size_t)len > REPORT_MAX_TEXT) {
		x->overflow = 1;
		return;
	}
	buf_append(&x->text, s, (size_t)len);
}

/* Set *slot to the text once (the first occurrence counts). */
static void take(char **slot, const char *text, int lower)
{
	if (!*slot)
		*slot = lower ? lower_text(text) : clean_text(text);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct xp *x = ud;
	struct dmarc_report *rp = x->rp;
	struct dmarc_record *r = cur_rec(x);
	const char *t = x->text.data ? x->text.data : "", *p = x->path;
	(void)name;

	if (x->why || x->depth == 0)
		return;	/* stopped: expat may still report the element it was in */

	if (x->overflow && (str_starts_with(p, "feedback/report_metadata/") ||
			    str_starts_with(p, "feedback/policy_published/") || str_starts_with(p, "feedback/record/"))) {
		xp_fail(x, xasprintf(_("<%s> holds more than %d bytes of text"), p, REPORT_MAX_TEXT));
		return;
	}
	if (strcmp(p, "feedback/report_metadata/org_name") == 0)
		take(&rp->org, t, 0);
	else if (strcmp(p, "feedback/report_metadata/report_id") == 0)
		take(&rp->report_id, t, 0);
	else if (strcmp(p, "feedback/report_metadata/date_range/begin") == 0)
		take(&x->begin_s, t, 0);
	else if (strcmp(p, "feedback/report_metadata/date_range/end") == 0)
		take(&x->end_s, t, 0);
	else if (strcmp(p, "feedback/policy_published/domain") == 0)
		take(&rp->domain, t, 1);
	else if (r && strcmp(p, "feedback/record/row/source_ip") == 0)
		take(&r->source_ip, t, 1);
	else if (r && strcmp(p, "feedback/record/row/count") == 0)
		take(&x->count_s[rp->n - 1], t, 0);
	else if (r && strcmp(p, "feedback/record/row/policy_evaluated/disposition") == 0)
		take(&r->disposition, t, 1);
	else if (r && strcmp(p, "feedback/record/row/policy_evaluated/dkim") == 0)
		take(&r->dkim, t, 1);
	else if (r && strcmp(p, "feedback/record/row/policy_evaluated/spf") == 0)
		take(&r->spf, t, 1);
	else if (r && strcmp(p, "feedback/record/identifiers/header_from") == 0)
		take(&r->header_from, t, 1);
	else if (r && (strcmp(p, "feedback/record/auth_results/dkim/result") == 0 ||
		       strcmp(p, "feedback/record/auth_results/spf/result") == 0)) {
		char **slot = p[strlen("feedback/record/auth_results/")] == 'd' ? &r->dkim_raw : &r->spf_raw;
		char *v = lower_text(t);
		if (!*slot || (strcmp(v, "pass") == 0 && strcmp(*slot, "pass") != 0)) {
			free(*slot);
			*slot = v;
		} else {
			free(v);
		}
	}
	x->depth--;
	x->path[x->plen[x->depth]] = 0;
	x->text.len = 0;
	if (x->text.data)
		x->text.data[0] = 0;
	x->overflow = 0;
}

static int one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

static int valid_ip(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* The parsed report is complete and its values are what the schemas allow. */
static int validate(struct xp *x, char **why)
{
	static const char *const disp[] = { "none", "quarantine", "reject", "pass", NULL };
	static const char *const pf[] = { "pass", "fail", NULL };
	struct dmarc_report *rp = x->rp;
	size_t i;

	if (!rp->org || !*rp->org)
		return *why = xasprintf(_("no <org_name> in <report_metadata>")), -EINVAL;
	if (!rp->report_id || !*rp->report_id)
		return *why = xasprintf(_("no <report_id> in <report_metadata>")), -EINVAL;
	if (!rp->domain || !*rp->domain)
		return *why = xasprintf(_("no <domain> in <policy_published>")), -EINVAL;
	if (!x->begin_s || !x->end_s || parse_count(x->begin_s, 1LL << 40, &rp->begin) < 0 ||
	    parse_count(x->end_s, 1LL << 40, &rp->end) < 0 || rp->begin > rp->end)
		return *why = xasprintf(_("<date_range> needs <begin> and <end> in epoch seconds, begin not after "
					  "end")), -EINVAL;
	if (rp->n == 0)
		return *why = xasprintf(_("no <record>")), -EINVAL;
	for (i = 0; i < rp->n; i++) {
		struct dmarc_record *r = &rp->rec[i];
		if (!r->source_ip || !valid_ip(r->source_ip))
			return *why = xasprintf(_("record %zu: <source_ip> \"%s\" is not an IP address"), i + 1,
						r->source_ip ? r->source_ip : ""), -EINVAL;
		if (!x->count_s[i] || parse_count(x->count_s[i], 1000000000000LL, &r->count) < 0)
			return *why = xasprintf(_("record %zu: <count> \"%s\" is not a number of messages"), i + 1,
						x->count_s[i] ? x->count_s[i] : ""), -EINVAL;
		if (!r->disposition || !one_of(r->disposition, disp))
			return *why = xasprintf(_("record %zu: <disposition> \"%s\" is not none, quarantine, reject "
						  "or pass"), i + 1, r->disposition ? r->disposition : ""), -EINVAL;
		if (!r->dkim || !one_of(r->dkim, pf) || !r->spf || !one_of(r->spf, pf))
			return *why = xasprintf(_("record %zu: <policy_evaluated> needs <dkim> and <spf>, each pass "
						  "or fail"), i + 1), -EINVAL;
		if (!r->dkim_raw)
			r->dkim_raw = xstrdup("");
		if (!r->spf_raw)
			r->spf_raw = xstrdup("");
		if (!r->header_from)
			r->header_from = xstrdup("");
		rp->messages += r->count;
		if (strcmp(r->dkim, "pass") == 0 || strcmp(r->spf, "pass") == 0)
			rp->dmarc_pass += r->count;
	}
	return 0;
}

int dmarc_parse_xml(const char *xml, size_t len, struct dmarc_report *rp, char **why)
{
	struct xp x;
	size_t bad, i;
	char *lw = NULL;
	int r = 0;

	memset(rp, 0, sizeof(*rp));
	memset(&x, 0, sizeof(x));
	*why = NULL;
	if (len > (size_t)REPORT_MAX_XML) {
		char *m = mib((long long)len);
		*why = xasprintf(_("the XML is %s, more than a report can be (%ld MiB)"), m,
				 REPORT_MAX_XML / 1024 / 1024);
		free(m);
		return -EFBIG;
	}
	bad = utf8_invalid_at((const unsigned char *)xml, len);
	if (bad < len) {
		*why = xasprintf(_("not valid UTF-8 at byte %zu"), bad);
		return -EINVAL;
	}
	if ((r = lazy_expat(&lw)) < 0) {
		*why = lw;
		return r;
	}
	/* "UTF-8" overrides whatever the document declares: the bytes were checked as UTF-8 above. */
	x.p = XML_ParserCreateNS("UTF-8", ' ');
	if (!x.p) {
		*why = xasprintf(_("out of memory for the XML parser"));
		return -ENOMEM;
	}
	x.rp = rp;
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, on_start, on_end);
	XML_SetCharacterDataHandler(x.p, on_text);
	XML_SetStartDoctypeDeclHandler(x.p, on_doctype);
	XML_SetEntityDeclHandler(x.p, on_entity);
	XML_SetParamEntityParsing(x.p, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(x.p, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		if (!x.why)
			x.why = xasprintf(_("invalid XML at line %lu: %s"), (unsigned long)XML_GetCurrentLineNumber(x.p),
					  XML_ErrorString(XML_GetErrorCode(x.p)));
		*why = x.why;
		x.why = NULL;
		r = -EINVAL;
	} else if (x.why) {
		*why = x.why;
		x.why = NULL;
		r = -EINVAL;
	} else {
		r = validate(&x, why);
	}
	XML_ParserFree(x.p);
	for (i = 0; i < rp->n && x.count_s; i++)
		free(x.count_s[i]);
	free(x.count_s);
	free(x.begin_s);
	free(x.end_s);
	buf_free(&x.text);
	free(x.why);
	if (r < 0)
		dmarc_report_free(rp);
	return r;
}

void dmarc_report_free(struct dmarc_report *rp)
{
	size_t i;
	if (!rp)
		return;
	for (i = 0; i < rp->n; i++) {
		struct dmarc_record *r = &rp->rec[i];
		free(r->source_ip);
		free(r->disposition);
		free(r->dkim);
		free(r->spf);
		free(r->dkim_raw);
		free(r->spf_raw);
		free(r->header_from);
	}
	free(rp->rec);
	free(rp->org);
	free(rp->report_id);
	free(rp->domain);
	free(rp->source);
	memset(rp, 0, sizeof(*rp));
}

/* ---- gzip and zip (libarchive) ---- */

static int is_gzip(const char *d, size_t n)
{
	return n >= 2 && (unsigned char)d[0] == 0x1f && (unsigned char)d[1] == 0x8b;
}

static int is_zip(const char *d, size_t n)
{
	return n >= 4 && memcmp(d, "PK\003\004", 4) == 0;
}

static int unpack(const char *data, size_t len, int zip, char **out, size_t *outlen, char **why)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	struct buf b = { 0 };
	char *lw = NULL, chunk[65536];
	int r = 0, files = 0, h;

	*out = NULL;
	if ((r = lazy_archive(&lw)) < 0) {
		*why = lw;
		return r;
	}
	a = archive_read_new();
	if (zip) {
		archive_read_support_format_zip(a);
	} else {
		archive_read_support_filter_gzip(a);
		archive_read_support_format_raw(a);
	}
	if (archive_read_open_memory(a, (void *)data, len) != ARCHIVE_OK) {
		*why = xasprintf(_("not a readable %s file: %s"), zip ? "zip" : "gzip", archive_error_string(a));
		r = -EINVAL;
		goto out;
	}
	while ((h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		ssize_t got;
		if (zip && archive_entry_filetype(e) != AE_IFREG)
			continue;	/* a directory entry */
		if (++files > 1) {
			*why = xasprintf(_("the zip holds more than one file (a report zip holds one XML file)"));
			r = -EINVAL;
			goto out;
		}
		while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
			if (b.len + (size_t)got > (size_t)REPORT_MAX_XML) {
				*why = xasprintf(_("it unpacks to more than %ld MiB: a zip bomb, or not a report"),
						 REPORT_MAX_XML / 1024 / 1024);
				r = -EFBIG;
				goto out;
			}
			buf_append(&b, chunk, (size_t)got);
		}
		if (got < 0) {
			*why = xasprintf(_("cannot unpack the %s file: %s"), zip ? "zip" : "gzip", archive_error_string(a));
			r = -EINVAL;
			goto out;
		}
	}
	if (h != ARCHIVE_EOF) {
		*why = xasprintf(_("cannot unpack the %s file: %s"), zip ? "zip" : "gzip", archive_error_string(a));
		r = -EINVAL;
		goto out;
	}
	if (files == 0) {
		*why = xasprintf(_("the %s file holds no file"), zip ? "zip" : "gzip");
		r = -EINVAL;
		goto out;
	}
	*outlen = b.len;
	*out = buf_steal(&b);
out:
	if (a)
		archive_read_free(a);
	buf_free(&b);
	return r;
}

/* ---- mail messages (RFC 5322, MIME) ---- */

/* End of the header block: offset of the body (after the blank line), or len when none. */
static size_t header_end(const char *d, size_t len)
{
	size_t i = 0;
	if (len && (d[0] == '\n' || (len > 1 && d[0] == '\r' && d[1] == '\n')))
		return d[0] == '\n' ? 1 : 2;
	for (; i + 1 < len; i++) {
		if (d[i] != '\n')
			continue;
		if (d[i + 1] == '\n')
			return i + 2;
		if (d[i + 1] == '\r' && i + 2 < len && d[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* The unfolded value of header name in the block d[0..len), or NULL. */
static char *header_get(const char *d, size_t len, const char *name)
{
	size_t nl = strlen(name), i = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && d[e] != '\n')
			e++;
		if (e - i > nl && strncasecmp(d + i, name, nl) == 0 && d[i + nl] == ':') {
			struct buf b = { 0 };
			size_t s = i + nl + 1;
			for (;;) {
				size_t k = s;
				while (k < e && d[k] != '\r')
					k++;
				buf_append(&b, d + s, k - s);
				i = e + 1;
				if (i >= len || (d[i] != ' ' && d[i] != '\t'))
					break;
				e = i;
				while (e < len && d[e] != '\n')
					e++;
				buf_puts(&b, " ");
				s = i;
			}
			{
				char *v = buf_steal(&b), *r = xstrdup(strip(v));
				free(v);
				return r;
			}
		}
		i = e + 1;
	}
	return NULL;
}

/* The type ("application/gzip", lower-cased) of a Content-Type value. */
static char *mime_type(const char *v)
{
	size_t n = strcspn(v, "; \t");
	char *t = xstrndup(v, n), *p;
	for (p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return t;
}

/* A parameter (name=value or name="value"; name*=charset''value) of a header value, or NULL. */
static char *mime_param(const char *v, const char *name)
{
	size_t nl = strlen(name);
	const char *p = strchr(v, ';');
	while (p) {
		const char *q;
		int star = 0;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) == 0 && (p[nl] == '=' || (p[nl] == '*' && p[nl + 1] == '='))) {
			struct buf b = { 0 };
			star = p[nl] == '*';
			q = p + nl + 1 + star;
			if (*q == '"') {
				for (q++; *q && *q != '"'; q++) {
					if (*q == '\\' && q[1])
						q++;
					buf_append(&b, q, 1);
				}
			} else {
				size_t n = strcspn(q, "; \t");
				buf_append(&b, q, n);
			}
			if (star) {	/* RFC 2231: charset'language'value, the value percent-encoded */
				char *s = buf_steal(&b), *a = strchr(s, '\''), *c = a ? strchr(a + 1, '\'') : NULL;
				const char *w = c ? c + 1 : s;
				for (; *w; w++) {
					unsigned hx;
					if (*w == '%' && isxdigit((unsigned char)w[1]) && isxdigit((unsigned char)w[2]) &&
					    sscanf(w + 1, "%2x", &hx) == 1) {
						char ch = (char)hx;
						buf_append(&b, &ch, 1);
						w += 2;
					} else {
						buf_append(&b, w, 1);
					}
				}
				free(s);
			}
			return buf_steal(&b);
		}
		p = strchr(p, ';');
	}
	return NULL;
}

static int ends_with_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Content type or file name says: a report. */
static int is_report_part(const char *type, const char *name)
{
	static const char *const types[] = { "application/gzip", "application/x-gzip", "application/zip",
					     "application/x-zip-compressed", "application/x-zip", "text/xml",
					     "application/xml", NULL };
	if (type && one_of(type, types))
		return 1;
	return name && (ends_with_ci(name, ".xml") || ends_with_ci(name, ".gz") || ends_with_ci(name, ".zip"));
}

static void qp_decode(const char *d, size_t len, struct buf *out)
{
	size_t i;
	for (i = 0; i < len; i++) {
		unsigned hx;
		if (d[i] == '=' && i + 1 < len && (d[i + 1] == '\n' || d[i + 1] == '\r')) {
			i++;
			if (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n')
				i++;
		} else if (d[i] == '=' && i + 2 < len && isxdigit((unsigned char)d[i + 1]) &&
			   isxdigit((unsigned char)d[i + 2])) {
			char h[3] = { d[i + 1], d[i + 2], 0 }, ch;
			sscanf(h, "%2x", &hx);
			ch = (char)hx;
			buf_append(out, &ch, 1);
			i += 2;
		} else {
			buf_append(out, d + i, 1);
		}
	}
}

/*
 * The first report in the MIME entity d[0..len) (headers and body):
 * decoded into *out.  0, -ENOMSG when there is none, else -errno and *why.
 */
static int mime_find(const char *d, size_t len, int depth, struct buf *out, char **why)
{
	size_t he = header_end(d, len);
	char *ct = header_get(d, he, "Content-Type"), *cd = header_get(d, he, "Content-Disposition");
	char *cte = header_get(d, he, "Content-Transfer-Encoding"), *type = NULL, *name = NULL;
	const char *body = d + he;
	size_t blen = len - he;
	int r = -ENOMSG;

	type = mime_type(ct ? ct : "text/plain");
	if (cd)
		name = mime_param(cd, "filename");
	if (!name && ct)
		name = mime_param(ct, "name");
	if (str_starts_with(type, "multipart/")) {
		char *bd = ct ? mime_param(ct, "boundary") : NULL, *delim;
		const char *p, *end = body + blen, *part = NULL;
		size_t dl;
		int closed = 0;
		if (!bd || !*bd || depth >= MIME_MAX_DEPTH) {
			free(bd);
			goto out;
		}
		delim = xasprintf("--%s", bd);
		dl = strlen(delim);
		/* Walk the lines; each delimiter line closes the part before it. */
		for (p = body; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
			if ((size_t)(le - p) >= dl && memcmp(p, delim, dl) == 0) {
				if (part) {
					const char *pe = p;
					if (pe > part && pe[-1] == '\n')
						pe--;
					if (pe > part && pe[-1] == '\r')
						pe--;
					r = mime_find(part, (size_t)(pe - part), depth + 1, out, why);
					if (r != -ENOMSG)
						break;
				}
				if ((size_t)(le - p) >= dl + 2 && p[dl] == '-' && p[dl + 1] == '-') {
					closed = 1;
					break;	/* the closing delimiter */
				}
				part = nl ? nl + 1 : end;
			}
			p = nl ? nl + 1 : end;
		}
		/* a message cut short: its last part runs to the end */
		if (r == -ENOMSG && !closed && part && part < end)
			r = mime_find(part, (size_t)(end - part), depth + 1, out, why);
		free(delim);
		free(bd);
		goto out;
	}
	if (!is_report_part(type, name))
		goto out;
	out->len = 0;
	if (cte && strncasecmp(cte, "base64", 6) == 0) {
		size_t at = 0;
		r = base64_decode(body, blen, out, &at);
		if (r < 0)
			*why = xasprintf(_("the attachment's base64 has the byte 0x%02x at offset %zu"),
					 (unsigned)(unsigned char)body[at], at);
	} else if (cte && strncasecmp(cte, "quoted-printable", 16) == 0) {
		qp_decode(body, blen, out);
		r = 0;
	} else {
		buf_append(out, body, blen);
		r = 0;
	}
out:
	free(ct);
	free(cd);
	free(cte);
	free(type);
	free(name);
	return r;
}

/* Leading BOM and blanks skipped, does it start with '<'? */
static int looks_xml(const char *d, size_t n)
{
	size_t i = 0;
	if (n >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
		i++;
	return i < n && d[i] == '<';
}

/* Report bytes (XML, gzip or zip) parsed. */
static int read_payload(const char *d, size_t len, struct dmarc_report *rp, char **why)
{
	char *xml = NULL;
	size_t xlen = 0;
	int r;

	if (is_gzip(d, len) || is_zip(d, len)) {
		if ((r = unpack(d, len, is_zip(d, len), &xml, &xlen, why)) < 0)
			return r;
		r = dmarc_parse_xml(xml, xlen, rp, why);
		free(xml);
		return r;
	}
	return dmarc_parse_xml(d, len, rp, why);
}

int dmarc_read(const char *data, size_t len, struct dmarc_report *rp, char **why)
{
	struct buf att = { 0 };
	int r;

	memset(rp, 0, sizeof(*rp));
	*why = NULL;
	if (len > (size_t)REPORT_MAX_INPUT) {
		char *m = mib((long long)len);
		*why = xasprintf(_("it is %s, more than a report or its mail can be (%ld MiB)"), m,
				 REPORT_MAX_INPUT / 1024 / 1024);
		free(m);
		return -EFBIG;
	}
	if (is_gzip(data, len) || is_zip(data, len) || looks_xml(data, len))
		return read_payload(data, len, rp, why);
	r = mime_find(data, len, 0, &att, why);
	if (r == 0)
		r = read_payload(att.data ? att.data : "", att.len, rp, why);
	buf_free(&att);
	return r;
}

/* ---- JSON ---- */

char *dmarc_json(const struct dmarc_report *rp)
{
	struct buf b = { 0 };
	char *o = json_str(rp->org), *id = json_str(rp->report_id), *d = json_str(rp->domain);
	size_t i;

	buf_printf(&b, "{\"org\":%s,\"report_id\":%s,\"domain\":%s,\"begin\":%lld,\"end\":%lld,\"messages\":%lld,"
		   "\"dmarc_pass\":%lld,\"records\":[", o, id, d, rp->begin, rp->end, rp->messages, rp->dmarc_pass);
	for (i = 0; i < rp->n; i++) {
		const struct dmarc_record *r = &rp->rec[i];
		char *ip = json_str(r->source_ip), *ds = json_str(r->disposition), *dk = json_str(r->dkim),
		     *sp = json_str(r->spf);
		buf_printf(&b, "%s{\"source_ip\":%s,\"count\":%lld,\"disposition\":%s,\"dkim\":%s,\"spf\":%s}",
			   i ? "," : "", ip, r->count, ds, dk, sp);
		free(ip);
		free(ds);
		free(dk);
		free(sp);
	}
	buf_puts(&b, "]}");
	free(o);
	free(id);
	free(d);
	return buf_steal(&b);
}

/* ---- the set of reports ---- */

static int same_addr(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	if (!a || !b)
		return 0;
	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
}

static int own_domain(const char *d, const char *mine)
{
	size_t a = strlen(d), b = strlen(mine);
	return strcasecmp(d, mine) == 0 || (a > b && d[a - b - 1] == '.' && strcasecmp(d + a - b, mine) == 0);
}

int report_set_add(struct report_set *s, struct dmarc_report *rp, const struct config *cfg, long long now,
		   long since_days, char **why)
{
	size_t i;

	*why = NULL;
	if (cfg->domain && !own_domain(rp->domain, cfg->domain)) {
		*why = xasprintf(_("the report from %s (id %s) is for %s, not %s: a domain this server does not send "
				   "for"), rp->org, rp->report_id, rp->domain, cfg->domain);
		s->rejected++;
		return -EINVAL;
	}
	if (since_days > 0 && rp->end < now - since_days * DAY) {
		s->old++;
		return 0;
	}
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].org, rp->org) == 0 && strcmp(s->v[i].report_id, rp->report_id) == 0) {
			s->duplicates++;
			return 0;
		}
	for (i = 0; i < rp->n; i++)
		rp->rec[i].own = same_addr(rp->rec[i].source_ip, cfg->ipv4) || same_addr(rp->rec[i].source_ip, cfg->ipv6);
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = *rp;
	memset(rp, 0, sizeof(*rp));
	return 1;
}

void report_set_free(struct report_set *s)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		dmarc_report_free(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* One input read into the set: a message for each rejection. */
static void take_input(struct report_set *s, const char *data, size_t len, const char *name, int from_mailbox,
		       const struct config *cfg, long long now, long since_days)
{
	struct dmarc_report rp;
	char *why = NULL;
	int r = dmarc_read(data, len, &rp, &why);

	if (r == -ENOMSG && from_mailbox) {
		free(why);
		return;	/* the mailbox's other mail */
	}
	if (r == -ENOMSG) {
		free(why);
		why = xasprintf(_("a mail message with no report attached (no part whose type is gzip, zip or xml, "
				  "or whose name ends in .xml, .gz or .zip)"));
	}
	if (r < 0) {
		msg_error(_("%s: rejected: %s"), name, why);
		s->rejected++;
		free(why);
		return;
	}
	rp.source = xstrdup(name);
	if (report_set_add(s, &rp, cfg, now, since_days, &why) < 0)
		msg_error(_("%s: rejected: %s"), name, why);
	free(why);
	dmarc_report_free(&rp);
}

/*
 * Open a file for reading without blocking (a FIFO or device is refused),
 * its size checked before anything is read: a 2 GB file is never read.
 */
static int read_capped(const char *host, int nofollow, char **data, size_t *len, char **why)
{
	struct stat sb;
	int fd = open(host, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0)), r;

	*data = NULL;
	if (fd < 0) {
		r = -errno;
		*why = xasprintf(_("cannot open it: %s"), strerror(errno));
		return r;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		*why = xasprintf(_("not a regular file"));
		close(fd);
		return -EINVAL;
	}
	if (sb.st_size > REPORT_MAX_INPUT) {
		char *m = mib((long long)sb.st_size);
		*why = xasprintf(_("it is %s, more than a report or its mail can be (%ld MiB): not read"), m,
				 REPORT_MAX_INPUT / 1024 / 1024);
		free(m);
		close(fd);
		return -EFBIG;
	}
	r = read_fd_known(fd, &sb, (size_t)REPORT_MAX_INPUT, data, len);
	if (r < 0)
		*why = xasprintf(_("cannot read it: %s"), strerror(-r));
	close(fd);
	return r;
}

/* ---- the mailbox ---- */

/* HOME of user in the target's /etc/passwd (caller frees), or NULL. */
static char *target_home(struct root *root, const char *user)
{
	char *pw = NULL, *why = NULL, *home = NULL, *save = NULL, *line;
	size_t ul = strlen(user);

	if (root_read(root, "/etc/passwd", 4 * 1024 * 1024, &pw, NULL, &why) < 0) {
		free(why);
		return NULL;
	}
	for (line = strtok_r(pw, "\n", &save); line && !home; line = strtok_r(NULL, "\n", &save)) {
		char *f = line;
		int i;
		if (strncmp(line, user, ul) != 0 || line[ul] != ':')
			continue;
		for (i = 0; i < 5 && f; i++) {
			f = strchr(f, ':');
			if (f)
				f++;
		}
		if (f) {
			size_t n = strcspn(f, ":");
			home = xstrndup(f, n);
		}
	}
	free(pw);
	return home;
}

int report_mailbox(struct root *root, const struct config *cfg, const struct profile *prof, char **path,
		   int *maildir, char **why)
{
	struct kvfile *kv = NULL;
	struct maincf *mc = NULL;
	char *lp[2] = { NULL, NULL }, *al = NULL, *mcf = NULL, *mcpath = NULL, *user = NULL, *home = NULL;
	char *err = NULL, *file = NULL;
	size_t n, i, allen = 0, mclen = 0;
	int r = 0, hop;

	*path = NULL;
	*maildir = 0;
	*why = NULL;
	n = postfix_dmarc_locals(cfg, lp);
	if (n == 0) {
		if (!cfg->dmarc_rua || !*cfg->dmarc_rua)
			*why = xasprintf(_("dmarc_rua is empty: the DMARC record asks for no reports"));
		else
			*why = xasprintf(_("dmarc_rua is %s, not delivered on this server: read the reports there "
					   "and give them as files (mailstage report FILE...)"), cfg->dmarc_rua);
		return -ENOENT;
	}
	/* The alias as postfix-main writes it, followed through the target's aliases to a local user. */
	if (root_read(root, prof->aliases, 4 * 1024 * 1024, &al, &allen, &err) == 0 &&
	    kvfile_parse(al, allen, KV_COLON, &kv, &err) < 0)
		kv = NULL;
	free(err);
	err = NULL;
	user = xstrdup(lp[0]);
	if (!kv || !kvfile_get(kv, user)) {
		free(user);
		user = xstrdup(cfg->dmarc_alias_to);
	}
	for (hop = 0;; hop++) {
		const char *v = kv ? kvfile_get(kv, user) : NULL;
		char *first, *at;
		if (strchr(user, '@')) {
			at = strrchr(user, '@');
			if (!postfix_local_domain(cfg, at + 1)) {
				*why = xasprintf(_("DMARC reports are forwarded to %s: read them there and give them as "
						   "files (mailstage report FILE...)"), user);
				r = -ENOENT;
				goto out;
			}
			*at = 0;
			continue;
		}
		if (!v)
			break;
		if (hop >= ALIAS_MAX_HOPS) {
			*why = xasprintf(_("the aliases for %s in %s go round in a loop"), lp[0], prof->aliases);
			r = -ELOOP;
			goto out;
		}
		first = xstrndup(v, strcspn(v, ","));
		strip(first);
		if (first[0] == '"') {
			memmove(first, first + 1, strlen(first));
			if (*first && first[strlen(first) - 1] == '"')
				first[strlen(first) - 1] = 0;
		}
		if (first[0] == '\\') {	/* \user: delivered to user, no more aliasing */
			free(user);
			user = xstrdup(first + 1);
			free(first);
			break;
		}
		if (first[0] == '|' || str_starts_with(first, ":include:")) {
			*why = xasprintf(_("%s delivers DMARC reports to \"%s\", not to a mailbox: give the report files "
					   "(mailstage report FILE...)"), prof->aliases, first);
			free(first);
			r = -ENOTSUP;
			goto out;
		}
		if (first[0] == '/') {
			file = first;
			break;
		}
		if (strcmp(first, user) == 0) {
			free(first);
			break;
		}
		free(user);
		user = first;
	}
	if (file) {
		size_t fl = strlen(file);
		*maildir = fl > 1 && file[fl - 1] == '/';
		*path = file;
		file = NULL;
		goto out;
	}
	mcpath = xasprintf("%s/main.cf", prof->postfix_dir);
	if (root_read(root, mcpath, 16 * 1024 * 1024, &mcf, &mclen, &err) == 0 &&
	    maincf_parse(mcf, mclen, &mc, &err) < 0)
		mc = NULL;
	{
		const char *hm = mc ? maincf_get(mc, "home_mailbox") : NULL;
		const char *sp = mc ? maincf_get(mc, "mail_spool_directory") : NULL;
		const char *cmd = mc ? maincf_get(mc, "mailbox_command") : NULL;
		if (cmd && *cmd)
			msg_warn(_("main.cf delivers local mail with mailbox_command (%s): reading the mailbox Postfix "
				   "itself would use; give the report files if they are elsewhere"), cmd);
		if (hm && *hm) {
			size_t hl = strlen(hm);
			home = target_home(root, user);
			if (!home) {
				*why = xasprintf(_("the DMARC reports go to the user %s, who is not in the target's "
						   "/etc/passwd"), user);
				r = -ENOENT;
				goto out;
			}
			*maildir = hm[hl - 1] == '/';
			*path = xasprintf("%s%s%s", home, home[strlen(home) - 1] == '/' ? "" : "/", hm);
		} else {
			const char *spool = sp && *sp ? sp : prof->mail_spool;
			size_t sl = strlen(spool);
			*maildir = spool[sl - 1] == '/';
			*path = xasprintf("%s%s%s%s", spool, *maildir ? "" : "/", user, *maildir ? "/" : "");
		}
	}
out:
	for (i = 0; i < n; i++)
		free(lp[i]);
	kvfile_free(kv);
	maincf_free(mc);
	free(al);
	free(mcf);
	free(mcpath);
	free(user);
	free(home);
	free(err);
	free(file);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_maildir(const char *host, const char *path, struct report_set *s, const struct config *cfg,
			long long now, long since_days, int *missing, char **why)
{
	static const char *const subs[] = { "new", "cur" };
	size_t k, found = 0;

	for (k = 0; k < 2; k++) {
		char *dir = xasprintf("%s/%s", host, subs[k]);
		struct strv names = { 0 };
		struct dirent *de;
		DIR *d = opendir(dir);
		size_t i;
		if (!d) {
			free(dir);
			continue;
		}
		found++;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				strv_push(&names, de->d_name);
		closedir(d);
		if (names.n)
			qsort(names.v, names.n, sizeof(*names.v), cmp_str);
		for (i = 0; i < names.n; i++) {
			char *f = xasprintf("%s/%s", dir, names.v[i]);
			char *shown = xasprintf("%s%s%s/%s", path, path[strlen(path) - 1] == '/' ? "" : "/", subs[k],
						names.v[i]);
			char *data = NULL, *w = NULL;
			size_t len = 0;
			if (read_capped(f, 1, &data, &len, &w) < 0) {
				msg_error(_("%s: rejected: %s"), shown, w);
				s->rejected++;
			} else {
				take_input(s, data, len, shown, 1, cfg, now, since_days);
			}
			free(w);
			free(data);
			free(f);
			free(shown);
		}
		strv_free(&names);
		free(dir);
	}
	if (!found)
		*missing = 1;
	(void)why;
	return 0;
}

static void mbox_message(struct report_set *s, struct buf *m, int oversize, size_t no, const char *path,
			 const struct config *cfg, long long now, long since_days)
{
	char *name = xasprintf(_("%s, message %zu"), path, no);
	if (oversize) {
		msg_error(_("%s: rejected: larger than %ld MiB, more than a report's mail can be: not read"), name,
			  REPORT_MAX_INPUT / 1024 / 1024);
		s->rejected++;
	} else if (m->len) {
		take_input(s, m->data, m->len, name, 1, cfg, now, since_days);
	}
	free(name);
	m->len = 0;
}

static int read_mbox(const char *host, const char *path, struct report_set *s, const struct config *cfg,
		     long long now, long since_days, int *missing, char **why)
{
	struct buf m = { 0 };
	char line[65536];
	struct stat sb;
	FILE *f;
	int fd = open(host, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC), bol = 1, prev_blank = 1, oversize = 0;
	int inmsg = 0;
	size_t no = 0;

	if (fd < 0 && errno == ENOENT) {
		*missing = 1;
		return 0;
	}
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		*why = xasprintf(_("cannot read the mailbox %s: %s"), path, fd < 0 ? strerror(e) : _("not a regular file"));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		*why = xasprintf(_("cannot read the mailbox %s: %s"), path, strerror(ENOMEM));
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);
		int eol = l && line[l - 1] == '\n';
		if (bol && prev_blank && strncmp(line, "From ", 5) == 0) {
			if (inmsg)
				mbox_message(s, &m, oversize, no, path, cfg, now, since_days);
			no++;
			inmsg = 1;
			oversize = 0;
		} else if (inmsg && !oversize) {
			const char *p = line;
			if (bol && strncmp(line, ">From ", 6) == 0)
				p++, l--;	/* mboxrd/mboxo quoting */
			if (m.len + l > (size_t)REPORT_MAX_INPUT) {
				oversize = 1;
				m.len = 0;
			} else {
				buf_append(&m, p, l);
			}
		}
		if (bol)
			prev_blank = eol && (l == 1 || (l == 2 && line[0] == '\r'));
		else if (eol)
			prev_blank = 0;
		bol = eol;
	}
	if (inmsg)
		mbox_message(s, &m, oversize, no, path, cfg, now, since_days);
	buf_free(&m);
	fclose(f);
	return 0;
}

int report_read_mailbox(struct root *root, const char *path, int maildir, struct report_set *s,
			const struct config *cfg, long long now, long since_days, int *missing, char **why)
{
	char *host = NULL;
	int r;

	*missing = 0;
	*why = NULL;
	if ((r = root_resolve(root, path, &host, why)) < 0) {
		if (r == -ENOENT) {
			free(*why);
			*why = NULL;
			*missing = 1;
			return 0;
		}
		return r;
	}
	r = maildir ? read_maildir(host, path, s, cfg, now, since_days, missing, why)
		    : read_mbox(host, path, s, cfg, now, since_days, missing, why);
	free(host);
	return r;
}

int report_pass_rate(struct root *root, const struct config *cfg, const struct profile *prof, long days,
		     double *rate, long long *messages, char **why)
{
	struct report_set s = { 0 };
	long long m = 0, pass = 0;
	char *path = NULL;
	int maildir = 0, missing = 0, r, saved = msg_verbosity;
	size_t i;

	*rate = 0;
	*messages = 0;
	if ((r = report_mailbox(root, cfg, prof, &path, &maildir, why)) < 0)
		return r;
	msg_verbosity = MSG_QUIET;
	r = report_read_mailbox(root, path, maildir, &s, cfg, (long long)time(NULL), days, &missing, why);
	msg_verbosity = saved;
	for (i = 0; r == 0 && i < s.n; i++) {
		m += s.v[i].messages;
		pass += s.v[i].dmarc_pass;
	}
	*messages = m;
	*rate = m ? (double)pass / (double)m : 0;
	report_set_free(&s);
	free(path);
	return r;
}

/* ---- output ---- */

static char *utc(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char b[32];
	gmtime_r(&tt, &tm);
	strftime(b, sizeof(b), "%Y-%m-%d %H:%M", &tm);
	return xstrdup(b);
}

/* Columns the text takes on a terminal (a translated header: 2 for each CJK character). */
static int text_width(const char *s)
{
	size_t n;
	wchar_t *w;
	int cols;

	i18n_ctype();
	n = mbstowcs(NULL, s, 0);
	if (n == (size_t)-1)
		return (int)strlen(s);
	w = xcalloc(n + 1, sizeof(*w));
	mbstowcs(w, s, n + 1);
	cols = wcswidth(w, n);
	free(w);
	return cols < 0 ? (int)strlen(s) : cols;
}

/* s padded with blanks to width columns, on the left (right-aligned) or the right. */
static void put_cell(const char *s, int width, int right)
{
	int pad = width - text_width(s);
	if (right)
		printf("%*s%s", pad > 0 ? pad : 0, "", s);
	else
		printf("%s%*s", s, pad > 0 ? pad : 0, "");
}

static const char *or_none(const char *s)
{
	return s && *s ? s : "-";
}

static void print_report(const struct dmarc_report *rp)
{
	char *b = utc(rp->begin), *e = utc(rp->end);
	size_t i;

	printf(_("Report %s from %s for %s, %s to %s UTC (%s)\n"), rp->report_id, rp->org, rp->domain, b, e,
	       rp->source ? rp->source : "");
	printf("  ");
	put_cell(_("source IP"), 26, 0);
	printf(" ");
	put_cell(_("count"), 8, 1);
	printf("  ");
	put_cell(_("disposition"), 11, 0);
	printf("  ");
	put_cell(_("DKIM eval/raw"), 15, 0);
	printf("  ");
	put_cell(_("SPF eval/raw"), 15, 0);
	printf("  %s\n", _("this server"));
	for (i = 0; i < rp->n; i++) {
		const struct dmarc_record *r = &rp->rec[i];
		char *dk = xasprintf("%s/%s", r->dkim, or_none(r->dkim_raw));
		char *sp = xasprintf("%s/%s", r->spf, or_none(r->spf_raw));
		printf("  %-26s %8lld  %-11s  %-15s  %-15s  %s\n", r->source_ip, r->count, r->disposition, dk, sp,
		       r->own ? _("yes") : _("no"));
		free(dk);
		free(sp);
	}
	printf("\n");
	free(b);
	free(e);
}

struct src {
	char *ip;
	long long count, failed;
	char *dkim_raw, *spf_raw;	/* of the first failing record */
	char *orgs;			/* receivers that saw it fail */
};

static struct src *src_get(struct src **v, size_t *n, const char *ip)
{
	size_t i;
	for (i = 0; i < *n; i++)
		if (same_addr((*v)[i].ip, ip))
			return &(*v)[i];
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].ip = xstrdup(ip);
	return &(*v)[(*n)++];
}

static int cmp_src(const void *a, const void *b)
{
	const struct src *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->ip, y->ip);
}

static void src_free(struct src *v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		free(v[i].ip);
		free(v[i].dkim_raw);
		free(v[i].spf_raw);
		free(v[i].orgs);
	}
	free(v);
}

/* Per source address over all reports: this server's failing ones, and every other one. */
static void collect(const struct report_set *s, struct src **own, size_t *no, struct src **other, size_t *nx,
		    long long *m, long long *pass)
{
	size_t i, j;

	*own = *other = NULL;
	*no = *nx = 0;
	*m = *pass = 0;
	for (i = 0; i < s->n; i++) {
		*m += s->v[i].messages;
		*pass += s->v[i].dmarc_pass;
		for (j = 0; j < s->v[i].n; j++) {
			const struct dmarc_record *r = &s->v[i].rec[j];
			int failed = strcmp(r->dkim, "pass") != 0 && strcmp(r->spf, "pass") != 0;
			struct src *x = r->own ? (failed ? src_get(own, no, r->source_ip) : NULL)
					       : src_get(other, nx, r->source_ip);
			if (!x)
				continue;
			x->count += r->count;
			if (failed) {
				x->failed += r->count;
				if (!x->dkim_raw) {
					x->dkim_raw = xstrdup(r->dkim_raw);
					x->spf_raw = xstrdup(r->spf_raw);
				}
				if (!x->orgs) {
					x->orgs = xstrdup(s->v[i].org);
				} else if (!strstr(x->orgs, s->v[i].org)) {
					char *t = xasprintf("%s, %s", x->orgs, s->v[i].org);
					free(x->orgs);
					x->orgs = t;
				}
			}
		}
	}
	if (*no)
		qsort(*own, *no, sizeof(**own), cmp_src);
	if (*nx)
		qsort(*other, *nx, sizeof(**other), cmp_src);
}

static void print_summary(const struct report_set *s, const struct config *cfg)
{
	struct src *own = NULL, *other = NULL;
	size_t no = 0, nx = 0, i;
	long long m = 0, pass = 0;

	collect(s, &own, &no, &other, &nx, &m, &pass);
	printf(_("Summary: %zu reports, %lld messages, %lld passed DMARC (%.1f %%)\n"), s->n, m, pass,
	       m ? 100.0 * (double)pass / (double)m : 0.0);
	if (no) {
		printf(_("Failures from this server's own addresses (something is broken here):\n"));
		for (i = 0; i < no; i++) {
			const char *dr = own[i].dkim_raw, *sr = own[i].spf_raw;
			printf(_("  %s: %lld messages failed DMARC (DKIM %s, SPF %s) at %s\n"), own[i].ip, own[i].failed,
			       or_none(dr), or_none(sr), own[i].orgs);
			if (!*dr || strcmp(dr, "none") == 0)
				printf(_("    fix: the mail is not DKIM-signed: Postfix must pass it to the OpenDKIM milter "
					 "(smtpd_milters and non_smtpd_milters) and opendkim must run: `mailstage apply`, "
					 "then `mailstage verify`\n"));
			else if (strcmp(dr, "pass") == 0)
				printf(_("    fix: it is DKIM-signed, but not as %s: sign with d=%s (opendkim's KeyTable and "
					 "SigningTable, `mailstage apply`)\n"), cfg->domain, cfg->domain);
			else
				printf(_("    fix: the DKIM signature does not verify: the published key differs from "
					 "the signing key (`mailstage dns --check`), or something rewrote the mail after "
					 "signing\n"));
			if (strcmp(sr, "pass") == 0)
				printf(_("    fix: SPF passed for another domain than %s: send with an envelope sender "
					 "@%s\n"), cfg->domain, cfg->domain);
			else
				printf(_("    fix: SPF does not authorise %s: publish the SPF record `mailstage dns` prints "
					 "(`mailstage dns --check` compares)\n"), own[i].ip);
		}
	}
	if (nx) {
		printf(_("Other sources sending as %s (spoofing, or a forgotten legitimate sender such as a "
			 "newsletter service whose SPF/DKIM is missing):\n"), cfg->domain);
		for (i = 0; i < nx; i++)
			printf(_("  %s: %lld messages, %lld failed DMARC\n"), other[i].ip, other[i].count,
			       other[i].failed);
	}
	if (s->old)
		printf(_("Older than --since: %zu reports, not counted\n"), s->old);
	if (s->rejected)
		printf(_("Rejected: %zu reports (see the messages above)\n"), s->rejected);
	src_free(own, no);
	src_free(other, nx);
}

/*
 * The converge timer's daily digest: one line, English (journal MESSAGE
 * formats are never translated), on stdout and in the journal with
 * MAILSTAGE_ACTION=dmarc-digest; a warning when under 98 % passed or this
 * server's own addresses failed.
 */
static void digest(const struct report_set *s, long since_days, const char *where)
{
	struct src *own = NULL, *other = NULL;
	struct buf b = { 0 };
	size_t no = 0, nx = 0, i, shown = 0;
	long long m = 0, pass = 0;
	double rate;

	collect(s, &own, &no, &other, &nx, &m, &pass);
	rate = m ? 100.0 * (double)pass / (double)m : 0;
	if (!m) {
		buf_printf(&b, "DMARC digest: no reports in the last %ld days", since_days);
	} else {
		buf_printf(&b, "DMARC digest: %zu reports, %lld messages, %.1f%% passed DMARC; failing sources:", s->n,
			   m, rate);
		for (i = 0; i < no; i++, shown++)
			buf_printf(&b, "%s %s (%lld, this server)", shown ? "," : "", own[i].ip, own[i].failed);
		for (i = 0; i < nx; i++)
			if (other[i].failed && shown < 10)
				buf_printf(&b, "%s %s (%lld)", shown++ ? "," : "", other[i].ip, other[i].failed);
		if (!shown)
			buf_puts(&b, " none");
	}
	if (s->rejected)
		buf_printf(&b, "; %zu reports rejected", s->rejected);
	printf("%s\n", b.data);
	msg_journal(m && (rate < 98.0 || no) ? LOG_WARNING : LOG_INFO, NULL, NULL, "dmarc-digest", where, "%s",
		    b.data);
	buf_free(&b);
	src_free(own, no);
	src_free(other, nx);
}

int cmd_report(const struct run_opts *o, long since_days, int want_digest, char *const files[], size_t nfiles)
{
	struct report_set s = { 0 };
	struct run r;
	long long now = (long long)time(NULL);
	char *path = NULL, *why = NULL;
	size_t i;
	int rc = run_setup(&r, o, "report", 1), maildir = 0, missing = 0;

	if (rc != EXIT_OK)
		goto out;
	if (want_digest && !since_days)
		since_days = 1;
#ifdef MAILSTAGE_TEST_HOOKS
	if (getenv("MAILSTAGE_TEST_NOW"))
		now = atoll(getenv("MAILSTAGE_TEST_NOW"));
#endif
	if (nfiles == 0) {
		if (report_mailbox(&r.root, &r.cfg, r.prof, &path, &maildir, &why) < 0) {
			msg_error("%s", why);
			rc = EXIT_FAILED;
			goto out;
		}
		if (report_read_mailbox(&r.root, path, maildir, &s, &r.cfg, now, since_days, &missing, &why) < 0) {
			msg_error("%s", why);
			rc = EXIT_IOERR;
			goto out;
		}
		if (missing)
			msg_info(_("no reports yet: the DMARC mailbox %s does not exist"), path);
	}
	for (i = 0; i < nfiles; i++) {
		char *data = NULL;
		size_t len = 0;
		if (read_capped(files[i], 0, &data, &len, &why) < 0) {
			msg_error(_("%s: rejected: %s"), files[i], why);
			s.rejected++;
		} else {
			take_input(&s, data, len, files[i], 0, &r.cfg, now, since_days);
		}
		free(why);
		why = NULL;
		free(data);
	}
	for (i = 0; i < s.n && !want_digest; i++) {
		if (o->json) {
			char *j = dmarc_json(&s.v[i]);
			printf("%s\n", j);
			free(j);
		} else {
			print_report(&s.v[i]);
		}
	}
	if (want_digest)
		digest(&s, since_days, path ? path : (nfiles ? files[0] : NULL));
	else if (!o->json)
		print_summary(&s, &r.cfg);
	if (fflush(stdout) != 0) {
		msg_error(_("cannot write the report to standard output: %s"), strerror(errno));
		rc = EXIT_IOERR;
		goto out;
	}
	rc = s.rejected ? EXIT_FAILED : EXIT_OK;
out:
	report_set_free(&s);
	free(path);
	free(why);
	run_free(&r);
	return rc;
}
