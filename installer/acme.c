/*
 * acme.c - the ACME (RFC 8555) client of the tls stage (see acme.h).
 *
 * Requests: a JWS in the flattened JSON serialization (RFC 8555 6.2), the
 * protected header {"alg":"ES256","nonce","url", "jwk" for newAccount and
 * "kid" (the account URL) after}, the signature r||s of 64 bytes (RFC 7518
 * 3.4, not DER); POST-as-GET has the empty payload.  Each request has its
 * own timeout; a badNonce answer is retried with the nonce it carries (at
 * most 3 times); polling honours Retry-After (1 s when absent) until the
 * object's own deadline.  The http-01 answer is served by a child process
 * bound to the port before the challenge is told to go, killed by pid and
 * reaped when the authorization is settled, whatever the outcome.
 * Renewal information (RFC 9773) is an unauthenticated GET of
 * {renewalInfo}/{CertID}, the CertID made from the certificate's AKI and
 * serial (crypto_cert_ari_parts), each request within the caller's timeout.
 */
#include "acme.h"
#include "crypto.h"
#include "i18n.h"
#include "json.h"
#include "lazylib.h"
#include "msg.h"
#include "util.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY	(1024 * 1024)	/* a chain is a few KiB */
#define MAX_NONCE_TRIES	3
#define ERR_PREFIX	"urn:ietf:params:acme:error:"

/* ---- the pure parts ------------------------------------------------------- */

