/*
 * sakura.c - Sakura VPS API client and its JSON reader (see sakura.h).
 *
 * Requests follow the API reference (manual.sakura.ad.jp/vps/api/api-doc/,
 * and the clients generated from its OpenAPI document, e.g. the
 * sakura_vps_client_py ServerApi: "PUT /servers/{server_id}/ipv4-ptr",
 * "GET /servers/{server_id}/limitation", 429 "Retry-After -
 * リクエストが可能になるまでの秒数"): the key goes in "Authorization: Bearer
 * KEY", a body is JSON with "Content-Type: application/json", a success is
 * 2xx with a JSON body (or none), a failure 4xx/5xx with {"code","message"}.
 */
#include "sakura.h"
#include "i18n.h"
#include "lazylib.h"
#include "msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_KEY		512
#define MAX_BODY	(256 * 1024)	/* the answers are a few KiB */
#define MAX_TRIES	3

/* ---- HTTP ------------------------------------------------------------------ */

int sakura_url_ok(const char *url)
{
	const char *h, *e;
	char host[64];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n;

	if (!url || strlen(url) > 512 || strpbrk(url, " \t\r\n\"'\\?#"))
		return 0;
	if (strncmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/';
	if (strncmp(url, "http://", 7) != 0)
		return 0;
	/* http only to this machine: the key must not cross a network in clear */
	h = url + 7;
	if (*h == '[') {
		e = strchr(h, ']');
		if (!e || (n = (size_t)(e - h - 1)) >= sizeof(host))
			return 0;
		memcpy(host, h + 1, n);
		host[n] = '\0';
		return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	n = strcspn(h, ":/");
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int sakura_open(struct sakura *s, const struct root *root, const char *base, const char *key_file,
		const char *ca_file, long server_id, char **why)
{
	char *host = NULL, *data = NULL, *ca = NULL;
	size_t len = 0, i;
	struct stat st;
	int r;

	memset(s, 0, sizeof(*s));
	if (!base || !*base)
		base = SAKURA_API_DEFAULT;
	if (!sakura_url_ok(base)) {
		*why = xasprintf(_("sakura_api_url \"%s\" is not an https:// URL (http:// only to a loopback "
				   "address), e.g. %s"), base, SAKURA_API_DEFAULT);
		return -EINVAL;
	}
	r = root_resolve(root, key_file, &host, why);
	if (r < 0)
		goto out;
	if (lstat(host, &st) < 0) {
		r = -errno;
		*why = xasprintf(_("cannot read the Sakura API key file %s: %s"), key_file, strerror(errno));
		goto out;
	}
	/* root's (or, on a scratch root run unprivileged, the user's own) */
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077)) {
		r = -EACCES;
		*why = xasprintf(_("the Sakura API key file %s is mode %04o owned by uid %u: it must be a regular "
				   "file owned by root and readable by no one else; run `chown root:root %s && "
				   "chmod 600 %s`"), key_file, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
				 key_file, key_file);
		goto out;
	}
	r = root_read(root, key_file, MAX_KEY, &data, &len, why);
	if (r < 0)
		goto out;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		data[--len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)data[i] <= 0x20 || (unsigned char)data[i] >= 0x7f)
			break;
	if (len == 0 || i < len) {
		r = -EINVAL;
		*why = xasprintf(_("the Sakura API key file %s does not hold one API key (one line of printable "
				   "characters, as the control panel's API key page shows it)"), key_file);
		goto out;
	}
	if (ca_file) {
		r = root_resolve(root, ca_file, &ca, why);
		if (r < 0)
			goto out;
	}
	s->base = xstrdup(base);
	if (s->base[strlen(s->base) - 1] == '/')
		s->base[strlen(s->base) - 1] = '\0';
	s->key = data;
	data = NULL;
	s->key_file = xstrdup(key_file);
	s->ca_file = ca;
	s->ca_in_root = ca_file ? xstrdup(ca_file) : NULL;
	ca = NULL;
	s->server_id = server_id;
	s->timeout_s = 10;
	s->max_wait_s = 10;
	r = 0;
out:
	if (data) {
		memset(data, 0, len);
		free(data);
	}
	free(host);
	free(ca);
	return r;
}

