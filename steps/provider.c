/*
 * provider.c - stage "provider": the Sakura VPS API, when
 * sakura_api_key_file and sakura_server_id are set (otherwise the stage does
 * nothing and says nothing).
 *
 * Check reads, through the API (installer/sakura.c):
 *   GET /servers/{id}                the PTR of the IPv4 and IPv6 ("ipv4.ptr",
 *                                    "ipv6.ptr" of the Server object)
 *   GET /servers/{id}/packet-filter  the packet filter (IPv4, first interface)
 *   GET /servers/{id}/limitation     "outbound_port_25_blocking": enabled|disabled
 * and wants typed actions:
 *   "sakura-ptr"     PUT /servers/{id}/ipv4-ptr (or ipv6-ptr) {"hostname": H},
 *                    only once the hostname's A (AAAA) record resolves to the
 *                    configured address: Sakura refuses a PTR whose forward
 *                    record does not match.  Undo puts the previous name back.
 *   "sakura-filter"  PUT /servers/{id}/packet-filter with the previous rules
 *                    kept and a tcp rule for each of 25, 465 and 587 that no
 *                    rule opens, when the filter is on.  Undo puts the
 *                    previous body back.
 * Paths and methods: the API reference (manual.sakura.ad.jp/vps/api/api-doc/)
 * and the clients generated from it (sakura_vps_client_py ServerApi:
 * "PUT /servers/{server_id}/ipv4-ptr", body UpdateHost {"hostname"}; the
 * Server model's ipv4.ptr/ipv6.ptr; Limitation.outbound_port_25_blocking).
 * The packet-filter body ({"is_enabled": bool, "rules": [{"protocol",
 * "port", ...}]}) could not be checked against the published schema from
 * here: rules already present are sent back byte for byte, and only
 * "protocol" and "port" are read or written.
 *
 * The undo record holds the API URL, server ID, key file and CA file paths
 * and the previous state, never the key: undo reads the key file again.
 */
#include "i18n.h"
#include "steps.h"
#include "dnsq.h"
#include "sakura.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const unsigned mail_ports[] = { 25, 465, 587 };

int provider_enabled(const struct config *cfg)
{
	return cfg->sakura_api_key_file || cfg->sakura_server_id;
}

/* Open the client from the configuration; on failure stage_refuse/stage_fail. */
static int open_api(struct ctx *c, struct sakura *s)
{
	char *why = NULL;
	int r;

	if (!c->cfg->sakura_api_key_file || !c->cfg->sakura_server_id)
		return stage_refuse(c, EXIT_CONFIG, _("%s: sakura_api_key_file and sakura_server_id go together: "
				    "set both (the key file from the control panel's API key page, the server ID "
				    "from its server list) or neither"), c->cfg->path);
	r = sakura_open(s, c->root, c->cfg->sakura_api_url, c->cfg->sakura_api_key_file, c->cfg->sakura_ca_file,
			c->cfg->sakura_server_id, &why);
	if (r < 0)
		r = stage_refuse(c, r == -EACCES ? EXIT_NOPERM : EXIT_CONFIG, "%s", why);
	free(why);
	return r;
}


/* GET path into *doc (valid JSON object); 0, or negative with *why. */
static int api_get(struct sakura *s, const char *path, struct buf *doc, char **why)
{
	long status = 0;
	int r = sakura_request(s, "GET", path, NULL, &status, doc, why);
	if (r < 0)
		return r;
	if (status != 200 || !json_valid(doc->data, doc->len)) {
		struct jspan m;
		char *msg = NULL;
		if (json_get(doc->data, doc->len, "message", &m) == 0)
			msg = json_string(m);
		*why = xasprintf(_("GET %s: HTTP %ld%s%s"), path, status, msg ? ": " : "",
				 msg ? msg : (status == 200 ? _("the answer is not JSON") : ""));
		free(msg);
		buf_free(doc);
		return -EIO;
	}
	return 0;
}

