/*
 * kvfile.c - in-place editor for shell variable files and `key: value`
 * files (see kvfile.h).
 *
 * Kept as physical lines (textlines.h); every edit builds the new text and
 * parses it again, so the object is always what a fresh parse of its
 * rendering gives.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvfile.h"
#include "textlines.h"
#include "util.h"

enum { K_BLANK, K_COMMENT, K_DEF, K_CONT, K_OPAQUE };
#define NO_DEF ((size_t)-1)

/* What physical line i (tl.v[i]) is. */
struct kv_line {
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
	struct tlines tl;
	struct kv_line *lines;	/* tl.n of them */
	struct kv_def *defs;
	size_t ndefs;
};

/* A malloc'd copy of s[0..n) without leading and trailing blanks. */
static char *trim_dup(const char *s, size_t n)
{
	while (n && tl_is_blank(*s))
		s++, n--;
	while (n && tl_is_blank(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* The line end for new lines: that of the first line, or "\n". */
static const char *new_eol(const struct kvfile *kv)
{
	const char *e = kv->tl.n ? tl_eol(&kv->tl.v[0]) : "";

	return *e ? e : "\n";
}

static int key_eq(const struct kvfile *kv, const char *a, const char *b)
{
	return kv->style == KV_COLON ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

static void free_parts(struct kvfile *kv)
{
	size_t i;

	tl_free(&kv->tl);
	for (i = 0; i < kv->ndefs; i++) {
		free(kv->defs[i].key);
		free(kv->defs[i].value);
	}
	free(kv->lines);
	free(kv->defs);
}

void kvfile_free(struct kvfile *kv)
{
	if (!kv)
		return;
	free_parts(kv);
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
	while (i < n && tl_is_blank(s[i]))
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
	while (e > i && tl_is_blank(s[e - 1]))
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
		if (tl_is_blank(s[k]) || strchr("\"'$`\\;&|<>()#", s[k]))
			goto complex;
	*value = xstrndup(s + i, e - i);
	return 1;
complex:
	*complex = 1;
	*value = xstrndup(s + i, e - i);
	return 1;
}

/*
 * The shell quoting state at the end of a line that starts in state q: 0
 * (none), '"' or '\'' (a quoted word goes on to the next line), or '\\' (a
 * backslash-newline: the command goes on).  A # starting a word outside
 * quotes ends the line's code.
 */
static char shell_quote_after(const char *s, size_t n, char q)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (q == '\'') {
			if (ch == '\'')
				q = 0;
		} else if (ch == '\\') {
			if (i + 1 == n)
				return q ? q : '\\';
			i++;
		} else if (q == '"') {
			if (ch == '"')
				q = 0;
		} else if (ch == '"' || ch == '\'') {
			q = ch;
		} else if (ch == '#' && (i == 0 || tl_is_blank(s[i - 1]))) {
			break;
		}
	}
	return q;
}

static int analyze(struct kvfile *kv, char **err)
{
	size_t ln, last = NO_DEF, open_def = NO_DEF, open_line = 0;
	char open_q = 0;

	kv->lines = xcalloc(kv->tl.n, sizeof(*kv->lines));
	for (ln = 1; ln <= kv->tl.n; ln++) {
		const char *s = kv->tl.v[ln - 1].text;
		size_t c = tl_content_len(&kv->tl.v[ln - 1]), i;
		struct kv_line *l = &kv->lines[ln - 1];

		l->def = NO_DEF;
		/*
		 * KV_SHELL: a line inside a quoted value (or after a backslash-newline)
		 * belongs to the assignment above it, whatever it looks like: editing
		 * that one replaces or disables all its lines; a "MECH=x" there is text.
		 */
		if (kv->style == KV_SHELL && open_q) {
			l->kind = open_def == NO_DEF ? K_OPAQUE : K_CONT;
			l->def = open_def;
			if (open_def != NO_DEF) {
				struct kv_def *d = &kv->defs[open_def];
				char *j = xasprintf("%s\n%.*s", d->value, (int)c, s);
				free(d->value);
				d->value = j;
			}
			open_q = shell_quote_after(s, c, open_q == '\\' ? 0 : open_q);
			continue;
		}
		for (i = 0; i < c && tl_is_blank(s[i]); i++)
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
				l->def = add_def(kv, xstrndup(s + ns, nln), v, ln - 1);
				(void)cx;
			} else {
				l->kind = K_OPAQUE;
			}
			open_q = shell_quote_after(s, c, 0);
			open_def = l->def;
			open_line = ln;
		} else if (i > 0) {
			struct kv_def *d;
			char *j, *t;
			if (last == NO_DEF) {
				*err = xasprintf("line %zu: continuation line (starts with a blank) before any entry", ln);
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
				return -EINVAL;
			}
			ke = (size_t)(colon - s);
			while (ke > 0 && tl_is_blank(s[ke - 1]))
				ke--;
			if (ke == 0) {
				*err = xasprintf("line %zu: empty key before ':'", ln);
				return -EINVAL;
			}
			vs = (size_t)(colon - s) + 1;
			while (vs < c && tl_is_blank(s[vs]))
				vs++;
			l->kind = K_DEF;
			l->vstart = vs;
			last = l->def = add_def(kv, xstrndup(s, ke), trim_dup(s + vs, c - vs), ln - 1);
		}
	}
	if (open_q == '"' || open_q == '\'') {
		*err = xasprintf("line %zu: the quoted value opened here is never closed", open_line);
		return -EINVAL;
	}
	if (open_q == '\\') {	/* a line added at the end would continue it */
		*err = xasprintf("line %zu: the file ends in a backslash-newline (the command goes on past the end)",
				 kv->tl.n);
		return -EINVAL;
	}
	return 0;
}

