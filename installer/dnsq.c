/*
 * dnsq.c - bounded DNS lookups: libresolv (system resolver or one given
 * server, one attempt with a timeout) or DNS-over-HTTPS JSON via libcurl.
 */
#include "i18n.h"
#include "dnsq.h"
#include "lazylib.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dnsq_parse_server(const char *s)
{
	const char *colon = strrchr(s, ':');
	char addr[64];
	struct in_addr ia;
	long port;
	char *end;

	if (!colon || (size_t)(colon - s) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, addr, &ia) != 1)
		return -EINVAL;
	return 0;
}

char *dnsq_reverse_name(const char *addr)
{
	unsigned char b[16];
	struct buf o = { 0 };
	int i;

	if (inet_pton(AF_INET, addr, b) == 1)
		return xasprintf("%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
	if (inet_pton(AF_INET6, addr, b) != 1)
		return NULL;
	for (i = 15; i >= 0; i--)
		buf_printf(&o, "%x.%x.", b[i] & 15, b[i] >> 4);
	buf_puts(&o, "ip6.arpa");
	return buf_steal(&o);
}

static int parse_answer(const unsigned char *ans, int len, enum dnsq_type type, struct strv *out, char **why)
{
	ns_msg msg;
	ns_rr rr;
	int i, n;

	if (ns_initparse(ans, len, &msg) < 0) {
		*why = xstrdup("malformed DNS answer");
		return -EIO;
	}
	n = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < n; i++) {
		const unsigned char *rd;
		char name[NS_MAXDNAME];
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			continue;
		if ((int)ns_rr_type(rr) != (int)type)
			continue;
		rd = ns_rr_rdata(rr);
		switch (type) {
		case DNSQ_A:
		case DNSQ_AAAA: {
			char a[INET6_ADDRSTRLEN];
			if (ns_rr_rdlen(rr) == (type == DNSQ_A ? 4 : 16) &&
			    inet_ntop(type == DNSQ_A ? AF_INET : AF_INET6, rd, a, sizeof(a)))
				strv_push(out, a);
			break;
		}
		case DNSQ_MX:
			if (ns_rr_rdlen(rr) > 2 && dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 2, name,
							    sizeof(name)) >= 0) {
				char *s = xasprintf("%u %s", (rd[0] << 8) | rd[1], name);
				strv_push(out, s);
				free(s);
			}
			break;
		case DNSQ_PTR:
		case DNSQ_NS:
			if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd, name, sizeof(name)) >= 0)
				strv_push(out, name);
			break;
		case DNSQ_TXT: {
			struct buf t = { 0 };
			const unsigned char *p = rd, *e = rd + ns_rr_rdlen(rr);
			while (p < e && p + 1 + *p <= e) {
				buf_append(&t, p + 1, *p);
				p += 1 + *p;
			}
			if (!t.data)
				buf_append(&t, "", 0);
			strv_push(out, t.data);
			buf_free(&t);
			break;
		}
		}
	}
	return out->n ? 0 : -ENOENT;
}

static int lookup_res(const struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why)
{
	struct __res_state rs;
	unsigned char ans[8192];
	int len, r;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) < 0) {
		*why = xstrdup("cannot initialise the resolver (/etc/resolv.conf)");
		return -EIO;
	}
	rs.retrans = q->timeout_s > 0 ? q->timeout_s : 3;
	rs.retry = 1;
	if (q->server) {
		const char *colon = strrchr(q->server, ':');
		char addr[64];
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - q->server), q->server);
		memset(&rs.nsaddr_list[0], 0, sizeof(rs.nsaddr_list[0]));
		rs.nsaddr_list[0].sin_family = AF_INET;
		rs.nsaddr_list[0].sin_port = htons((unsigned short)atoi(colon + 1));
		inet_pton(AF_INET, addr, &rs.nsaddr_list[0].sin_addr);
		rs.nscount = 1;
		rs._u._ext.nscount = 0;
	}
	rs.res_h_errno = 0;
	len = res_nquery(&rs, name, ns_c_in, (int)type, ans, sizeof(ans));
	if (len < 0) {
		switch (rs.res_h_errno) {
		case HOST_NOT_FOUND:
		case NO_DATA:
			r = -ENOENT;
			break;
		case TRY_AGAIN:
			*why = xasprintf(_("no answer from %s within %d s"), q->server ? q->server : _("the system resolver"),
					 rs.retrans);
			r = -ETIMEDOUT;
			break;
		default:
			*why = xasprintf(_("lookup failed (%s)"), hstrerror(rs.res_h_errno));
			r = -EIO;
		}
	} else {
		r = parse_answer(ans, len, type, out, why);
	}
	res_nclose(&rs);
	return r;
}

