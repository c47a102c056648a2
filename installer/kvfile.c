/*
 * kvfile.c - in-place editor for shell variable files and `key: value`
 * files (see kvfile.h).
 *
 * Kept as physical lines; every edit builds the new text and parses it
 * again, so the object is always what a fresh parse of its rendering gives.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvfile.h"
#include "util.h"

enum { K_BLANK, K_COMMENT, K_DEF, K_CONT, K_OPAQUE };
#define NO_DEF ((size_t)-1)

struct kv_line {
	char *text;
	size_t len;		/* with its line end */
	int kind;
	size_t def;		/* K_DEF, K_CONT: index into defs */
	size_t vstart;		/* K_DEF: offset of the value in text */
};

struct kv_def {
	char *key;		/* as written */
	char *value;		/* effective (unquoted / joined) */
	size_t line;
};

struct kvfile {
	enum kv_style style;
	struct kv_line *lines;
	size_t nlines;
	struct kv_def *defs;
	size_t ndefs;
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* A malloc'd copy of s[0..n) without leading and trailing blanks. */
static char *trim_dup(const char *s, size_t n)
{
	while (n && is_blank(*s))
		s++, n--;
	while (n && is_blank(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

static size_t content_len(const char *t, size_t n)
{
	if (n > 0 && t[n - 1] == '\n') {
		n--;
		if (n > 0 && t[n - 1] == '\r')
			n--;
	}
	return n;
}

static const char *eol_of(const struct kv_line *l)
{
	size_t c = content_len(l->text, l->len);
	return l->len - c == 2 ? "\r\n" : l->len - c == 1 ? "\n" : "";
}

static int key_eq(const struct kvfile *kv, const char *a, const char *b)
{
	return kv->style == KV_COLON ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

void kvfile_free(struct kvfile *kv)
{
	size_t i;
	if (!kv)
		return;
	for (i = 0; i < kv->nlines; i++)
		free(kv->lines[i].text);
	for (i = 0; i < kv->ndefs; i++) {
		free(kv->defs[i].key);
		free(kv->defs[i].value);
	}
	free(kv->lines);
	free(kv->defs);
	free(kv);
}

static size_t add_def(struct kvfile *kv, char *key, char *value, size_t line)
{
	kv->defs = xrealloc(kv->defs, (kv->ndefs + 1) * sizeof(*kv->defs));
	kv->defs[kv->ndefs].key = key;
	kv->defs[kv->ndefs].value = value;
	kv->defs[kv->ndefs].line = line;
	return kv->ndefs++;
}

/* A shell assignment NAME=value whose value is one plain, single- or
 * double-quoted word without expansions.  *complex: NAME= with anything
 * else after it (still a definition of NAME, never reproduced). */
static int shell_assign(const char *s, size_t n, size_t *nstart, size_t *nlen, size_t *vstart, char **value,
			int *complex)
{
	size_t i = 0, k, e;
	while (i < n && is_blank(s[i]))
		i++;
	if (i >= n || !(isalpha((unsigned char)s[i]) || s[i] == '_'))
		return 0;
	k = i;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	if (i >= n || s[i] != '=')
		return 0;
	*nstart = k;
	*nlen = i - k;
	*vstart = ++i;
	*complex = 0;
	e = n;
	while (e > i && is_blank(s[e - 1]))
		e--;
	if (i < e && (s[i] == '"' || s[i] == '\'')) {
		char q = s[i];
		size_t j;
		if (e - i < 2 || s[e - 1] != q)
			goto complex;
		for (j = i + 1; j < e - 1; j++)
			if (s[j] == q || (q == '"' && (s[j] == '$' || s[j] == '`' || s[j] == '\\')))
				goto complex;
		*value = xstrndup(s + i + 1, e - i - 2);
		return 1;
	}
	for (k = i; k < e; k++)
		if (is_blank(s[k]) || strchr("\"'$`\\;&|<>()#", s[k]))
			goto complex;
	*value = xstrndup(s + i, e - i);
	return 1;
complex:
	*complex = 1;
	*value = xstrndup(s + i, e - i);
	return 1;
}

static int parse_lines(struct kvfile *kv, const char *text, size_t len, char **err)
{
	size_t off = 0, ln = 0, last = NO_DEF;

	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) + 1 : len - off, c = content_len(s, n), i;
		struct kv_line *l;

		ln++;
		for (i = 0; i < c; i++) {
			unsigned char ch = (unsigned char)s[i];
			if (ch == 0) {
				*err = xasprintf("line %zu: NUL byte (binary data?)", ln);
				return -EINVAL;
			}
			if (ch == '\r') {
				*err = xasprintf("line %zu: carriage return inside a line", ln);
				return -EINVAL;
			}
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				*err = xasprintf("line %zu: control character 0x%02x (binary data?)", ln, ch);
				return -EINVAL;
			}
		}
		kv->lines = xrealloc(kv->lines, (kv->nlines + 1) * sizeof(*kv->lines));
		l = &kv->lines[kv->nlines];
		memset(l, 0, sizeof(*l));
		l->text = xstrndup(s, n);
		l->len = n;
		l->def = NO_DEF;
		for (i = 0; i < c && is_blank(s[i]); i++)
			;
		if (i == c) {
			l->kind = K_BLANK;
		} else if (s[i] == '#') {
			l->kind = K_COMMENT;
		} else if (kv->style == KV_SHELL) {
			size_t ns, nln, vs;
			char *v = NULL;
			int cx;
			if (shell_assign(s, c, &ns, &nln, &vs, &v, &cx)) {
				l->kind = K_DEF;
				l->vstart = vs;
				l->def = add_def(kv, xstrndup(s + ns, nln), v, kv->nlines);
				(void)cx;
			} else {
				l->kind = K_OPAQUE;
			}
		} else if (i > 0) {
			struct kv_def *d;
			char *j, *t;
			if (last == NO_DEF) {
				*err = xasprintf("line %zu: continuation line (starts with a blank) before any entry", ln);
				kv->nlines++;
				return -EINVAL;
			}
			l->kind = K_CONT;
			l->def = last;
			d = &kv->defs[last];
			t = trim_dup(s, c);
			j = xasprintf("%s%s%s", d->value, *d->value ? " " : "", t);
			free(t);
			free(d->value);
			d->value = j;
		} else {
			const char *colon = memchr(s, ':', c);
			size_t ke, vs;
			if (!colon) {
				*err = xasprintf("line %zu: no ':' (expected \"key: value\")", ln);
				kv->nlines++;
				return -EINVAL;
			}
			ke = (size_t)(colon - s);
			while (ke > 0 && is_blank(s[ke - 1]))
				ke--;
			if (ke == 0) {
				*err = xasprintf("line %zu: empty key before ':'", ln);
				kv->nlines++;
				return -EINVAL;
			}
			vs = (size_t)(colon - s) + 1;
			while (vs < c && is_blank(s[vs]))
				vs++;
			l->kind = K_DEF;
			l->vstart = vs;
			last = l->def = add_def(kv, xstrndup(s, ke), trim_dup(s + vs, c - vs), kv->nlines);
		}
		kv->nlines++;
		off += n;
	}
	return 0;
}

int kvfile_parse(const char *text, size_t len, enum kv_style style, struct kvfile **out, char **err)
{
	struct kvfile *kv = xcalloc(1, sizeof(*kv));
	int r;

	*err = NULL;
	kv->style = style;
	r = parse_lines(kv, text, len, err);
	if (r < 0) {
		kvfile_free(kv);
		return r;
	}
	*out = kv;
	return 0;
}

char *kvfile_render(const struct kvfile *kv, size_t *len)
{
	struct buf b = { 0 };
	size_t i;
	for (i = 0; i < kv->nlines; i++)
		buf_append(&b, kv->lines[i].text, kv->lines[i].len);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

const char *kvfile_get(const struct kvfile *kv, const char *key)
{
	size_t i;
	for (i = kv->ndefs; i > 0; i--)
		if (key_eq(kv, kv->defs[i - 1].key, key))
			return kv->defs[i - 1].value;
	return NULL;
}

size_t kvfile_count(const struct kvfile *kv, const char *key)
{
	size_t i, n = 0;
	for (i = 0; i < kv->ndefs; i++)
		n += key_eq(kv, kv->defs[i].key, key);
	return n;
}

static int valid_key(const struct kvfile *kv, const char *k)
{
	size_t i;
	if (!*k || *k == '#')
		return 0;
	for (i = 0; k[i]; i++) {
		unsigned char c = (unsigned char)k[i];
		if (kv->style == KV_SHELL ? !(isalnum(c) || c == '_') || (i == 0 && isdigit(c))
					  : (c <= ' ' || c == ':' || c == 0x7f))
			return 0;
	}
	return 1;
}

static int valid_value(const struct kvfile *kv, const char *v)
{
	size_t i, n = strlen(v);
	if (n && (is_blank(v[0]) || is_blank(v[n - 1])))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
		if (kv->style == KV_SHELL && strchr("\"$`\\", c))
			return 0;
	}
	return 1;
}

static int needs_quotes(const char *v)
{
	if (!*v)
		return 0;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && !strchr("_./:@,+-", *v))
			return 1;
	return 0;
}

static void put_value(const struct kvfile *kv, struct buf *b, const char *v)
{
	if (kv->style == KV_SHELL && needs_quotes(v))
		buf_printf(b, "\"%s\"", v);
	else
		buf_puts(b, v);
}

static int reparse(struct kvfile *kv, struct buf *b)
{
	struct kvfile *n;
	char *err = NULL;
	int r = kvfile_parse(b->data ? b->data : "", b->len, kv->style, &n, &err);
	size_t i;
	if (r < 0) {
		free(err);
		return -EINVAL;	/* cannot happen for validated edits */
	}
	for (i = 0; i < kv->nlines; i++)
		free(kv->lines[i].text);
	for (i = 0; i < kv->ndefs; i++) {
		free(kv->defs[i].key);
		free(kv->defs[i].value);
	}
	free(kv->lines);
	free(kv->defs);
	*kv = *n;
	free(n);
	return 0;
}

int kvfile_set(struct kvfile *kv, const char *key, const char *value)
{
	struct buf b = { 0 };
	size_t i, first = NO_DEF;
	int r;

	if (!valid_key(kv, key) || !valid_value(kv, value))
		return -EINVAL;
	if (kvfile_count(kv, key) == 1 && strcmp(kvfile_get(kv, key), value) == 0)
		return 0;
	for (i = 0; i < kv->ndefs && first == NO_DEF; i++)
		if (key_eq(kv, kv->defs[i].key, key))
			first = i;
	for (i = 0; i < kv->nlines; i++) {
		const struct kv_line *l = &kv->lines[i];
		int mine = l->def != NO_DEF && key_eq(kv, kv->defs[l->def].key, key);
		if (!mine) {
			buf_append(&b, l->text, l->len);
		} else if (l->def == first) {
			if (l->kind == K_DEF) {
				buf_append(&b, l->text, l->vstart);	/* "NAME=" or "key:<blanks>" as written */
				if (kv->style == KV_COLON && l->text[l->vstart - 1] == ':')
					buf_puts(&b, " ");
				put_value(kv, &b, value);
				buf_puts(&b, eol_of(l));
			}
		} else {
			buf_puts(&b, KVFILE_DISABLED_PREFIX);
			buf_append(&b, l->text, l->len);
		}
	}
	if (first == NO_DEF) {
		if (b.len && b.data[b.len - 1] != '\n')
			buf_puts(&b, kv->nlines ? eol_of(&kv->lines[0])[0] ? eol_of(&kv->lines[0]) : "\n" : "\n");
		buf_printf(&b, "%s%s", key, kv->style == KV_SHELL ? "=" : ": ");
		put_value(kv, &b, value);
		buf_puts(&b, kv->nlines && strcmp(eol_of(&kv->lines[0]), "\r\n") == 0 ? "\r\n" : "\n");
	}
	r = reparse(kv, &b);
	buf_free(&b);
	return r;
}