char *acme_b64url(const void *data, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	char *out = xmalloc(n / 3 * 4 + 5), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = tab[p[i + 2] & 63];
	}
	if (n - i == 1) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		*o++ = tab[p[i] >> 2];
		*o++ = tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tab[(p[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

char *acme_jwk(const unsigned char x[32], const unsigned char y[32])
{
	char *bx = acme_b64url(x, 32), *by = acme_b64url(y, 32);
	char *j = xasprintf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", bx, by);
	free(bx);
	free(by);
	return j;
}

char *acme_thumbprint(const char *jwk)
{
	unsigned char md[32];
	if (crypto_sha256(jwk, strlen(jwk), md) < 0)
		return NULL;
	return acme_b64url(md, sizeof(md));
}

/* A string member of a JSON object, or NULL. */
static char *jstr(const char *s, size_t n, const char *path)
{
	struct jspan v;
	if (json_get(s, n, path, &v) < 0)
		return NULL;
	return json_string(v);
}

/* Only printable ASCII and UTF-8 of a server's text (no control characters into the terminal). */
static void tame(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

char *acme_problem(const char *body, size_t n)
{
	char *type, *detail, *line;
	const char *t;
	struct buf b = { 0 };
	struct jspan subs, e;
	size_t pos = 0;

	if (!body || json_valid(body, n) < 1)
		return NULL;
	type = jstr(body, n, "type");
	if (!type)
		return NULL;
	detail = jstr(body, n, "detail");
	t = strncmp(type, ERR_PREFIX, strlen(ERR_PREFIX)) == 0 ? type + strlen(ERR_PREFIX) : type;
	buf_printf(&b, "%s: %s", t, detail && *detail ? detail : _("no detail given"));
	if (json_get(body, n, "subproblems", &subs) == 0 && json_kind(subs) == 'a') {
		while (json_array_next(subs, &pos, &e) == 1) {
			char *d = jstr(e.p, e.n, "detail");
			if (d && *d)
				buf_printf(&b, "; %s", d);
			free(d);
		}
	}
	line = buf_steal(&b);
	tame(line);
	free(type);
	free(detail);
	return line;
}

const char *acme_problem_fix(const char *line)
{
	static const struct {
		const char *type;
		const char *fix;
	} fixes[] = {
		{ "connection", N_("the CA could not reach http://HOST/.well-known/acme-challenge/ on port 80: check that "
				   "the host name's A/AAAA record points to this server and that port 80/tcp is open "
				   "in firewalld (service http) and, on Sakura VPS, in the control panel's packet "
				   "filter") },
		{ "incorrectResponse", N_("the CA reached port 80 but another server answered: stop the web server "
					  "or proxy on port 80 of the address the A record names, or point the "
					  "record at this server") },
		{ "unauthorized", N_("the CA got a wrong answer or none: check that the host name's A/AAAA records "
				     "point to this server only and that port 80 reaches it") },
		{ "dns", N_("the CA cannot resolve the host name: publish its A record (mailstage dns shows it) "
			    "and wait until the authoritative servers answer it") },
		{ "unknownHost", N_("the CA cannot resolve the host name: publish its A record") },
		{ "caa", N_("a CAA record of the domain forbids this CA: publish the CAA record mailstage dns "
			    "shows, or remove the forbidding one") },
		{ "rateLimited", N_("the CA's rate limit was reached (Let's Encrypt: 5 certificates for the same "
				    "name a week, 5 failed validations an hour): wait, then run mailstage apply "
				    "again") },
		{ "rejectedIdentifier", N_("the CA does not issue for this name: hostname must be a public DNS "
					   "name") },
		{ "invalidContact", N_("the CA refuses acme_email: set it to a working address on a public domain") },
		{ "unsupportedContact", N_("the CA refuses acme_email: set it to a working address on a public domain") },
		{ "userActionRequired", N_("the CA's terms of service changed: read them at the CA, then run "
					   "mailstage apply again") },
		{ "serverInternal", N_("the CA failed on its side: run mailstage apply again later") },
		{ "badNonce", N_("the CA kept refusing the replay nonce: run mailstage apply again") },
	};
	size_t i, l;

	if (!line)
		return NULL;
	for (i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++) {
		l = strlen(fixes[i].type);
		if (strncmp(line, fixes[i].type, l) == 0 && line[l] == ':')
			return _(fixes[i].fix);
	}
	return NULL;
}

long acme_retry_after(const char *v, long bound)
{
	char *end;
	long n;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!*v)
		return -1;
	if (*v < '0' || *v > '9')
		return bound;	/* an HTTP date: "a while", the bound */
	n = strtol(v, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end)
		return -1;
	return n < 0 ? 0 : n > bound ? bound : n;
}

int acme_directory_parse(const char *body, size_t n, char **new_nonce, char **new_account, char **new_order)
{
	*new_nonce = *new_account = *new_order = NULL;
	if (!body || json_valid(body, n) < 1)
		return -EPROTO;
	*new_nonce = jstr(body, n, "newNonce");
	*new_account = jstr(body, n, "newAccount");
	*new_order = jstr(body, n, "newOrder");
	if (*new_nonce && *new_account && *new_order && strncmp(*new_nonce, "https://", 8) == 0 &&
	    strncmp(*new_account, "https://", 8) == 0 && strncmp(*new_order, "https://", 8) == 0)
		return 0;
	free(*new_nonce);
	free(*new_account);
	free(*new_order);
	*new_nonce = *new_account = *new_order = NULL;
	return -EPROTO;
}

char *acme_directory_renewal_info(const char *body, size_t n)
{
	char *u;
	if (!body || json_valid(body, n) < 1)
		return NULL;
	u = jstr(body, n, "renewalInfo");
	if (u && strncmp(u, "https://", 8) != 0) {
		free(u);
		u = NULL;
	}
	return u;
}

char *acme_cert_id(const unsigned char *aki, size_t aki_len, const unsigned char *serial, size_t serial_len)
{
	char *a = acme_b64url(aki, aki_len), *b = acme_b64url(serial, serial_len);
	char *id = xasprintf("%s.%s", a, b);
	free(a);
	free(b);
	return id;
}

int acme_cert_id_of(const char *cert_pem, size_t len, char **id)
{
	unsigned char *aki = NULL, *sn = NULL;
	size_t al = 0, sl = 0;
	int r = crypto_cert_ari_parts(cert_pem, len, &aki, &al, &sn, &sl);

	*id = NULL;
	if (r == 0)
		*id = acme_cert_id(aki, al, sn, sl);
	free(aki);
	free(sn);
	return r;
}

/* n decimal digits at s into *v: 0 or -EINVAL. */
static int digits(const char *s, int n, int *v)
{
	int i;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int acme_rfc3339(const char *s, time_t *t)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;
	time_t v;

	if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;	/* a leap second: the second before it */
	v = timegm(&tm);
	if (v == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return -EINVAL;
	*t = v - sign * (time_t)(oh * 3600 + om * 60);
	return 0;
}

int acme_renewal_info_parse(const char *body, size_t n, time_t *start, time_t *end, char **explanation)
{
	char *a = NULL, *b = NULL;
	int r = -EPROTO;

	*explanation = NULL;
	if (!body || json_valid(body, n) < 1)
		return -EPROTO;
	a = jstr(body, n, "suggestedWindow.start");
	b = jstr(body, n, "suggestedWindow.end");
	if (a && b && acme_rfc3339(a, start) == 0 && acme_rfc3339(b, end) == 0 && *end > *start) {
		*explanation = jstr(body, n, "explanationURL");
		tame(*explanation);
		r = 0;
	}
	free(a);
	free(b);
	return r;
}

time_t acme_ari_point(const char *cert_id, time_t start, time_t end)
{
	unsigned char md[32];
	unsigned long long h = 0, span;
	int i;

	if (end <= start)
		return start;
	span = (unsigned long long)(end - start);
	if (crypto_sha256(cert_id, strlen(cert_id), md) < 0)
		return start;	/* no libcrypto: the window's start, still inside it */
	for (i = 0; i < 8; i++)
		h = (h << 8) | md[i];
	return start + (time_t)(h % span);
}

/* ---- HTTP ------------------------------------------------------------------ */

struct answer {
	struct buf body;
	struct buf_sink sink;	/* into body, at most MAX_BODY */
	long status;
	char *nonce, *location, *retry_after;
};

struct client {
	const struct acme_opts *o;
	char *nonce;
	char *new_nonce, *new_account, *new_order;
	char *jwk, *thumb, *kid;
};

static void answer_free(struct answer *a)
{
	buf_free(&a->body);
	free(a->nonce);
	free(a->location);
	free(a->retry_after);
	memset(a, 0, sizeof(*a));
}

/* The value of header `name` in line p[0..n), trimmed, or NULL. */
static char *header_value(const char *p, size_t n, const char *name)
{
	size_t l = strlen(name), s, e;
	if (n <= l + 1 || strncasecmp(p, name, l) != 0 || p[l] != ':')
		return NULL;
	for (s = l + 1; s < n && (p[s] == ' ' || p[s] == '\t'); s++)
		;
	for (e = n; e > s && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '); e--)
		;
	return xstrndup(p + s, e - s);
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct answer *a = arg;
	size_t n = sz * nm;
	char *v;
	if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {	/* a new response (100 Continue, ...) */
		free(a->nonce), free(a->location), free(a->retry_after);
		a->nonce = a->location = a->retry_after = NULL;
	}
	if ((v = header_value(p, n, "Replay-Nonce")))
		free(a->nonce), a->nonce = v;
	else if ((v = header_value(p, n, "Location")))
		free(a->location), a->location = v;
	else if ((v = header_value(p, n, "Retry-After")))
		free(a->retry_after), a->retry_after = v;
	return n;
}

/* GET (body NULL, head 0), HEAD (head 1) or POST a JOSE body; a->status and the rest. */
static int http(struct client *cl, const char *url, const char *body, int head, const char *accept,
		struct answer *a, char **why)
{
	struct curl_slist *h = NULL;
	CURL *c;
	CURLcode cr;
	char *accept_h = NULL;
	int r = 0;

	memset(a, 0, sizeof(*a));
	if (strncmp(url, "https://", 8) != 0) {
		*why = xasprintf(_("ACME: %s is not an https:// URL"), url);
		return -EPROTO;
	}
	c = curl_easy_init();
	if (!c) {
		*why = xasprintf(_("ACME: cannot start libcurl"));
		return -ENOMEM;
	}
	accept_h = xasprintf("Accept: %s", accept ? accept : "application/json");
	h = curl_slist_append(h, accept_h);
	if (body)
		h = curl_slist_append(h, "Content-Type: application/jose+json");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mailstage/" MAILSTAGE_VERSION);
	if (head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	a->sink.buf = &a->body;
	a->sink.max = MAX_BODY;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cl->o->timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)cl->o->timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cl->o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cl->o->ca_file);
	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		r = cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		if (a->sink.too_big)
			*why = xasprintf(_("ACME: %s: the answer is larger than %d KiB"), url, MAX_BODY >> 10);
		else if (r == -ETIMEDOUT)
			*why = xasprintf(_("ACME: %s: no answer within %d s; check the network, or try again later"),
					 url, cl->o->timeout_s);
		else
			*why = xasprintf(_("ACME: %s: %s (acme_directory and acme_ca_file must name a server this "
					   "host reaches and trusts)"), url, curl_easy_strerror(cr));
		answer_free(a);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	buf_append(&a->body, "", 1);
	a->body.len--;
	if (a->nonce) {
		free(cl->nonce);
		cl->nonce = xstrdup(a->nonce);
	}
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(accept_h);
	return r;
}

/* The server's problem as *why, with its fix; -EPROTO. */
static int refused(struct answer *a, const char *what, const char *hostname, char **why)
{
	char *p = acme_problem(a->body.data, a->body.len);
	const char *fix = acme_problem_fix(p);
	char *f = NULL;

	if (fix) {
		const char *h = strstr(fix, "HOST");
		f = h ? xasprintf("%.*s%s%s", (int)(h - fix), fix, hostname, h + 4) : xstrdup(fix);
	}
	if (p)
		*why = f ? xasprintf(_("ACME %s refused: %s; %s"), what, p, f)
			 : xasprintf(_("ACME %s refused: %s"), what, p);
	else
		*why = xasprintf(_("ACME %s: unexpected answer %ld from the server"), what, a->status);
	free(p);
	free(f);
	return -EPROTO;
}

/* Is the answer the ACME problem urn:ietf:params:acme:error:TYPE? */
static int is_problem(struct answer *a, const char *type)
{
	char *t;
	int r;
	if (a->status < 400 || json_valid(a->body.data, a->body.len) < 1)
		return 0;
	t = jstr(a->body.data, a->body.len, "type");
	r = t && strncmp(t, ERR_PREFIX, strlen(ERR_PREFIX)) == 0 && strcmp(t + strlen(ERR_PREFIX), type) == 0;
	free(t);
	return r;
}

static int is_bad_nonce(struct answer *a)
{
	return a->status == 400 && is_problem(a, "badNonce");
}

static int fresh_nonce(struct client *cl, char **why)
{
	struct answer a;
	int r = http(cl, cl->new_nonce, NULL, 1, NULL, &a, why);
	if (r == 0 && !a.nonce) {
		*why = xasprintf(_("ACME: %s gave no Replay-Nonce"), cl->new_nonce);
		r = -EPROTO;
	}
	answer_free(&a);
	return r;
}

/* POST a JWS of payload (NULL: POST-as-GET) to url, signed with the account key. */
static int post(struct client *cl, const char *url, const char *payload, const char *accept, struct answer *a,
		char **why)
{
	const struct acme_opts *o = cl->o;
	int tries, r = 0;

	for (tries = 1; tries <= MAX_NONCE_TRIES; tries++) {
		char *uq, *prot, *bp, *bl, *input, *bs, *body;
		unsigned char sig[64];

		if (!cl->nonce && (r = fresh_nonce(cl, why)) < 0)
			return r;
		uq = json_quote(url);
		{
			char *nq = json_quote(cl->nonce), *kq = cl->kid ? json_quote(cl->kid) : NULL;
			prot = cl->kid ? xasprintf("{\"alg\":\"ES256\",\"kid\":%s,\"nonce\":%s,\"url\":%s}", kq, nq, uq)
				       : xasprintf("{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":%s,\"url\":%s}", cl->jwk, nq, uq);
			free(nq);
			free(kq);
		}
		free(cl->nonce);
		cl->nonce = NULL;	/* each nonce once */
		bp = acme_b64url(prot, strlen(prot));
		bl = acme_b64url(payload ? payload : "", payload ? strlen(payload) : 0);
		input = xasprintf("%s.%s", bp, bl);
		r = crypto_es256_sign(o->account_key, o->account_key_len, input, strlen(input), sig);
		if (r < 0) {
			*why = xasprintf(_("ACME: cannot sign with the account key (%s)"), strerror(-r));
			free(uq), free(prot), free(bp), free(bl), free(input);
			return r;
		}
		bs = acme_b64url(sig, sizeof(sig));
		body = xasprintf("{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", bp, bl, bs);
		r = http(cl, url, body, 0, accept, a, why);
		free(uq), free(prot), free(bp), free(bl), free(input), free(bs), free(body);
		if (r < 0 || !is_bad_nonce(a) || tries == MAX_NONCE_TRIES)
			return r;
		msg_verbose("ACME: badNonce from %s, retrying", url);
		answer_free(a);
	}
	return r;
}

/* ---- the http-01 answer ------------------------------------------------------ */

/* Serve one connection: the key authorization for the token's path, 404 otherwise. */
static void serve_one(int fd, const char *path, const char *keyauth)
{
	char req[2048], *resp;
	size_t n = 0, pl = strlen(path);
	struct timeval tv = { 5, 0 };
	ssize_t k;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1 && (k = read(fd, req + n, sizeof(req) - 1 - n)) > 0) {
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[n] = '\0';
	if (n > 4 + pl && strncmp(req, "GET ", 4) == 0 && strncmp(req + 4, path, pl) == 0 && req[4 + pl] == ' ')
		resp = xasprintf("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s", strlen(keyauth), keyauth);
	else
		resp = xstrdup("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	if (write(fd, resp, strlen(resp)) < 0) {
		/* the validator went away: nothing to do */
	}
	free(resp);
}

static int listen_port(int port, char **why)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	int fd, one = 1, zero = 0;

	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons((unsigned short)port);
	a6.sin6_addr = in6addr_any;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0 && listen(fd, 16) == 0)
			return fd;
		if (errno == EADDRINUSE)
			goto busy;
		close(fd);
	}
	/* no IPv6 here: IPv4 only */
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons((unsigned short)port);
	a4.sin_addr.s_addr = htonl(INADDR_ANY);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = xasprintf(_("ACME: cannot open a socket for port %d: %s"), port, strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0 && listen(fd, 16) == 0)
		return fd;
	if (errno == EADDRINUSE)
		goto busy;
	*why = xasprintf(_("ACME: cannot listen on port %d for the http-01 challenge: %s"), port, strerror(errno));
	close(fd);
	return -EIO;
busy:
	close(fd);
	*why = xasprintf(_("ACME: port %d is in use by another program: the http-01 challenge needs it for a "
			   "few seconds; stop the web server during mailstage apply (or use tls_cert/tls_key "
			   "with a certificate it obtains)"), port);
	return -EADDRINUSE;
}

/* Start the answering child: 0 with *pid. */
static int answer_start(int port, const char *token, const char *keyauth, pid_t *pid, char **why)
{
	char *path;
	int fd = listen_port(port, why);
	pid_t p;

	if (fd < 0)
		return fd;
	path = xasprintf("/.well-known/acme-challenge/%s", token);
	p = fork();
	if (p < 0) {
		*why = xasprintf(_("ACME: cannot start the http-01 answer: %s"), strerror(errno));
		close(fd);
		free(path);
		return -EIO;
	}
	if (p == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		for (;;) {
			int c = accept(fd, NULL, NULL);
			if (c < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				_exit(1);
			}
			serve_one(c, path, keyauth);
			close(c);
		}
	}
	close(fd);
	free(path);
	*pid = p;
	return 0;
}

static void answer_stop(pid_t pid)
{
	int st;
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* ---- the order --------------------------------------------------------------- */

static void wait_retry(struct answer *a, time_t deadline)
{
	long w = acme_retry_after(a->retry_after, 10);
	time_t now = time(NULL);
	if (w < 1)
		w = 1;
	if (now + w > deadline)
		w = deadline > now ? (long)(deadline - now) : 0;
	if (w > 0)
		sleep((unsigned)w);
}

/* The http-01 challenge's error of an authorization, as *why; -EPROTO. */
static int challenge_failed(struct answer *a, const char *hostname, char **why)
{
	struct jspan chs, ch, err;
	size_t pos = 0;

	if (json_get(a->body.data, a->body.len, "challenges", &chs) == 0 && json_kind(chs) == 'a') {
		while (json_array_next(chs, &pos, &ch) == 1) {
			if (json_get(ch.p, ch.n, "error", &err) == 0 && json_kind(err) == 'o') {
				struct answer e;
				int r;
				memset(&e, 0, sizeof(e));
				buf_append(&e.body, err.p, err.n);
				buf_append(&e.body, "", 1);
				e.body.len--;
				e.status = a->status;
				r = refused(&e, _("validation of the http-01 challenge"), hostname, why);
				answer_free(&e);
				return r;
			}
		}
	}
	*why = xasprintf(_("ACME: the authorization for %s is invalid and the server gave no reason"), hostname);
	return -EPROTO;
}

/* Poll url (POST-as-GET) until status is `want`; the last answer in *a. */
static int poll_status(struct client *cl, const char *url, const char *want, const char *what, struct answer *a,
		       char **why)
{
	time_t deadline = time(NULL) + cl->o->max_wait_s;
	int r;

	for (;;) {
		char *st;
		r = post(cl, url, NULL, NULL, a, why);
		if (r < 0)
			return r;
		if (a->status != 200)
			return refused(a, what, cl->o->hostname, why);
		st = jstr(a->body.data, a->body.len, "status");
		if (st && strcmp(st, want) == 0) {
			free(st);
			return 0;
		}
		if (!st || strcmp(st, "invalid") == 0 || strcmp(st, "revoked") == 0 ||
		    strcmp(st, "deactivated") == 0 || strcmp(st, "expired") == 0) {
			free(st);
			return -EPROTO;	/* the caller says why */
		}
		free(st);
		if (time(NULL) >= deadline) {
			*why = xasprintf(_("ACME: %s is still not %s after %d s; run mailstage apply again later"), what,
					 want, cl->o->max_wait_s);
			return -ETIMEDOUT;
		}
		wait_retry(a, deadline);
		answer_free(a);
	}
}

/* One authorization: answer its http-01 challenge unless it is valid already. */
static int authorize(struct client *cl, const char *authz_url, char **why)
{
	struct answer a;
	struct jspan chs, ch;
	char *st = NULL, *type = NULL, *token = NULL, *curl_ = NULL, *keyauth = NULL;
	size_t pos = 0;
	pid_t pid = 0;
	int r;
	const char *t;

	r = post(cl, authz_url, NULL, NULL, &a, why);
	if (r < 0)
		return r;
	if (a.status != 200) {
		r = refused(&a, _("authorization"), cl->o->hostname, why);
		goto out;
	}
	st = jstr(a.body.data, a.body.len, "status");
	if (st && strcmp(st, "valid") == 0) {
		r = 0;	/* authorized before (authorization reuse) */
		goto out;
	}
	if (json_get(a.body.data, a.body.len, "challenges", &chs) < 0 || json_kind(chs) != 'a') {
		r = -EPROTO;
		*why = xasprintf(_("ACME: the authorization for %s lists no challenges"), cl->o->hostname);
		goto out;
	}
	while (json_array_next(chs, &pos, &ch) == 1) {
		free(type);
		type = jstr(ch.p, ch.n, "type");
		if (type && strcmp(type, "http-01") == 0) {
			token = jstr(ch.p, ch.n, "token");
			curl_ = jstr(ch.p, ch.n, "url");
			break;
		}
	}
	if (!token || !curl_) {
		r = -EPROTO;
		*why = xasprintf(_("ACME: the server offers no http-01 challenge for %s"), cl->o->hostname);
		goto out;
	}
	for (t = token; *t; t++)	/* base64url only (RFC 8555 8.3): it becomes a path */
		if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '-' ||
		      *t == '_')) {
			r = -EPROTO;
			*why = xasprintf(_("ACME: the challenge token is not base64url"));
			goto out;
		}
	keyauth = xasprintf("%s.%s", token, cl->thumb);
	r = answer_start(cl->o->http_port, token, keyauth, &pid, why);
	if (r < 0)
		goto out;
	msg_verbose("ACME: answering http-01 for %s on port %d (pid %ld)", cl->o->hostname, cl->o->http_port,
		    (long)pid);
	answer_free(&a);
	r = post(cl, curl_, "{}", NULL, &a, why);
	if (r < 0)
		goto out;
	if (a.status != 200) {
		r = refused(&a, _("challenge"), cl->o->hostname, why);
		goto out;
	}
	answer_free(&a);
	r = poll_status(cl, authz_url, "valid", _("the authorization"), &a, why);
	if (r == -EPROTO && !*why)
		r = challenge_failed(&a, cl->o->hostname, why);
out:
	answer_stop(pid);
	answer_free(&a);
	free(st);
	free(type);
	free(token);
	free(curl_);
	free(keyauth);
	return r;
}

