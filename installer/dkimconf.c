/*
 * dkimconf.c - in-memory parser and editor for opendkim.conf (see
 * dkimconf.h).
 *
 * The file is kept as its physical lines (textlines.h); a parse records, per definition
 * line, the key and where the value sits, so a set() can replace just the
 * value.  An edit builds the new text and parses it again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkimconf.h"
#include "textlines.h"
#include "util.h"

/* What physical line i (tl.v[i]) defines. */
struct dc_line {
	char *key;		/* NULL unless a definition */
	char *value;
	size_t v0, v1;		/* value bytes [v0, v1) */
};

struct dkimconf {
	struct tlines tl;
	struct dc_line *lines;	/* tl.n of them */
};

static void free_parts(struct dkimconf *dc)
{
	size_t i;

	if (dc->lines)
		for (i = 0; i < dc->tl.n; i++) {
			free(dc->lines[i].key);
			free(dc->lines[i].value);
		}
	free(dc->lines);
	dc->lines = NULL;
	tl_free(&dc->tl);
}

void dkimconf_free(struct dkimconf *dc)
{
	if (!dc)
		return;
	free_parts(dc);
	free(dc);
}

static int analyze(struct dkimconf *dc, char **err)
{
	size_t i;
	int r = 0;

	dc->lines = xcalloc(dc->tl.n, sizeof(*dc->lines));
	for (i = 0; i < dc->tl.n; i++) {
		struct dc_line *l = &dc->lines[i];
		const char *t = dc->tl.v[i].text;
		size_t n = tl_content_len(&dc->tl.v[i]), p = 0, k, e;
		const char *hash = memchr(t, '#', n);

		if (hash)
			n = (size_t)(hash - t);
		while (p < n && tl_is_blank(t[p]))
			p++;
		if (p == n)
			continue;
		for (k = p; k < n && !tl_is_blank(t[k]); k++)
			;
		for (e = n; e > k && tl_is_blank(t[e - 1]); e--)
			;
		l->key = xstrndup(t + p, k - p);
		for (; k < e && tl_is_blank(t[k]); k++)
			;
		if (k == e) {
			*err = xasprintf("line %zu: missing value for \"%s\"", i + 1, l->key);
			r = -EINVAL;
			goto out;
		}
		l->v0 = k;
		l->v1 = e;
		l->value = xstrndup(t + k, e - k);
	}
out:
	return r;
}

int dkimconf_parse(const char *text, size_t len, struct dkimconf **out, char **err)
{
	struct dkimconf *dc = xcalloc(1, sizeof(*dc));
	int r;

	*out = NULL;
	*err = NULL;
	r = tl_split(&dc->tl, text, len, NULL, err);
	if (r < 0)
		goto out;
	r = analyze(dc, err);
	if (r < 0)
		goto out;
	*out = dc;
	dc = NULL;
out:
	dkimconf_free(dc);
	return r;
}

char *dkimconf_render(const struct dkimconf *dc, size_t *len)
{
	return tl_render(&dc->tl, len);
}

static int is_key(const struct dc_line *l, const char *key)
{
	return l->key && strcasecmp(l->key, key) == 0;
}

const char *dkimconf_get(const struct dkimconf *dc, const char *key)
{
	size_t i;

	for (i = dc->tl.n; i > 0; i--)
		if (is_key(&dc->lines[i - 1], key))
			return dc->lines[i - 1].value;
	return NULL;
}

size_t dkimconf_count(const struct dkimconf *dc, const char *key)
{
	size_t i, n = 0;

	for (i = 0; i < dc->tl.n; i++)
		if (is_key(&dc->lines[i], key))
			n++;
	return n;
}

size_t dkimconf_line_count(const struct dkimconf *dc)
{
	return dc->tl.n;
}

const char *dkimconf_line(const struct dkimconf *dc, size_t i, size_t *len, const char **owner)
{
	if (i >= dc->tl.n)
		return NULL;
	if (len)
		*len = dc->tl.v[i].len;
	if (owner)
		*owner = dc->lines[i].key;
	return dc->tl.v[i].text;
}

static int valid_key(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p)
		return 0;
	for (; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '#')
			return 0;
	return 1;
}