static int api_put(struct sakura *s, const char *path, const char *body, char **why)
{
	struct buf doc = { 0 };
	long status = 0;
	int r = sakura_request(s, "PUT", path, body, &status, &doc, why);
	if (r == 0 && (status < 200 || status > 299)) {
		struct jspan m;
		char *msg = NULL;
		if (json_get(doc.data, doc.len, "message", &m) == 0)
			msg = json_string(m);
		*why = xasprintf(_("PUT %s: HTTP %ld%s%s"), path, status, msg ? ": " : "", msg ? msg : "");
		free(msg);
		r = -EIO;
	}
	buf_free(&doc);
	return r;
}

/* A string member at path of doc, or NULL. */
static char *get_str(const struct buf *doc, const char *path)
{
	struct jspan v;
	if (json_get(doc->data, doc->len, path, &v) < 0)
		return NULL;
	return json_string(v);
}

/* The current PTR of family ("ipv4"/"ipv6"); 0 with *ptr ("" when none). */
static int current_ptr(struct sakura *s, const char *family, char **ptr, char **why)
{
	struct buf doc = { 0 };
	char *path = xasprintf("/servers/%ld", s->server_id), *key = xasprintf("%s.ptr", family);
	int r = api_get(s, path, &doc, why);
	if (r == 0) {
		struct jspan v;
		if (json_get(doc.data, doc.len, key, &v) == 0 && json_kind(v) == 'z')
			*ptr = xstrdup("");
		else if (!(*ptr = get_str(&doc, key))) {
			*why = xasprintf(_("GET %s: the answer has no %s"), path, key);
			r = -EIO;
		}
	}
	buf_free(&doc);
	free(path);
	free(key);
	return r;
}

