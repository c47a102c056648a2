/*
 * maincf.c - in-memory parser and editor for Postfix main.cf (see maincf.h).
 *
 * The file is kept as its physical lines (bytes as read, line end included);
 * a parse classifies every line and records the parameters.  An edit builds
 * the new text line by line and parses it again, so the object is always
 * exactly what a fresh parse of the rendered text would give.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maincf.h"
#include "util.h"

enum { L_BLANK, L_COMMENT, L_PARAM, L_CONT };
#define NO_PARAM ((size_t)-1)

struct mc_line {
	char *text;
	size_t len;		/* including the line end */
	int kind;
	size_t param;		/* index into params, or NO_PARAM */
};

struct mc_param {
	char *name;
	char *value;		/* joined logical value */
	size_t line;		/* index of the defining line */
};

struct maincf {
	struct mc_line *lines;
	size_t nlines;
	struct mc_param *params;
	size_t nparams;
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Length of a line without its "\n" or "\r\n". */
static size_t content_len(const struct mc_line *l)
{
	size_t n = l->len;

	if (n > 0 && l->text[n - 1] == '\n') {
		n--;
		if (n > 0 && l->text[n - 1] == '\r')
			n--;
	}
	return n;
}

static const char *line_eol(const struct mc_line *l)
{
	size_t c = content_len(l);

	if (c == l->len)
		return "";
	return l->len - c == 2 ? "\r\n" : "\n";
}

/* The line end used for new lines: that of the last line having one. */
static const char *default_eol(const struct maincf *mc)
{
	size_t i;

	for (i = mc->nlines; i > 0; i--) {
		const char *e = line_eol(&mc->lines[i - 1]);
		if (*e)
			return e;
	}
	return "\n";
}

static void free_parts(struct maincf *mc)
{
	size_t i;

	for (i = 0; i < mc->nlines; i++)
		free(mc->lines[i].text);
	for (i = 0; i < mc->nparams; i++) {
		free(mc->params[i].name);
		free(mc->params[i].value);
	}
	free(mc->lines);
	free(mc->params);
	mc->lines = NULL;
	mc->params = NULL;
	mc->nlines = mc->nparams = 0;
}

void maincf_free(struct maincf *mc)
{
	if (!mc)
		return;
	free_parts(mc);
	free(mc);
}

/* Split into physical lines, rejecting binary junk. */
static int split_lines(struct maincf *mc, const char *text, size_t len, char **err)
{
	size_t i = 0, cap = 0;
	int r = 0;

	while (i < len) {
		size_t start = i;
		struct mc_line *l;

		for (; i < len && text[i] != '\n'; i++) {
			unsigned char c = (unsigned char)text[i];

			if (c == 0) {
				*err = xasprintf("line %zu: NUL byte", mc->nlines + 1);
				r = -EINVAL;
				goto out;
			}
			if (c == '\r' && !(i + 1 < len && text[i + 1] == '\n')) {
				*err = xasprintf("line %zu: carriage return not followed by a newline",
						 mc->nlines + 1);
				r = -EINVAL;
				goto out;
			}
			if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
				*err = xasprintf("line %zu: control character 0x%02x",
						 mc->nlines + 1, c);
				r = -EINVAL;
				goto out;
			}
		}
		if (i < len)
			i++;
		if (mc->nlines == cap) {
			cap = cap ? 2 * cap : 64;
			mc->lines = xrealloc(mc->lines, cap * sizeof(*mc->lines));
		}
		l = &mc->lines[mc->nlines++];
		l->len = i - start;
		l->text = xmalloc(l->len + 1);
		memcpy(l->text, text + start, l->len);
		l->text[l->len] = 0;
		l->kind = L_BLANK;
		l->param = NO_PARAM;
	}
out:
	return r;
}

static int analyze(struct maincf *mc, char **err)
{
	size_t i, cap = 0, cur = NO_PARAM;
	struct buf val = { 0 };
	int r = 0;

	for (i = 0; i < mc->nlines; i++) {
		struct mc_line *l = &mc->lines[i];
		const char *t = l->text;
		size_t n = content_len(l), p = 0, e, q, v;

		while (p < n && is_blank(t[p]))
			p++;
		if (p == n) {
			l->kind = L_BLANK;
			continue;
		}
		if (t[p] == '#') {
			l->kind = L_COMMENT;
			continue;
		}
		e = n;
		while (e > p && is_blank(t[e - 1]))
			e--;
		if (p > 0) {
			if (cur == NO_PARAM) {
				*err = xasprintf("line %zu: continuation line without a preceding parameter",
						 i + 1);
				r = -EINVAL;
				goto out;
			}
			l->kind = L_CONT;
			l->param = cur;
			buf_free(&val);
			buf_puts(&val, mc->params[cur].value);
			if (val.len)
				buf_puts(&val, " ");
			buf_append(&val, t + p, e - p);
			free(mc->params[cur].value);
			mc->params[cur].value = buf_steal(&val);
			continue;
		}
		/* name [blanks] = [blanks] value [blanks] */
		for (q = 0; q < n && !is_blank(t[q]) && t[q] != '='; q++)
			;
		if (q == 0) {
			*err = xasprintf("line %zu: missing parameter name before '='", i + 1);
			r = -EINVAL;
			goto out;
		}
		for (v = q; v < n && is_blank(t[v]); v++)
			;
		if (v == n || t[v] != '=') {
			*err = xasprintf("line %zu: missing '=' after parameter name", i + 1);
			r = -EINVAL;
			goto out;
		}
		for (v++; v < e && is_blank(t[v]); v++)
			;
		if (mc->nparams == cap) {
			cap = cap ? 2 * cap : 32;
			mc->params = xrealloc(mc->params, cap * sizeof(*mc->params));
		}
		cur = mc->nparams++;
		mc->params[cur].name = xstrndup(t, q);
		mc->params[cur].value = xstrndup(t + v, e > v ? e - v : 0);
		mc->params[cur].line = i;
		l->kind = L_PARAM;
		l->param = cur;
	}
out:
	buf_free(&val);
	return r;
}