static int valid_value(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n == 0 || tl_is_blank(s[0]) || tl_is_blank(s[n - 1]))
		return 0;
	for (; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f || *p == '#')
			return 0;
	return 1;
}

static int reparse(struct dkimconf *dc, struct buf *b)
{
	struct dkimconf *n = NULL;
	char *err = NULL;
	int r;

	r = dkimconf_parse(b->data ? b->data : "", b->len, &n, &err);
	if (r < 0) {
		r = -EPROTO;	/* an edit produced text we cannot parse: a bug */
		goto out;
	}
	free_parts(dc);
	*dc = *n;
	free(n);
out:
	free(err);
	buf_free(b);
	return r;
}

/* A commented-out example "#Key<blanks>value" (or "# Key ..."): the length
 * of the blanks after the key, with *sep pointing at them; 0 if not one. */
static size_t example_of(const struct dkimconf *dc, size_t i, const char *key, const char **sep)
{
	const char *t = dc->tl.v[i].text;
	size_t n = tl_content_len(&dc->tl.v[i]), p = 0, k, s, klen = strlen(key);

	if (dc->lines[i].key)
		return 0;
	while (p < n && tl_is_blank(t[p]))
		p++;
	if (p == n || t[p] != '#')
		return 0;
	for (p++; p < n && tl_is_blank(t[p]); p++)
		;
	for (k = p; k < n && !tl_is_blank(t[k]); k++)
		;
	if (k - p != klen || strncasecmp(t + p, key, klen) != 0)
		return 0;
	for (s = k; s < n && tl_is_blank(t[s]); s++)
		;
	if (s == k || s == n)
		return 0;
	*sep = t + k;
	return s - k;
}

int dkimconf_set(struct dkimconf *dc, const char *key, const char *value)
{
	struct buf b = { 0 };
	size_t i, first = (size_t)-1, ex = (size_t)-1, seplen = 0;
	const char *sep = "\t", *eol = tl_default_eol(&dc->tl);
	int r;

	if (!valid_key(key) || !valid_value(value)) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < dc->tl.n && first == (size_t)-1; i++)
		if (is_key(&dc->lines[i], key))
			first = i;
	if (first == (size_t)-1) {
		const char *s;
		size_t sl;

		for (i = 0; i < dc->tl.n; i++) {
			sl = example_of(dc, i, key, &s);
			if (!sl)
				continue;
			if (ex == (size_t)-1) {
				sep = s;
				seplen = sl;
			} else if (ex + 1 != i) {
				break;
			}
			ex = i;
		}
		if (ex == (size_t)-1)
			seplen = 1;
		for (i = 0; i < dc->tl.n; i++) {
			tl_put(&b, &dc->tl.v[i]);
			if (i == ex || (ex == (size_t)-1 && i + 1 == dc->tl.n)) {
				tl_terminate(&b, eol);
				buf_puts(&b, key);
				buf_append(&b, sep, seplen);
				buf_puts(&b, value);
				buf_puts(&b, eol);
			}
		}
		if (dc->tl.n == 0) {
			buf_puts(&b, key);
			buf_append(&b, sep, seplen);
			buf_puts(&b, value);
			buf_puts(&b, eol);
		}
		r = reparse(dc, &b);
		goto out;
	}
	for (i = 0; i < dc->tl.n; i++) {
		const struct tline *t = &dc->tl.v[i];
		const struct dc_line *l = &dc->lines[i];

		if (i == first) {
			buf_append(&b, t->text, l->v0);
			buf_puts(&b, value);
			buf_append(&b, t->text + l->v1, t->len - l->v1);
		} else if (is_key(l, key)) {
			tl_put_disabled(&b, t);
		} else {
			tl_put(&b, t);
		}
	}
	r = reparse(dc, &b);
out:
	buf_free(&b);
	return r;
}

int dkimconf_unset(struct dkimconf *dc, const char *key)
{
	struct buf b = { 0 };
	size_t i;
	int r = 0;

	if (dkimconf_count(dc, key) == 0)
		goto out;
	for (i = 0; i < dc->tl.n; i++) {
		if (is_key(&dc->lines[i], key))
			tl_put_disabled(&b, &dc->tl.v[i]);
		else
			tl_put(&b, &dc->tl.v[i]);
	}
	r = reparse(dc, &b);
out:
	buf_free(&b);
	return r;
}
