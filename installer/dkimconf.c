/*
 * dkimconf.c - in-memory parser and editor for opendkim.conf (see
 * dkimconf.h).
 *
 * The file is kept as its physical lines; a parse records, per definition
 * line, the key and where the value sits, so a set() can replace just the
 * value.  An edit builds the new text and parses it again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkimconf.h"
#include "util.h"

struct dc_line {
	char *text;
	size_t len;		/* including the line end */
	char *key;		/* NULL unless a definition */
	char *value;
	size_t v0, v1;		/* value bytes [v0, v1) */
};

struct dkimconf {
	struct dc_line *lines;
	size_t nlines;
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static size_t content_len(const struct dc_line *l)
{
	size_t n = l->len;

	if (n > 0 && l->text[n - 1] == '\n') {
		n--;
		if (n > 0 && l->text[n - 1] == '\r')
			n--;
	}
	return n;
}

static const char *line_eol(const struct dc_line *l)
{
	size_t c = content_len(l);

	if (c == l->len)
		return "";
	return l->len - c == 2 ? "\r\n" : "\n";
}

static const char *default_eol(const struct dkimconf *dc)
{
	size_t i;

	for (i = dc->nlines; i > 0; i--) {
		const char *e = line_eol(&dc->lines[i - 1]);
		if (*e)
			return e;
	}
	return "\n";
}

static void free_parts(struct dkimconf *dc)
{
	size_t i;

	for (i = 0; i < dc->nlines; i++) {
		free(dc->lines[i].text);
		free(dc->lines[i].key);
		free(dc->lines[i].value);
	}
	free(dc->lines);
	dc->lines = NULL;
	dc->nlines = 0;
}

void dkimconf_free(struct dkimconf *dc)
{
	if (!dc)
		return;
	free_parts(dc);
	free(dc);
}

static int split_lines(struct dkimconf *dc, const char *text, size_t len, char **err)
{
	size_t i = 0, cap = 0;
	int r = 0;

	while (i < len) {
		size_t start = i;
		struct dc_line *l;

		for (; i < len && text[i] != '\n'; i++) {
			unsigned char c = (unsigned char)text[i];

			if (c == 0) {
				*err = xasprintf("line %zu: NUL byte", dc->nlines + 1);
				r = -EINVAL;
				goto out;
			}
			if (c == '\r' && !(i + 1 < len && text[i + 1] == '\n')) {
				*err = xasprintf("line %zu: carriage return not followed by a newline",
						 dc->nlines + 1);
				r = -EINVAL;
				goto out;
			}
			if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
				*err = xasprintf("line %zu: control character 0x%02x",
						 dc->nlines + 1, c);
				r = -EINVAL;
				goto out;
			}
		}
		if (i < len)
			i++;
		if (dc->nlines == cap) {
			cap = cap ? 2 * cap : 64;
			dc->lines = xrealloc(dc->lines, cap * sizeof(*dc->lines));
		}
		l = &dc->lines[dc->nlines++];
		memset(l, 0, sizeof(*l));
		l->len = i - start;
		l->text = xmalloc(l->len + 1);
		memcpy(l->text, text + start, l->len);
		l->text[l->len] = 0;
	}
out:
	return r;
}

static int analyze(struct dkimconf *dc, char **err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < dc->nlines; i++) {
		struct dc_line *l = &dc->lines[i];
		const char *t = l->text;
		size_t n = content_len(l), p = 0, k, e;
		const char *hash = memchr(t, '#', n);

		if (hash)
			n = (size_t)(hash - t);
		while (p < n && is_blank(t[p]))
			p++;
		if (p == n)
			continue;
		for (k = p; k < n && !is_blank(t[k]); k++)
			;
		for (e = n; e > k && is_blank(t[e - 1]); e--)
			;
		l->key = xstrndup(t + p, k - p);
		for (; k < e && is_blank(t[k]); k++)
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
	r = split_lines(dc, text, len, err);
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
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < dc->nlines; i++)
		buf_append(&b, dc->lines[i].text, dc->lines[i].len);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