int maincf_parse(const char *text, size_t len, struct maincf **out, char **err)
{
	struct maincf *mc = xcalloc(1, sizeof(*mc));
	int r;

	*out = NULL;
	*err = NULL;
	r = split_lines(mc, text, len, err);
	if (r < 0)
		goto out;
	r = analyze(mc, err);
	if (r < 0)
		goto out;
	*out = mc;
	mc = NULL;
out:
	maincf_free(mc);
	return r;
}

char *maincf_render(const struct maincf *mc, size_t *len)
{
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < mc->nlines; i++)
		buf_append(&b, mc->lines[i].text, mc->lines[i].len);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

const char *maincf_get(const struct maincf *mc, const char *name)
{
	size_t i;

	for (i = mc->nparams; i > 0; i--)
		if (strcmp(mc->params[i - 1].name, name) == 0)
			return mc->params[i - 1].value;
	return NULL;
}

size_t maincf_count(const struct maincf *mc, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < mc->nparams; i++)
		if (strcmp(mc->params[i].name, name) == 0)
			n++;
	return n;
}

size_t maincf_line_count(const struct maincf *mc)
{
	return mc->nlines;
}

const char *maincf_line(const struct maincf *mc, size_t i, size_t *len, const char **owner)
{
	const struct mc_line *l;

	if (i >= mc->nlines)
		return NULL;
	l = &mc->lines[i];
	if (len)
		*len = l->len;
	if (owner)
		*owner = l->param == NO_PARAM ? NULL : mc->params[l->param].name;
	return l->text;
}

static int valid_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p || *p == '#')
		return 0;
	for (; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '=')
			return 0;
	return 1;
}

static int valid_value(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n && (is_blank(s[0]) || is_blank(s[n - 1])))
		return 0;
	for (; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

/* Replace mc's contents by a parse of b (consumed). */
static int reparse(struct maincf *mc, struct buf *b)
{
	struct maincf *n = NULL;
	char *err = NULL;
	int r;

	r = maincf_parse(b->data ? b->data : "", b->len, &n, &err);
	if (r < 0) {
		r = -EPROTO;	/* an edit produced text we cannot parse: a bug */
		goto out;
	}
	free_parts(mc);
	*mc = *n;
	free(n);
out:
	free(err);
	buf_free(b);
	return r;
}

static int is_param(const struct maincf *mc, size_t line, const char *name)
{
	size_t p = mc->lines[line].param;

	return p != NO_PARAM && strcmp(mc->params[p].name, name) == 0;
}

static void ensure_eol(struct buf *b, const char *eol)
{
	if (b->len && b->data[b->len - 1] != '\n')
		buf_puts(b, eol);
}

int maincf_set(struct maincf *mc, const char *name, const char *value)
{
	struct buf b = { 0 };
	size_t i, first = NO_PARAM;
	int r;

	if (!valid_name(name) || !valid_value(value)) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < mc->nparams && first == NO_PARAM; i++)
		if (strcmp(mc->params[i].name, name) == 0)
			first = i;
	if (first == NO_PARAM) {
		const char *eol = default_eol(mc);
		for (i = 0; i < mc->nlines; i++)
			buf_append(&b, mc->lines[i].text, mc->lines[i].len);
		ensure_eol(&b, eol);
		buf_printf(&b, "%s =%s%s%s", name, *value ? " " : "", value, eol);
		r = reparse(mc, &b);
		goto out;
	}
	for (i = 0; i < mc->nlines; i++) {
		const struct mc_line *l = &mc->lines[i];

		if (!is_param(mc, i, name)) {
			buf_append(&b, l->text, l->len);
		} else if (l->param == first) {
			if (l->kind == L_PARAM)
				buf_printf(&b, "%s =%s%s%s", name, *value ? " " : "", value,
					   line_eol(l));
			/* its continuation lines are dropped */
		} else {
			buf_puts(&b, MAINCF_DISABLED_PREFIX);
			buf_append(&b, l->text, l->len);
		}
	}
	r = reparse(mc, &b);
out:
	buf_free(&b);
	return r;
}

int maincf_unset(struct maincf *mc, const char *name)
{
	struct buf b = { 0 };
	size_t i;
	int r = 0;

	if (maincf_count(mc, name) == 0)
		goto out;
	for (i = 0; i < mc->nlines; i++) {
		if (is_param(mc, i, name))
			buf_puts(&b, MAINCF_DISABLED_PREFIX);
		buf_append(&b, mc->lines[i].text, mc->lines[i].len);
	}
	r = reparse(mc, &b);
out:
	buf_free(&b);
	return r;
}