static const struct tl_wording kv_wording = { "carriage return inside a line", " (binary data?)" };

int kvfile_parse(const char *text, size_t len, enum kv_style style, struct kvfile **out, char **err)
{
	struct kvfile *kv = xcalloc(1, sizeof(*kv));
	char *split_err = NULL;
	int r, split_r;

	*err = NULL;
	kv->style = style;
	/* The first error in file order wins: the lines before a bad byte
	 * (kept by tl_split) are analysed before it is reported. */
	split_r = tl_split(&kv->tl, text, len, &kv_wording, &split_err);
	r = analyze(kv, err);
	if (r == 0 && split_r < 0) {
		r = split_r;
		*err = split_err;
		split_err = NULL;
	}
	free(split_err);
	if (r < 0) {
		kvfile_free(kv);
		return r;
	}
	*out = kv;
	return 0;
}

char *kvfile_render(const struct kvfile *kv, size_t *len)
{
	return tl_render(&kv->tl, len);
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
	if (n && (tl_is_blank(v[0]) || tl_is_blank(v[n - 1])))
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
	if (r < 0) {
		free(err);
		return -EINVAL;	/* cannot happen for validated edits */
	}
	free_parts(kv);
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
	for (i = 0; i < kv->tl.n; i++) {
		const struct tline *t = &kv->tl.v[i];
		const struct kv_line *l = &kv->lines[i];
		int mine = l->def != NO_DEF && key_eq(kv, kv->defs[l->def].key, key);
		if (!mine) {
			tl_put(&b, t);
		} else if (l->def == first) {
			if (l->kind == K_DEF) {
				buf_append(&b, t->text, l->vstart);	/* "NAME=" or "key:<blanks>" as written */
				if (kv->style == KV_COLON && t->text[l->vstart - 1] == ':')
					buf_puts(&b, " ");
				put_value(kv, &b, value);
				buf_puts(&b, tl_eol(t));
			}
		} else {
			tl_put_disabled(&b, t);
		}
	}
	if (first == NO_DEF) {
		tl_terminate(&b, new_eol(kv));
		buf_printf(&b, "%s%s", key, kv->style == KV_SHELL ? "=" : ": ");
		put_value(kv, &b, value);
		buf_puts(&b, new_eol(kv));
	}
	r = reparse(kv, &b);
	buf_free(&b);
	return r;
}
