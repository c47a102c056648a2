/*
 * dnsq.c - bounded DNS lookups: libresolv (system resolver or one given
 * server) or DNS-over-HTTPS JSON via libcurl, each ending within its bound
 * in total.  libresolv runs in a helper thread that is waited for until the
 * deadline and then left to finish on its own (res_nquery cannot be
 * interrupted, and resolv.conf's servers and attempts would multiply the
 * wait).  DoH resolves the URL's host once, with getaddrinfo_a under the
 * same bound, and gives libcurl the address (CURLOPT_RESOLVE), so libcurl
 * never resolves: its resolver thread, which it waits for whatever the
 * timeout, is never started.  One libcurl handle serves the whole run.
 */
#include "i18n.h"
#include "dnsq.h"
#include "lazylib.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dnsq_start(struct dnsq *q)
{
	q->deadline_ms = now_ms() + (long long)(q->timeout_s > 0 ? q->timeout_s : 3) * 1000;
}

/* The deadline of a lookup starting now: its check's, or its own. */
static long long lookup_deadline(const struct dnsq *q)
{
	return q->deadline_ms ? q->deadline_ms : now_ms() + (long long)(q->timeout_s > 0 ? q->timeout_s : 3) * 1000;
}

static int bound_s(const struct dnsq *q)
{
	return q->timeout_s > 0 ? q->timeout_s : 3;
}

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

static int is_loopback(const char *host)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, host, b) == 1)
		return b[0] == 127;
	return inet_pton(AF_INET6, host, b) == 1 && memcmp(b, in6addr_loopback.s6_addr, 16) == 0;
}

int dnsq_parse_doh_url(const char *url, char **host, int *port, int *literal)
{
	const char *p, *h, *he;
	unsigned char b[16];
	int tls, lit, prt;
	long n;
	char *name, *end;

	if (strncasecmp(url, "https://", 8) == 0)
		tls = 1, p = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		tls = 0, p = url + 7;
	else
		return -EINVAL;
	prt = tls ? 443 : 80;
	if (*p == '[') {
		h = p + 1;
		he = strchr(h, ']');
		if (!he)
			return -EINVAL;
		p = he + 1;
	} else {
		h = p;
		he = p + strcspn(p, ":/?#");
		p = he;
	}
	if (he == h || he - h > 253)
		return -EINVAL;
	if (*p == ':') {
		n = strtol(p + 1, &end, 10);
		if (end == p + 1 || n < 1 || n > 65535)
			return -EINVAL;
		prt = (int)n;
		p = end;
	}
	if (*p && *p != '/' && *p != '?')
		return -EINVAL;
	name = xstrndup(h, (size_t)(he - h));
	lit = inet_pton(AF_INET, name, b) == 1 || inet_pton(AF_INET6, name, b) == 1;
	if ((h[-1] == '[' && !lit) || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
	    strlen(name) || (!lit && strchr(name, ':')) || (!tls && !(lit && is_loopback(name)))) {
		free(name);
		return -EINVAL;
	}
	if (port)
		*port = prt;
	if (literal)
		*literal = lit;
	if (host)
		*host = name;
	else
		free(name);
	return 0;
}

/* Requests still running when their bound ended: kept here, never freed, for the process's life. */
static struct gaicb *abandoned[64];
static unsigned n_abandoned;