static int account(struct client *cl, char **why)
{
	struct answer a;
	char *payload, *eq = NULL;
	int r;

	if (cl->o->email && *cl->o->email) {
		char *m = xasprintf("mailto:%s", cl->o->email);
		eq = json_quote(m);
		free(m);
		payload = xasprintf("{\"termsOfServiceAgreed\":true,\"contact\":[%s]}", eq);
	} else {
		payload = xstrdup("{\"termsOfServiceAgreed\":true}");
	}
	r = post(cl, cl->new_account, payload, NULL, &a, why);
	if (r == 0) {
		if ((a.status == 200 || a.status == 201) && a.location) {
			cl->kid = xstrdup(a.location);
		} else {
			r = refused(&a, _("account registration"), cl->o->hostname, why);
		}
	}
	answer_free(&a);
	free(payload);
	free(eq);
	return r;
}

/* ---- renewal information (RFC 9773) ------------------------------------------ */

void acme_ari_free(struct acme_ari *ari)
{
	free(ari->explanation);
	memset(ari, 0, sizeof(*ari));
}

int acme_renewal_info(const struct acme_opts *o, const char *cert_id, struct acme_ari *ari, char **why)
{
	struct client cl;
	struct answer a;
	char *base = NULL, *url = NULL, *e = NULL;
	size_t bl;
	int r;

	memset(ari, 0, sizeof(*ari));
	memset(&cl, 0, sizeof(cl));
	memset(&a, 0, sizeof(a));
	*why = NULL;
	cl.o = o;
	if ((r = lazy_curl(&e)) < 0) {
		*why = e;
		return r;
	}
	if ((r = http(&cl, o->directory, NULL, 0, NULL, &a, why)) < 0)
		goto out;
	if (a.status != 200 || json_valid(a.body.data, a.body.len) < 1) {
		r = -EPROTO;
		*why = xasprintf(_("ACME: %s is not an ACME directory (answer %ld); check acme_directory"),
				 o->directory, a.status);
		goto out;
	}
	base = acme_directory_renewal_info(a.body.data, a.body.len);
	answer_free(&a);
	if (!base) {
		r = -ENOTSUP;
		goto out;
	}
	bl = strlen(base);
	url = xasprintf("%s%s%s", base, bl && base[bl - 1] == '/' ? "" : "/", cert_id);
	if ((r = http(&cl, url, NULL, 0, NULL, &a, why)) < 0)
		goto out;
	if (a.status != 200) {
		r = refused(&a, _("renewal information"), o->hostname ? o->hostname : "", why);
		goto out;
	}
	if (acme_renewal_info_parse(a.body.data, a.body.len, &ari->start, &ari->end, &ari->explanation) < 0) {
		r = -EPROTO;
		*why = xasprintf(_("ACME: %s is not a renewal window (suggestedWindow with start before end)"), url);
		goto out;
	}
	ari->point = acme_ari_point(cert_id, ari->start, ari->end);
	ari->retry_after = acme_retry_after(a.retry_after, 86400);
	if (ari->retry_after >= 0 && ari->retry_after < 60)
		ari->retry_after = 60;	/* RFC 9773 4.3: limits of one minute and one day */
	r = 0;
out:
	if (r < 0)
		acme_ari_free(ari);
	answer_free(&a);
	free(cl.nonce);
	free(base);
	free(url);
	return r;
}