void sakura_close(struct sakura *s)
{
	if (s->key) {
		memset(s->key, 0, strlen(s->key));
		free(s->key);
	}
	free(s->base);
	free(s->key_file);
	free(s->ca_file);
	free(s->ca_in_root);
	memset(s, 0, sizeof(*s));
}

struct answer {
	struct buf body;
	long retry_after;	/* seconds, -1 when absent */
	struct buf_sink sink;	/* into body, at most MAX_BODY */
};

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct answer *a = arg;
	size_t n = sz * nm;
	if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t k = n - 12 < sizeof(tmp) - 1 ? n - 12 : sizeof(tmp) - 1;
		char *end;
		long v;
		memcpy(tmp, p + 12, k);
		tmp[k] = '\0';
		v = strtol(tmp, &end, 10);
		/* delta-seconds only; an HTTP date is taken as "a while": the bound */
		a->retry_after = (end != tmp && v >= 0) ? v : 3600;
	}
	return n;
}

int sakura_request(struct sakura *s, const char *method, const char *path, const char *body, long *status,
		   struct buf *resp, char **why)
{
	char *url = NULL, *auth = NULL, *e = NULL;
	struct curl_slist *h = NULL;
	struct answer a;
	CURL *c = NULL;
	CURLcode cr;
	int r, tries;

	memset(&a, 0, sizeof(a));
	r = lazy_curl(&e);
	if (r < 0) {
		*why = e;
		return r;
	}
	url = xasprintf("%s%s", s->base, path);
	auth = xasprintf("Authorization: Bearer %s", s->key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	for (tries = 1;; tries++) {
		buf_free(&a.body);
		a.retry_after = -1;
		a.sink = (struct buf_sink){ .buf = &a.body, .max = MAX_BODY };
		c = curl_easy_init();
		if (!c) {
			r = -ENOMEM;
			*why = xasprintf(_("%s %s: cannot start libcurl"), method, url);
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		/* the scheme is checked by sakura_url_ok(); never follow a redirect elsewhere */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		if (body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		}
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_sink_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.sink);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)s->timeout_s);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)s->timeout_s);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		if (s->ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
		cr = curl_easy_perform(c);
		if (cr != CURLE_OK) {
			r = cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
			if (a.sink.too_big)
				*why = xasprintf(_("%s %s: the answer is larger than %d KiB"), method, url,
						 MAX_BODY >> 10);
			else if (r == -ETIMEDOUT)
				*why = xasprintf(_("%s %s: no answer within %d s (the API did not answer; "
						   "try again later)"), method, url, s->timeout_s);
			else
				*why = xasprintf("%s %s: %s", method, url, curl_easy_strerror(cr));
			goto out;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		curl_easy_cleanup(c);
		c = NULL;
		if (*status != 429 || tries >= MAX_TRIES)
			break;
		/* 100 requests a minute per account: wait as told, within the bound */
		{
			long w = a.retry_after < 0 ? 1 : a.retry_after;
			if (w > s->max_wait_s) {
				r = -EBUSY;
				*why = xasprintf(_("%s %s: the API's rate limit (100 requests a minute) asks to wait "
						   "%ld s, more than %d s; run mailstage again later"), method, url, w,
						 s->max_wait_s);
				goto out;
			}
			msg_info(_("%s %s: rate limited (429), retrying in %ld s"), method, path, w);
			sleep((unsigned)w);
		}
	}
	if (*status == 429) {
		r = -EBUSY;
		*why = xasprintf(_("%s %s: still rate limited (429) after %d tries; run mailstage again later"), method,
				 url, MAX_TRIES);
		goto out;
	}
	buf_append(&a.body, "", 1);
	a.body.len--;
	*resp = a.body;
	memset(&a.body, 0, sizeof(a.body));
	r = 0;
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(h);
	memset(auth, 0, strlen(auth));
	free(auth);
	free(url);
	buf_free(&a.body);
	return r;
}