/* ---- DNS-over-HTTPS (JSON, as served by Google and Cloudflare) ---- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* Extract every "data":"..." of the Answer array whose "type" matches. Minimal JSON reader. */
static void doh_answers(const char *json, int type, struct strv *out)
{
	const char *p = strstr(json, "\"Answer\"");
	while (p && (p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}'), *t = strstr(p, "\"type\""), *d = strstr(p, "\"data\"");
		if (!end)
			break;
		if (t && d && t < end && d < end && atoi(strchr(t, ':') + 1) == type) {
			const char *v = strchr(d + 6, '"');
			struct buf b = { 0 };
			for (v = v ? v + 1 : end; v < end && *v != '"'; v++) {
				if (*v == '\\' && v[1])
					v++;
				if (*v != '"' || v[-1] == '\\')
					buf_append(&b, v, 1);
			}
			if (!b.data)
				buf_append(&b, "", 0);
			/* TXT data comes quoted per string: "a" "b" -> ab */
			if (type == DNSQ_TXT) {
				struct buf j = { 0 };
				const char *s;
				int inq = 0;
				for (s = b.data; *s; s++) {
					if (*s == '"')
						inq = !inq;
					else if (inq || (*s != ' '))
						buf_append(&j, s, 1);
				}
				if (!j.data)
					buf_append(&j, "", 0);
				strv_push(out, j.data);
				buf_free(&j);
			} else {
				size_t l = b.len;
				if (l && b.data[l - 1] == '.')
					b.data[l - 1] = 0;
				strv_push(out, b.data);
			}
			buf_free(&b);
		}
		p = end + 1;
	}
}

static int lookup_doh(const struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why)
{
	CURL *c = lazy_curl(why) == 0 ? curl_easy_init() : NULL;
	struct curl_slist *h = NULL;
	struct buf body = { 0 };
	char *url, *ename;
	long code = 0;
	CURLcode cr;
	int r = 0;

	if (!c) {
		if (!*why)
			*why = xstrdup("cannot initialise libcurl");
		return -EIO;
	}
	ename = curl_easy_escape(c, name, 0);
	url = xasprintf("%s%sname=%s&type=%d", q->doh_url, strchr(q->doh_url, '?') ? "&" : "?", ename, type);
	curl_free(ename);
	h = curl_slist_append(h, "Accept: application/dns-json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(q->timeout_s > 0 ? q->timeout_s : 3));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(q->timeout_s > 0 ? q->timeout_s : 3));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		*why = xasprintf(_("DNS-over-HTTPS %s: %s"), q->doh_url, curl_easy_strerror(cr));
		r = cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || !body.data) {
		*why = xasprintf(_("DNS-over-HTTPS %s answered HTTP %ld"), q->doh_url, code);
		r = -EIO;
		goto out;
	}
	doh_answers(body.data, (int)type, out);
	r = out->n ? 0 : -ENOENT;
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	buf_free(&body);
	return r;
}

int dnsq_lookup(const struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why)
{
	*why = NULL;
	return q->doh_url ? lookup_doh(q, name, type, out, why) : lookup_res(q, name, type, out, why);
}