int acme_obtain(const struct acme_opts *o, char **chain, size_t *len, char **why)
{
	struct client cl;
	struct answer a;
	struct jspan authzs, az;
	unsigned char x[32], y[32], *csr = NULL;
	size_t csrlen = 0, pos = 0;
	char *e = NULL, *hq = NULL, *payload = NULL, *order_url = NULL, *finalize = NULL, *cert_url = NULL;
	char *b = NULL, *ari = NULL;
	int r;

	*chain = NULL;
	*len = 0;
	*why = NULL;
	memset(&cl, 0, sizeof(cl));
	memset(&a, 0, sizeof(a));
	cl.o = o;
	if ((r = lazy_curl(&e)) < 0) {
		*why = e;
		return r;
	}
	if ((r = crypto_ec_public(o->account_key, o->account_key_len, x, y)) < 0) {
		*why = xasprintf(_("ACME: the account key is not an EC P-256 key"));
		return r;
	}
	cl.jwk = acme_jwk(x, y);
	cl.thumb = acme_thumbprint(cl.jwk);
	if (!cl.thumb) {
		r = -ENOENT;
		*why = xasprintf(_("ACME: libcrypto is missing"));
		goto out;
	}
	/* the directory */
	if ((r = http(&cl, o->directory, NULL, 0, NULL, &a, why)) < 0)
		goto out;
	if (a.status != 200 ||
	    acme_directory_parse(a.body.data, a.body.len, &cl.new_nonce, &cl.new_account, &cl.new_order) < 0) {
		r = -EPROTO;
		*why = xasprintf(_("ACME: %s is not an ACME directory (answer %ld); check acme_directory"),
				 o->directory, a.status);
		goto out;
	}
	ari = acme_directory_renewal_info(a.body.data, a.body.len);
	answer_free(&a);
	if ((r = account(&cl, why)) < 0)
		goto out;
	/* the order */
	hq = json_quote(o->hostname);
	if (ari && o->replaces && *o->replaces) {	/* RFC 9773 5: the certificate this order replaces */
		char *rq = json_quote(o->replaces);
		payload = xasprintf("{\"identifiers\":[{\"type\":\"dns\",\"value\":%s}],\"replaces\":%s}", hq, rq);
		free(rq);
		if ((r = post(&cl, cl.new_order, payload, NULL, &a, why)) < 0)
			goto out;
		if (a.status != 201 && is_problem(&a, "alreadyReplaced")) {
			msg_verbose("ACME: %s was replaced before; ordering without \"replaces\"", o->replaces);
			answer_free(&a);
			free(payload);
			payload = NULL;
		}
	}
	if (!payload) {
		payload = xasprintf("{\"identifiers\":[{\"type\":\"dns\",\"value\":%s}]}", hq);
		if ((r = post(&cl, cl.new_order, payload, NULL, &a, why)) < 0)
			goto out;
	}
	if (a.status != 201 || !a.location) {
		r = refused(&a, _("new order"), o->hostname, why);
		goto out;
	}
	order_url = xstrdup(a.location);
	finalize = jstr(a.body.data, a.body.len, "finalize");
	if (!finalize || json_get(a.body.data, a.body.len, "authorizations", &authzs) < 0 ||
	    json_kind(authzs) != 'a') {
		r = -EPROTO;
		*why = xasprintf(_("ACME: the order for %s has no authorizations or finalize URL"), o->hostname);
		goto out;
	}
	/* its authorizations (one for one name); the span is into a.body, kept until they are done */
	{
		struct buf body = a.body;
		memset(&a.body, 0, sizeof(a.body));	/* the same memory: authzs still points into it */
		while (r == 0 && json_array_next(authzs, &pos, &az) == 1) {
			char *u = json_string(az);
			r = u ? authorize(&cl, u, why) : -EPROTO;
			if (!u)
				*why = xasprintf(_("ACME: an authorization URL is not a string"));
			free(u);
		}
		buf_free(&body);
		if (r < 0)
			goto out;
	}
	answer_free(&a);
	/* finalize with the CSR of the new key */
	if ((r = crypto_csr(o->cert_key, o->cert_key_len, o->hostname, &csr, &csrlen)) < 0) {
		*why = xasprintf(_("ACME: cannot make the certificate request (%s)"), strerror(-r));
		goto out;
	}
	b = acme_b64url(csr, csrlen);
	free(payload);
	payload = xasprintf("{\"csr\":\"%s\"}", b);
	if ((r = post(&cl, finalize, payload, NULL, &a, why)) < 0)
		goto out;
	if (a.status != 200) {
		r = refused(&a, _("finalize"), o->hostname, why);
		goto out;
	}
	answer_free(&a);
	r = poll_status(&cl, order_url, "valid", _("the order"), &a, why);
	if (r == -EPROTO && !*why) {
		struct jspan err;
		if (json_get(a.body.data, a.body.len, "error", &err) == 0) {
			struct answer ea;
			memset(&ea, 0, sizeof(ea));
			buf_append(&ea.body, err.p, err.n);
			buf_append(&ea.body, "", 1);
			ea.body.len--;
			r = refused(&ea, _("order"), o->hostname, why);
			answer_free(&ea);
		} else {
			*why = xasprintf(_("ACME: the order for %s became invalid"), o->hostname);
		}
	}
	if (r < 0)
		goto out;
	cert_url = jstr(a.body.data, a.body.len, "certificate");
	answer_free(&a);
	if (!cert_url) {
		r = -EPROTO;
		*why = xasprintf(_("ACME: the valid order names no certificate URL"));
		goto out;
	}
	/* the chain */
	if ((r = post(&cl, cert_url, NULL, "application/pem-certificate-chain", &a, why)) < 0)
		goto out;
	if (a.status != 200 || a.body.len == 0 || !strstr(a.body.data, "-----BEGIN CERTIFICATE-----")) {
		r = refused(&a, _("certificate download"), o->hostname, why);
		goto out;
	}
	*len = a.body.len;
	*chain = buf_steal(&a.body);
	r = 0;
out:
	answer_free(&a);
	free(cl.nonce);
	free(cl.new_nonce);
	free(cl.new_account);
	free(cl.new_order);
	free(cl.jwk);
	free(cl.thumb);
	free(cl.kid);
	free(hq);
	free(payload);
	free(order_url);
	free(finalize);
	free(cert_url);
	free(csr);
	free(b);
	free(ari);
	return r;
}