static char *lower(char *s)
{
	char *q;
	size_t n = strlen(s);
	if (n && s[n - 1] == '.')
		s[n - 1] = '\0';
	for (q = s; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	return s;
}

/* ---- undo records: fields separated by spaces (only the last may hold one; no control byte anywhere:
 * the journal refuses them) ---- */

static char *undo_head(const struct sakura *s)
{
	return xasprintf("%s %ld %s %s", s->base, s->server_id, s->key_file,
			 s->ca_in_root ? s->ca_in_root : "-");
}

/*
 * An undo record read back from the journal is untrusted (struct
 * action_type's undo_check): n space-separated fields (the last takes the
 * rest of the line), no control byte; the first four
 * BASE (https://, or http:// to a loopback address: sakura_url_ok), ID
 * (digits, 1..2147483647), KEY FILE (an absolute, normalised path) and CA
 * (the same, or "-").  0 with f[0..n) (free them: undo_free), or -EINVAL
 * with *why.
 */
static int undo_parse(const char *rec, char **f, size_t n, char **why)
{
	size_t i;
	const char *p = rec, *q;
	long long id = 0;

	for (q = rec; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			goto bad;
	for (i = 0; i + 1 < n; i++)
		if (!(p = strchr(p, ' ')))
			goto bad;
		else
			p++;
	for (i = 0, p = rec; i < n; i++) {
		const char *t = i + 1 < n ? strchr(p, ' ') : p + strlen(p);
		f[i] = xstrndup(p, (size_t)(t - p));
		p = *t ? t + 1 : t;
	}
	for (q = f[1]; *q >= '0' && *q <= '9' && q - f[1] < 10; q++)
		id = id * 10 + (*q - '0');
	if (!sakura_url_ok(f[0]) || !*f[1] || *q || f[1][0] == '0' || id > 2147483647LL ||
	    !path_is_normal(f[2]) || (strcmp(f[3], "-") && !path_is_normal(f[3]))) {
		*why = xasprintf(_("a Sakura undo record begins \"URL SERVER-ID KEY-FILE CA-FILE|-\" "
				   "(https:// or loopback http://, digits, absolute paths): \"%s\""), rec);
		while (i > 0)
			free(f[--i]);
		return -EINVAL;
	}
	return 0;
bad:
	*why = xasprintf(_("bad undo record \"%s\""), rec);
	return -EINVAL;
}

static void undo_free(char **f, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(f[i]);
}

/* sakura-ptr's undo: HEAD, ipv4|ipv6, the previous PTR ("" or a hostname). */
static int ptr_undo_parse(const char *rec, char **f, char **why)
{
	int r = undo_parse(rec, f, 6, why);
	if (r < 0)
		return r;
	if ((strcmp(f[4], "ipv4") && strcmp(f[4], "ipv6")) || (*f[5] && !valid_fqdn(f[5]))) {
		*why = xasprintf(_("a sakura-ptr undo ends \"ipv4|ipv6 HOSTNAME\" (the previous PTR, or empty): "
				   "\"%s\""), rec);
		undo_free(f, 6);
		return -EINVAL;
	}
	return 0;
}

/* sakura-filter's undo: HEAD, on|off, the previous rules (a JSON array of objects, on one line). */
static int filter_undo_parse(const char *rec, char **f, char **why)
{
	struct jspan rules, e;
	size_t pos = 0;
	int r = undo_parse(rec, f, 6, why), n;
	if (r < 0)
		return r;
	rules.p = f[5];
	rules.n = strlen(f[5]);
	r = (strcmp(f[4], "on") && strcmp(f[4], "off")) || !json_valid(rules.p, rules.n) ||
	    json_kind(rules) != 'a' ? -EINVAL : 0;
	while (r == 0 && (n = json_array_next(rules, &pos, &e)) != 0)
		if (n < 0 || json_kind(e) != 'o')
			r = -EINVAL;
	if (r < 0) {
		*why = xasprintf(_("a sakura-filter undo ends \"on|off RULES\" (RULES a JSON array of objects): "
				   "\"%s\""), rec);
		undo_free(f, 6);
	}
	return r;
}

static int undo_open(struct root *root, char **f, struct sakura *s, char **why)
{
	return sakura_open(s, root, f[0], f[2], strcmp(f[3], "-") ? f[3] : NULL, strtol(f[1], NULL, 10), why);
}

/* ---- sakura-ptr: arg "ipv4 HOSTNAME" / "ipv6 HOSTNAME" ---- */

static int ptr_arg(const char *arg, char *family, char **host)
{
	if ((strncmp(arg, "ipv4 ", 5) && strncmp(arg, "ipv6 ", 5)) || !valid_fqdn(arg + 5))
		return -EINVAL;
	memcpy(family, arg, 4);
	family[4] = '\0';
	*host = xstrdup(arg + 5);
	return 0;
}

static int ptr_put(struct sakura *s, const char *family, const char *name, char **why)
{
	char *path = xasprintf("/servers/%ld/%s-ptr", s->server_id, family);
	char *q = json_quote(name), *body = xasprintf("{\"hostname\": %s}", q);
	int r = api_put(s, path, body, why);
	free(path);
	free(q);
	free(body);
	return r;
}

static int ptr_prepare(struct ctx *c, const char *arg, char **undo)
{
	struct sakura s;
	char family[5], *host = NULL, *prev = NULL, *why = NULL, *head;
	int r = ptr_arg(arg, family, &host);
	if (r < 0)
		return r;
	r = open_api(c, &s);
	if (r < 0)
		goto out;
	r = current_ptr(&s, family, &prev, &why);
	if (r < 0) {
		stage_fail(c, _("reading the %s PTR: %s"), family, why);
	} else {
		char *f[6];
		head = undo_head(&s);
		*undo = xasprintf("%s %s %s", head, family, prev);
		free(head);
		/* what rollback cannot take back is refused now, before anything changes */
		if ((r = ptr_undo_parse(*undo, f, &why)) < 0) {
			stage_fail(c, _("the %s PTR now (\"%s\") cannot be restored on rollback: %s"), family, prev, why);
			free(*undo);
			*undo = NULL;
		} else {
			undo_free(f, 6);
		}
	}
	sakura_close(&s);
out:
	free(host);
	free(prev);
	free(why);
	return r;
}

static int ptr_apply(struct ctx *c, const char *arg)
{
	struct sakura s;
	char family[5], *host = NULL, *why = NULL;
	int r = ptr_arg(arg, family, &host);
	if (r < 0)
		return r;
	r = open_api(c, &s);
	if (r == 0) {
		r = ptr_put(&s, family, host, &why);
		if (r < 0)
			stage_fail(c, _("setting the %s PTR to %s: %s"), family, host, why);
		sakura_close(&s);
	}
	free(host);
	free(why);
	return r;
}

static int ptr_undo(struct root *root, const char *rec, char **why)
{
	char *f[6];
	struct sakura s;
	int r = ptr_undo_parse(rec, f, why);
	if (r < 0)
		return r;
	r = undo_open(root, f, &s, why);
	if (r == 0) {
		r = ptr_put(&s, f[4], f[5], why);
		sakura_close(&s);
	}
	undo_free(f, 6);
	return r;
}

static int ptr_undo_check(const struct root *root, const char *rec, char **why)
{
	char *f[6];
	(void)root;
	if (ptr_undo_parse(rec, f, why) < 0)
		return -EINVAL;
	undo_free(f, 6);
	return 0;
}

const struct action_type action_sakura_ptr = {
	.name = "sakura-ptr",
	.prepare = ptr_prepare,
	.apply = ptr_apply,
	.undo = ptr_undo,
	.undo_check = ptr_undo_check,
};

/* ---- sakura-filter: arg "PORT PORT ..." (the mail ports no rule opens) ---- */

/* Does some rule of rules open tcp port p (a "port" of "25", 25, or a list/range holding it)? */
static int rules_open(struct jspan rules, unsigned p)
{
	struct jspan e;
	size_t pos = 0;
	while (json_array_next(rules, &pos, &e) == 1) {
		struct jspan v;
		char *proto = NULL, *port = NULL;
		int hit = 0;
		if (json_get(e.p, e.n, "protocol", &v) == 0)
			proto = json_string(v);
		if (json_get(e.p, e.n, "port", &v) == 0)
			port = json_kind(v) == 'n' ? xstrndup(v.p, v.n) : json_string(v);
		if (port && (!proto || strcmp(proto, "tcp") == 0)) {
			char *save = NULL, *tok;
			for (tok = strtok_r(port, ",/ ", &save); tok && !hit; tok = strtok_r(NULL, ",/ ", &save)) {
				char *dash = strchr(tok, '-');
				unsigned long lo = strtoul(tok, NULL, 10), hi = dash ? strtoul(dash + 1, NULL, 10) : lo;
				hit = lo <= p && p <= hi;
			}
		}
		free(proto);
		free(port);
		if (hit)
			return 1;
	}
	return 0;
}

/* The filter now: 0 with *doc (the raw answer), *enabled and *rules (into doc). */
static int filter_get(struct sakura *s, struct buf *doc, int *enabled, struct jspan *rules, char **why)
{
	char *path = xasprintf("/servers/%ld/packet-filter", s->server_id);
	struct jspan v;
	int r = api_get(s, path, doc, why);
	if (r == 0) {
		if (json_get(doc->data, doc->len, "is_enabled", &v) < 0 ||
		    (json_kind(v) != 't' && json_kind(v) != 'f') ||
		    json_get(doc->data, doc->len, "rules", rules) < 0 || json_kind(*rules) != 'a') {
			*why = xasprintf(_("GET %s: the answer has no is_enabled and rules"), path);
			buf_free(doc);
			r = -EIO;
		} else {
			*enabled = json_kind(v) == 't';
		}
	}
	free(path);
	return r;
}

static int filter_put(struct sakura *s, int enabled, struct jspan rules, const char *ports, char **why)
{
	char *path = xasprintf("/servers/%ld/packet-filter", s->server_id);
	struct buf b = { 0 };
	struct jspan e;
	size_t pos = 0;
	int first = 1, r;

	buf_printf(&b, "{\"is_enabled\": %s, \"rules\": [", enabled ? "true" : "false");
	while (json_array_next(rules, &pos, &e) == 1) {
		buf_printf(&b, "%s%.*s", first ? "" : ", ", (int)e.n, e.p);
		first = 0;
	}
	if (ports) {
		char *copy = xstrdup(ports), *save = NULL, *tok;
		for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			buf_printf(&b, "%s{\"protocol\": \"tcp\", \"port\": \"%lu\"}", first ? "" : ", ",
				   strtoul(tok, NULL, 10));
			first = 0;
		}
		free(copy);
	}
	buf_puts(&b, "]}");
	r = api_put(s, path, b.data, why);
	buf_free(&b);
	free(path);
	return r;
}

static int ports_arg(const char *arg)
{
	const char *q;
	if (!*arg)
		return -EINVAL;
	for (q = arg; *q; q++)
		if (!(*q >= '0' && *q <= '9') && *q != ' ')
			return -EINVAL;
	return 0;
}

static int filter_prepare(struct ctx *c, const char *arg, char **undo)
{
	struct sakura s;
	struct buf doc = { 0 };
	struct jspan rules;
	char *why = NULL, *head;
	int enabled = 0, r = ports_arg(arg);
	if (r < 0)
		return r;
	r = open_api(c, &s);
	if (r < 0)
		return r;
	r = filter_get(&s, &doc, &enabled, &rules, &why);
	if (r < 0) {
		stage_fail(c, _("reading the packet filter: %s"), why);
	} else {
		/* the previous rules, byte for byte, on one line (journal fields are lines) */
		struct buf b = { 0 };
		size_t i;
		for (i = 0; i < rules.n; i++)
			if (rules.p[i] != '\n' && rules.p[i] != '\r' && rules.p[i] != '\t')
				buf_append(&b, rules.p + i, 1);
		buf_append(&b, "", 1);
		char *f[6];
		head = undo_head(&s);
		*undo = xasprintf("%s %s %s", head, enabled ? "on" : "off", b.data);
		free(head);
		buf_free(&b);
		if ((r = filter_undo_parse(*undo, f, &why)) < 0) {
			stage_fail(c, _("the packet filter now cannot be restored on rollback: %s"), why);
			free(*undo);
			*undo = NULL;
		} else {
			undo_free(f, 6);
		}
	}
	buf_free(&doc);
	sakura_close(&s);
	free(why);
	return r;
}

static int filter_apply(struct ctx *c, const char *arg)
{
	struct sakura s;
	struct buf doc = { 0 };
	struct jspan rules;
	char *why = NULL;
	int enabled = 0, r = ports_arg(arg);
	if (r < 0)
		return r;
	r = open_api(c, &s);
	if (r < 0)
		return r;
	r = filter_get(&s, &doc, &enabled, &rules, &why);
	if (r == 0)
		r = filter_put(&s, enabled, rules, arg, &why);
	if (r < 0)
		stage_fail(c, _("adding packet filter rules for TCP %s: %s"), arg, why);
	buf_free(&doc);
	sakura_close(&s);
	free(why);
	return r;
}

static int filter_undo(struct root *root, const char *rec, char **why)
{
	char *f[6];
	struct sakura s;
	struct jspan rules;
	int r = filter_undo_parse(rec, f, why);
	if (r < 0)
		return r;
	rules.p = f[5];
	rules.n = strlen(f[5]);
	r = undo_open(root, f, &s, why);
	if (r == 0) {
		r = filter_put(&s, strcmp(f[4], "on") == 0, rules, NULL, why);
		sakura_close(&s);
	}
	undo_free(f, 6);
	return r;
}

static int filter_undo_check(const struct root *root, const char *rec, char **why)
{
	char *f[6];
	(void)root;
	if (filter_undo_parse(rec, f, why) < 0)
		return -EINVAL;
	undo_free(f, 6);
	return 0;
}

const struct action_type action_sakura_filter = {
	.name = "sakura-filter",
	.prepare = filter_prepare,
	.apply = filter_apply,
	.undo = filter_undo,
	.undo_check = filter_undo_check,
};

/* ---- Sakura's DNS and long TXT records ---- */

/*
 * Sakura's own DNS (ns1.dns.ne.jp, ns2.dns.ne.jp) is edited in the domain
 * control panel, which takes "at most 255 characters" per TXT record
 * (help.sakura.ad.jp/domain/2712/: "TXTレコードに設定可能な文字数は最大255文字
 * までとなります"); no page of Sakura's says it accepts a record written as
 * several quoted strings, so a 2048-bit DKIM record (about 410 characters)
 * cannot be entered there as is: the advice is a 1024-bit key (a record of
 * about 220 characters) or a DNS service that takes split TXT strings.
 * Both languages always (the panel is Japanese): not translated.
 */
const char *const provider_sakura_dns_advice =
	"Sakura's domain control panel takes at most 255 characters per TXT record "
	"(help.sakura.ad.jp/domain/2712/): set dkim_bits = 1024 and run `mailstage apply` (a new key; publish "
	"its record, about 220 characters), or move the zone to a DNS service that accepts a TXT record of "
	"several strings. / さくらのドメインコントロールパネルのTXTレコードは255文字までです: dkim_bits = 1024 "
	"にして `mailstage apply` を実行し新しい鍵のレコード(約220文字)を登録するか、複数文字列のTXTレコードを"
	"登録できるDNSサービスにゾーンを移してください。";

int provider_sakura_dns(struct dnsq *q, const char *domain)
{
	struct strv ns = { 0 };
	char *why = NULL;
	size_t i;
	int hit = 0;
	if (dnsq_lookup(q, domain, DNSQ_NS, &ns, &why) == 0)
		for (i = 0; i < ns.n; i++) {
			char *n = lower(xstrdup(ns.v[i]));
			hit |= !strcmp(n, "ns1.dns.ne.jp") || !strcmp(n, "ns2.dns.ne.jp");
			free(n);
		}
	strv_free(&ns);
	free(why);
	return hit;
}

/* ---- check ---- */

/* The same address, whatever its spelling (2001:DB8:0::10 is 2001:db8::10)? */
static int same_addr(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	int af = strchr(a, ':') ? AF_INET6 : AF_INET;
	return inet_pton(af, a, x) == 1 && inet_pton(af, b, y) == 1 && memcmp(x, y, af == AF_INET6 ? 16 : 4) == 0;
}

/* Does name's A (AAAA) record hold addr? 1 yes, 0 no (*seen: what it holds). */
static int forward_matches(const char *name, const char *addr, enum dnsq_type t, char **seen)
{
	struct dnsq q;
	struct strv got = { 0 };
	char *why = NULL;
	size_t i;
	int hit = 0;

	memset(&q, 0, sizeof(q));
	q.timeout_s = 3;
	dnsq_start(&q);
	if (dnsq_lookup(&q, name, t, &got, &why) == 0) {
		struct buf b = { 0 };
		for (i = 0; i < got.n; i++) {
			hit |= same_addr(got.v[i], addr);
			buf_printf(&b, "%s%s", i ? ", " : "", got.v[i]);
		}
		*seen = buf_steal(&b);
	} else {
		*seen = why ? why : xstrdup(_("no record"));
		why = NULL;
	}
	strv_free(&got);
	dnsq_free(&q);
	free(why);
	return hit;
}

static int check_ptr(struct ctx *c, struct sakura *s, const char *family, const char *addr)
{
	char *ptr = NULL, *why = NULL, *seen = NULL;
	int r = current_ptr(s, family, &ptr, &why);
	if (r < 0) {
		r = stage_fail(c, _("Sakura VPS API: %s"), why);
		goto out;
	}
	if (strcmp(lower(ptr), c->cfg->hostname) == 0)
		goto out;
	if (!forward_matches(c->cfg->hostname, addr, strcmp(family, "ipv4") ? DNSQ_AAAA : DNSQ_A, &seen)) {
		stage_note(c, _("the %s PTR of %s is \"%s\", not %s; it is set once %s's %s record resolves to %s "
			   "(now: %s): publish it (`mailstage dns`) and run again"), family, addr, ptr,
			   c->cfg->hostname, c->cfg->hostname, strcmp(family, "ipv4") ? "AAAA" : "A", addr, seen);
		goto out;
	}
	{
		char *what = xasprintf(_("set the %s PTR of %s to %s (now \"%s\") through the Sakura VPS API"),
				       family, addr, c->cfg->hostname, ptr);
		char *arg = xasprintf("%s %s", family, c->cfg->hostname);
		r = want_action(c, what, &action_sakura_ptr, arg);
		free(what);
		free(arg);
	}
out:
	free(ptr);
	free(why);
	free(seen);
	return r;
}

static int check_filter(struct ctx *c, struct sakura *s)
{
	struct buf doc = { 0 };
	struct jspan rules;
	struct buf missing = { 0 };
	char *why = NULL;
	int enabled = 0, r = filter_get(s, &doc, &enabled, &rules, &why);
	size_t i;
	if (r < 0) {
		r = stage_fail(c, _("Sakura VPS API: %s"), why);
		goto out;
	}
	if (!enabled)
		goto out;	/* off: it lets everything in */
	for (i = 0; i < ARRAY_SIZE(mail_ports); i++)
		if (!rules_open(rules, mail_ports[i]))
			buf_printf(&missing, "%s%u", missing.len ? " " : "", mail_ports[i]);
	if (missing.len) {
		char *what = xasprintf(_("open TCP %s in the Sakura VPS packet filter (IPv4; IPv6 is not filtered "
					 "by it: firewalld covers it)"), missing.data);
		r = want_action(c, what, &action_sakura_filter, missing.data);
		free(what);
	}
out:
	buf_free(&doc);
	buf_free(&missing);
	free(why);
	return r;
}

/* The API's outbound port 25 limitation: 1 blocked, 0 not, negative unknown (*why). */
int provider_port25_blocked(struct sakura *s, char **why)
{
	struct buf doc = { 0 };
	char *path = xasprintf("/servers/%ld/limitation", s->server_id), *v = NULL;
	int r = api_get(s, path, &doc, why);
	if (r == 0) {
		v = get_str(&doc, "outbound_port_25_blocking");
		r = v && strcmp(v, "enabled") == 0 ? 1 : v && strcmp(v, "disabled") == 0 ? 0 : -EIO;
		if (r < 0)
			*why = xasprintf(_("GET %s: no outbound_port_25_blocking in the answer"), path);
	}
	buf_free(&doc);
	free(path);
	free(v);
	return r;
}

/* preflight: the keys are usable (refusals 77/78), and the outbound port 25 limitation. */
int provider_preflight(struct ctx *c)
{
	struct sakura s;
	char *why = NULL;
	int r;

	if (!provider_enabled(c->cfg))
		return 0;
	r = open_api(c, &s);
	if (r < 0)
		return r;
	r = provider_port25_blocked(&s, &why);
	if (r == 1)
		stage_note(c, _("the Sakura VPS API reports outbound port 25 blocked for server %ld "
			   "(outbound_port_25_blocking = enabled): mail to other servers cannot leave; lift the "
			   "limitation in the control panel or ask Sakura support"), s.server_id);
	else if (r < 0)
		stage_note(c, _("Sakura VPS API: outbound port 25 limitation unknown: %s"), why);
	free(why);
	sakura_close(&s);
	return 0;
}

static int check(struct ctx *c)
{
	struct sakura s;
	int r;

	if (!provider_enabled(c->cfg))
		return 0;
	r = open_api(c, &s);
	if (r < 0)
		return r;
	r = check_ptr(c, &s, "ipv4", c->cfg->ipv4);
	if (r == 0 && c->cfg->ipv6)
		r = check_ptr(c, &s, "ipv6", c->cfg->ipv6);
	if (r == 0)
		r = check_filter(c, &s);
	sakura_close(&s);
	return r;
}

const struct stage stage_provider = {
	.name = "provider",
	.summary = N_("Sakura VPS API (when sakura_api_key_file and sakura_server_id are set): PTR of the "
		   "IPv4/IPv6 to the hostname, mail ports in the packet filter, outbound port 25 limitation"),
	.check = check,
	.active = provider_enabled,
};
STAGE_REGISTER(stage_provider);