int dnsq_getaddrinfo(const char *host, const char *port, int socktype, int timeout_ms, struct addrinfo **res,
		     char **why)
{
	struct gaicb *g = xcalloc(1, sizeof(*g));
	struct addrinfo *hints = xcalloc(1, sizeof(*hints));
	struct gaicb *list[1] = { g };
	long long end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int e;

	*res = NULL;
	*why = NULL;
	hints->ai_socktype = socktype;
	g->ar_name = xstrdup(host);
	g->ar_service = port ? xstrdup(port) : NULL;
	g->ar_request = hints;
	e = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (e != 0) {
		*why = xasprintf(_("cannot resolve %s: %s"), host, gai_strerror(e));
		e = -EIO;
		goto out;
	}
	while ((e = gai_error(g)) == EAI_INPROGRESS) {
		long long left = end - now_ms();
		struct timespec ts;
		if (left <= 0)
			break;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	if (e == EAI_INPROGRESS && gai_cancel(g) != EAI_CANCELED && gai_error(g) == EAI_INPROGRESS) {
		/* Still running in glibc's thread, which owns g until it ends: never freed. */
		if (n_abandoned < sizeof(abandoned) / sizeof(abandoned[0]))
			abandoned[n_abandoned++] = g;
		*why = xasprintf(_("cannot resolve %s within %d s (no answer from the system resolver)"), host,
				 (timeout_ms + 999) / 1000);
		return -ETIMEDOUT;
	}
	e = gai_error(g);
	if (e == 0) {
		*res = g->ar_result;
	} else {
		*why = e == EAI_CANCELED ? xasprintf(_("cannot resolve %s within %d s (no answer from the system resolver)"),
						      host, (timeout_ms + 999) / 1000) :
					   xasprintf(_("cannot resolve %s: %s"), host, gai_strerror(e));
		e = e == EAI_CANCELED ? -ETIMEDOUT : -ENOENT;
	}
out:
	free((char *)g->ar_name);
	free((char *)g->ar_service);
	free(hints);
	free(g);
	return e;
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

int dnsq_caa_rdata(const unsigned char *rd, size_t n, char **out)
{
	struct buf b = { 0 };
	size_t tl, i;

	*out = NULL;
	if (!rd || n < 2)
		return -EINVAL;
	tl = rd[1];
	if (tl < 1 || tl > 15 || 2 + tl > n)
		return -EINVAL;
	for (i = 0; i < tl; i++) {
		unsigned char ch = rd[2 + i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
			return -EINVAL;
	}
	buf_printf(&b, "%u %.*s \"", rd[0], (int)tl, (const char *)rd + 2);
	for (i = 2 + tl; i < n; i++) {
		unsigned char ch = rd[i];
		if (ch == '"' || ch == '\\')
			buf_printf(&b, "\\%c", ch);
		else if (ch < 0x20 || ch > 0x7e)
			buf_printf(&b, "\\%03u", ch);
		else
			buf_append(&b, &rd[i], 1);
	}
	buf_puts(&b, "\"");
	*out = buf_steal(&b);
	return 0;
}

static int hexval(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
	       ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

int dnsq_generic_rdata(const char *s, unsigned char **rd, size_t *n)
{
	unsigned char *v;
	char *end;
	long len;
	size_t k = 0;

	*rd = NULL;
	*n = 0;
	if (strncmp(s, "\\# ", 3) != 0)
		return -EINVAL;
	len = strtol(s + 3, &end, 10);
	if (end == s + 3 || len < 0 || len > 65535)
		return -EINVAL;
	v = xmalloc((size_t)len + 1);
	for (s = end; *s; ) {
		int h, l;
		if (*s == ' ') {
			s++;
			continue;
		}
		h = hexval(s[0]);
		l = h < 0 ? -1 : hexval(s[1]);
		if (l < 0 || k == (size_t)len) {
			free(v);
			return -EINVAL;
		}
		v[k++] = (unsigned char)(h << 4 | l);
		s += 2;
	}
	if (k != (size_t)len) {
		free(v);
		return -EINVAL;
	}
	*rd = v;
	*n = k;
	return 0;
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
		case DNSQ_CAA: {
			char *c = NULL;
			if (dnsq_caa_rdata(rd, ns_rr_rdlen(rr), &c) == 0)
				strv_push(out, c);
			free(c);
			break;
		}
		}
	}
	return out->n ? 0 : -ENOENT;
}

/*
 * One libresolv query, run by a helper thread.  Two references: the
 * thread's and the waiter's; the last one to let go frees it, so a waiter
 * that gave up at its deadline leaves the thread to end on its own.
 */
struct res_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs, done;
	char *name, *server;
	int type, retrans, init_failed, len, herr;
	unsigned char ans[8192];
};

static void job_release(struct res_job *j)
{
	int left;
	pthread_mutex_lock(&j->mu);
	left = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (left)
		return;
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j->name);
	free(j->server);
	free(j);
}