static int is_key(const struct dc_line *l, const char *key)
{
	return l->key && strcasecmp(l->key, key) == 0;
}

const char *dkimconf_get(const struct dkimconf *dc, const char *key)
{
	size_t i;

	for (i = dc->nlines; i > 0; i--)
		if (is_key(&dc->lines[i - 1], key))
			return dc->lines[i - 1].value;
	return NULL;
}

size_t dkimconf_count(const struct dkimconf *dc, const char *key)
{
	size_t i, n = 0;

	for (i = 0; i < dc->nlines; i++)
		if (is_key(&dc->lines[i], key))
			n++;
	return n;
}

size_t dkimconf_line_count(const struct dkimconf *dc)
{
	return dc->nlines;
}

const char *dkimconf_line(const struct dkimconf *dc, size_t i, size_t *len, const char **owner)
{
	if (i >= dc->nlines)
		return NULL;
	if (len)
		*len = dc->lines[i].len;
	if (owner)
		*owner = dc->lines[i].key;
	return dc->lines[i].text;
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

	if (n == 0 || is_blank(s[0]) || is_blank(s[n - 1]))
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
static size_t example_of(const struct dc_line *l, const char *key, const char **sep)
{
	const char *t = l->text;
	size_t n = content_len(l), p = 0, k, s, klen = strlen(key);

	if (l->key)
		return 0;
	while (p < n && is_blank(t[p]))
		p++;
	if (p == n || t[p] != '#')
		return 0;
	for (p++; p < n && is_blank(t[p]); p++)
		;
	for (k = p; k < n && !is_blank(t[k]); k++)
		;
	if (k - p != klen || strncasecmp(t + p, key, klen) != 0)
		return 0;
	for (s = k; s < n && is_blank(t[s]); s++)
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
	const char *sep = "\t", *eol = default_eol(dc);
	int r;

	if (!valid_key(key) || !valid_value(value)) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < dc->nlines && first == (size_t)-1; i++)
		if (is_key(&dc->lines[i], key))
			first = i;
	if (first == (size_t)-1) {
		const char *s;
		size_t sl;

		for (i = 0; i < dc->nlines; i++) {
			sl = example_of(&dc->lines[i], key, &s);
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
		for (i = 0; i < dc->nlines; i++) {
			buf_append(&b, dc->lines[i].text, dc->lines[i].len);
			if (i == ex || (ex == (size_t)-1 && i + 1 == dc->nlines)) {
				if (b.data[b.len - 1] != '\n')
					buf_puts(&b, eol);
				buf_puts(&b, key);
				buf_append(&b, sep, seplen);
				buf_puts(&b, value);
				buf_puts(&b, eol);
			}
		}
		if (dc->nlines == 0) {
			buf_puts(&b, key);
			buf_append(&b, sep, seplen);
			buf_puts(&b, value);
			buf_puts(&b, eol);
		}
		r = reparse(dc, &b);
		goto out;
	}
	for (i = 0; i < dc->nlines; i++) {
		const struct dc_line *l = &dc->lines[i];

		if (i == first) {
			buf_append(&b, l->text, l->v0);
			buf_puts(&b, value);
			buf_append(&b, l->text + l->v1, l->len - l->v1);
		} else {
			if (is_key(l, key))
				buf_puts(&b, DKIMCONF_DISABLED_PREFIX);
			buf_append(&b, l->text, l->len);
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
	for (i = 0; i < dc->nlines; i++) {
		if (is_key(&dc->lines[i], key))
			buf_puts(&b, DKIMCONF_DISABLED_PREFIX);
		buf_append(&b, dc->lines[i].text, dc->lines[i].len);
	}
	r = reparse(dc, &b);
out:
	buf_free(&b);
	return r;
}