static void *res_worker(void *arg)
{
	struct res_job *j = arg;
	struct __res_state rs;
	int len = -1, herr = 0, failed = 0;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) < 0) {
		failed = 1;
	} else {
		rs.retrans = j->retrans;
		rs.retry = 1;
		if (j->server) {
			const char *colon = strrchr(j->server, ':');
			char addr[64];
			snprintf(addr, sizeof(addr), "%.*s", (int)(colon - j->server), j->server);
			memset(&rs.nsaddr_list[0], 0, sizeof(rs.nsaddr_list[0]));
			rs.nsaddr_list[0].sin_family = AF_INET;
			rs.nsaddr_list[0].sin_port = htons((unsigned short)atoi(colon + 1));
			inet_pton(AF_INET, addr, &rs.nsaddr_list[0].sin_addr);
			rs.nscount = 1;
			rs._u._ext.nscount = 0;
		}
		rs.res_h_errno = 0;
		len = res_nquery(&rs, j->name, ns_c_in, j->type, j->ans, sizeof(j->ans));
		herr = rs.res_h_errno;
		res_nclose(&rs);
	}
	pthread_mutex_lock(&j->mu);
	j->len = len;
	j->herr = herr;
	j->init_failed = failed;
	j->done = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_release(j);
	return NULL;
}

static int lookup_res(const struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why)
{
	struct res_job *j = xcalloc(1, sizeof(*j));
	long long end = lookup_deadline(q), left = end - now_ms();
	const char *who = q->server ? q->server : _("the system resolver");
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t t;
	struct timespec abs;
	int r, done, started;

	if (left <= 0) {
		free(j);
		*why = xasprintf(_("not asked: the %d s bound of this check was used up"), bound_s(q));
		return -ETIMEDOUT;
	}
	if (lazy_resolv(why) < 0) {
		free(j);
		return -EIO;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&j->mu, NULL);
	j->name = xstrdup(name);
	j->server = q->server ? xstrdup(q->server) : NULL;
	j->type = (int)type;
	j->retrans = (int)((left + 999) / 1000);
	j->refs = 2;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	started = pthread_create(&t, &ta, res_worker, j) == 0;
	pthread_attr_destroy(&ta);
	if (!started) {
		j->refs = 1;
		job_release(j);
		*why = xstrdup(_("cannot start a thread for the lookup (out of resources?)"));
		return -EIO;
	}
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_sec += (time_t)(left / 1000);
	abs.tv_nsec += (long)(left % 1000) * 1000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->done && pthread_cond_timedwait(&j->cv, &j->mu, &abs) == 0)
		;
	done = j->done;
	pthread_mutex_unlock(&j->mu);
	if (!done) {
		*why = xasprintf(_("no answer from %s within %d s"), who, bound_s(q));
		r = -ETIMEDOUT;
	} else if (j->init_failed) {
		*why = xstrdup("cannot initialise the resolver (/etc/resolv.conf)");
		r = -EIO;
	} else if (j->len < 0) {
		switch (j->herr) {
		case HOST_NOT_FOUND:
		case NO_DATA:
			r = -ENOENT;
			break;
		case TRY_AGAIN:
			*why = xasprintf(_("no answer from %s within %d s"), who, bound_s(q));
			r = -ETIMEDOUT;
			break;
		default:
			*why = xasprintf(_("lookup failed (%s)"), hstrerror(j->herr));
			r = -EIO;
		}
	} else {
		r = parse_answer(j->ans, j->len, type, out, why);
	}
	job_release(j);
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
			} else if (type == DNSQ_CAA) {
				/* presentation form as it is, or RFC 3597's generic form made into it */
				unsigned char *rd = NULL;
				size_t rl = 0;
				char *c = NULL;
				if (strncmp(b.data, "\\# ", 3) != 0)
					strv_push(out, b.data);
				else if (dnsq_generic_rdata(b.data, &rd, &rl) == 0 && dnsq_caa_rdata(rd, rl, &c) == 0)
					strv_push(out, c);
				free(rd);
				free(c);
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

/* The run's DoH handle: the URL's host resolved once within the bound, libcurl told its address. */
static int doh_setup(struct dnsq *q, long long end, char **why)
{
	struct addrinfo *ai = NULL;
	char *host = NULL, *w = NULL, addr[INET6_ADDRSTRLEN];
	int port = 0, literal = 0, r;
	CURL *c;

	if (q->doh_err)
		goto sticky;
	if (q->curl)
		return 0;
	if (dnsq_parse_doh_url(q->doh_url, &host, &port, &literal) < 0) {
		q->doh_err = xasprintf(_("DNS-over-HTTPS %s: not an https:// URL"), q->doh_url);
		goto sticky;
	}
	if (lazy_curl(&w) < 0) {
		q->doh_err = w ? w : xstrdup("cannot load libcurl");
		w = NULL;
		goto sticky;
	}
	if (!literal) {
		long long left = end - now_ms();
		r = dnsq_getaddrinfo(host, NULL, SOCK_STREAM, left > 0 ? (int)left : 0, &ai, &w);
		if (r < 0 || getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0) {
			q->doh_err = xasprintf(_("DNS-over-HTTPS %s: %s; no DNS record was asked (give the server by "
						 "address, e.g. --doh https://8.8.8.8/resolve)"), q->doh_url,
					       w ? w : host);
			q->doh_err_rc = r == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
			goto sticky;
		}
		{
			char *entry = xasprintf("%s:%d:%s", host, port, addr);
			q->curl_resolve = curl_slist_append(NULL, entry);
			free(entry);
		}
	}
	c = curl_easy_init();
	if (!c) {
		q->doh_err = xstrdup("cannot initialise libcurl");
		goto sticky;
	}
	q->curl_hdr = curl_slist_append(NULL, "Accept: application/dns-json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->curl_hdr);
	if (q->curl_resolve)
		curl_easy_setopt(c, CURLOPT_RESOLVE, q->curl_resolve);	/* 7.21.3 */
	curl_easy_setopt(c, CURLOPT_DNS_CACHE_TIMEOUT, -1L);		/* the entry above never expires */
	curl_easy_setopt(c, CURLOPT_PROXY, "");			/* no proxy name to resolve */
	/* The scheme was checked (dnsq_parse_doh_url); redirects are not followed (the default). */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	q->curl = c;
	goto out;
sticky:
	*why = xstrdup(q->doh_err);
	r = q->doh_err_rc ? q->doh_err_rc : -EIO;
	free(host);
	free(w);
	if (ai)
		freeaddrinfo(ai);
	return r;
out:
	free(host);
	free(w);
	if (ai)
		freeaddrinfo(ai);
	return 0;
}

static int lookup_doh(struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why)
{
	long long end = lookup_deadline(q), left;
	struct buf body = { 0 };
	char *url = NULL, *ename;
	long code = 0;
	CURLcode cr;
	int r;

	r = doh_setup(q, end, why);
	if (r < 0)
		return r;
	left = end - now_ms();
	if (left <= 0) {
		*why = xasprintf(_("not asked: the %d s bound of this check was used up"), bound_s(q));
		return -ETIMEDOUT;
	}
	ename = curl_easy_escape(q->curl, name, 0);
	url = xasprintf("%s%sname=%s&type=%d", q->doh_url, strchr(q->doh_url, '?') ? "&" : "?", ename, type);
	curl_free(ename);
	curl_easy_setopt(q->curl, CURLOPT_URL, url);
	curl_easy_setopt(q->curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(q->curl, CURLOPT_TIMEOUT_MS, (long)left);		/* 7.16.2 */
	curl_easy_setopt(q->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
	cr = curl_easy_perform(q->curl);
	if (cr != CURLE_OK) {
		*why = xasprintf(_("DNS-over-HTTPS %s: %s"), q->doh_url, curl_easy_strerror(cr));
		r = cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		/* An endpoint that never answered in a whole bound is not asked again in this run. */
		if (!q->doh_answered && r == -ETIMEDOUT && left >= (long long)bound_s(q) * 1000 - 100) {
			q->doh_err = xasprintf(_("DNS-over-HTTPS %s: timed out: no answer within %d s, not asked again"),
					       q->doh_url, bound_s(q));
			q->doh_err_rc = -ETIMEDOUT;
		}
		goto out;
	}
	curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || !body.data) {
		*why = xasprintf(_("DNS-over-HTTPS %s answered HTTP %ld"), q->doh_url, code);
		r = -EIO;
		goto out;
	}
	q->doh_answered = 1;
	doh_answers(body.data, (int)type, out);
	r = out->n ? 0 : -ENOENT;
out:
	curl_easy_setopt(q->curl, CURLOPT_WRITEDATA, NULL);
	free(url);
	buf_free(&body);
	return r;
}

void dnsq_free(struct dnsq *q)
{
	if (q->curl)
		curl_easy_cleanup(q->curl);
	if (q->curl_hdr)
		curl_slist_free_all(q->curl_hdr);
	if (q->curl_resolve)
		curl_slist_free_all(q->curl_resolve);
	free(q->doh_err);
	q->curl = q->curl_hdr = q->curl_resolve = NULL;
	q->doh_err = NULL;
}

int dnsq_lookup(struct dnsq *q, const char *name, enum dnsq_type type, struct strv *out, char **why)
{
	*why = NULL;
	return q->doh_url ? lookup_doh(q, name, type, out, why) : lookup_res(q, name, type, out, why);
}
