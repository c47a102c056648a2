/*
 * maincf.c - in-memory parser and editor for Postfix main.cf (see maincf.h).
 *
 * The file is kept as its physical lines (textlines.h); a parse classifies
 * every line and records the parameters.  An edit builds
 * the new text line by line and parses it again, so the object is always
 * exactly what a fresh parse of the rendered text would give.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maincf.h"
#include "textlines.h"
#include "util.h"

enum { L_BLANK, L_COMMENT, L_PARAM, L_CONT };
#define NO_PARAM ((size_t)-1)

/* What physical line i (tl.v[i]) is. */
struct mc_line {
	int kind;
	size_t param;		/* index into params, or NO_PARAM */
};

struct mc_param {
	char *name;
	char *value;		/* joined logical value */
	size_t line;		/* index of the defining line */
};

struct maincf {
	struct tlines tl;
	struct mc_line *lines;	/* tl.n of them */
	struct mc_param *params;
	size_t nparams;
};

static void free_parts(struct maincf *mc)
{
	size_t i;

	tl_free(&mc->tl);
	for (i = 0; i < mc->nparams; i++) {
		free(mc->params[i].name);
		free(mc->params[i].value);
	}
	free(mc->lines);
	free(mc->params);
	mc->lines = NULL;
	mc->params = NULL;
	mc->nparams = 0;
}

void maincf_free(struct maincf *mc)
{
	if (!mc)
		return;
	free_parts(mc);
	free(mc);
}

/* The value built in val (the parameter's line and its continuations) becomes param cur's. */
static void set_value(struct maincf *mc, size_t cur, struct buf *val)
{
	if (cur == NO_PARAM)
		return;
	free(mc->params[cur].value);
	mc->params[cur].value = buf_steal(val);
}

static int analyze(struct maincf *mc, char **err)
{
	size_t i, cap = 0, cur = NO_PARAM;
	struct buf val = { 0 };
	int r = 0;

	mc->lines = xcalloc(mc->tl.n, sizeof(*mc->lines));
	for (i = 0; i < mc->tl.n; i++) {
		struct mc_line *l = &mc->lines[i];
		const char *t = mc->tl.v[i].text;
		size_t n = tl_content_len(&mc->tl.v[i]), p = 0, e, q, v;

		while (p < n && tl_is_blank(t[p]))
			p++;
		l->param = NO_PARAM;
		if (p == n) {
			l->kind = L_BLANK;
			continue;
		}
		if (t[p] == '#') {
			l->kind = L_COMMENT;
			continue;
		}
		e = n;
		while (e > p && tl_is_blank(t[e - 1]))
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
			/* Appended to the value being built (linear: 100k continuation lines stay fast). */
			if (val.len)
				buf_puts(&val, " ");
			buf_append(&val, t + p, e - p);
			continue;
		}
		/* name [blanks] = [blanks] value [blanks] */
		for (q = 0; q < n && !tl_is_blank(t[q]) && t[q] != '='; q++)
			;
		if (q == 0) {
			*err = xasprintf("line %zu: missing parameter name before '='", i + 1);
			r = -EINVAL;
			goto out;
		}
		for (v = q; v < n && tl_is_blank(t[v]); v++)
			;
		if (v == n || t[v] != '=') {
			*err = xasprintf("line %zu: missing '=' after parameter name", i + 1);
			r = -EINVAL;
			goto out;
		}
		for (v++; v < e && tl_is_blank(t[v]); v++)
			;
		if (mc->nparams == cap) {
			cap = cap ? 2 * cap : 32;
			mc->params = xrealloc(mc->params, cap * sizeof(*mc->params));
		}
		set_value(mc, cur, &val);
		cur = mc->nparams++;
		mc->params[cur].name = xstrndup(t, q);
		mc->params[cur].value = NULL;
		buf_append(&val, t + v, e > v ? e - v : 0);
		mc->params[cur].line = i;
		l->kind = L_PARAM;
		l->param = cur;
	}
out:
	set_value(mc, cur, &val);
	buf_free(&val);
	return r;
}

int maincf_parse(const char *text, size_t len, struct maincf **out, char **err)
{
	struct maincf *mc = xcalloc(1, sizeof(*mc));
	int r;

	*out = NULL;
	*err = NULL;
	r = tl_split(&mc->tl, text, len, NULL, err);
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
	return tl_render(&mc->tl, len);
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
	return mc->tl.n;
}

const char *maincf_line(const struct maincf *mc, size_t i, size_t *len, const char **owner)
{
	size_t p;

	if (i >= mc->tl.n)
		return NULL;
	p = mc->lines[i].param;
	if (len)
		*len = mc->tl.v[i].len;
	if (owner)
		*owner = p == NO_PARAM ? NULL : mc->params[p].name;
	return mc->tl.v[i].text;
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

	if (n && (tl_is_blank(s[0]) || tl_is_blank(s[n - 1])))
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
		const char *eol = tl_default_eol(&mc->tl);
		for (i = 0; i < mc->tl.n; i++)
			tl_put(&b, &mc->tl.v[i]);
		tl_terminate(&b, eol);
		buf_printf(&b, "%s =%s%s%s", name, *value ? " " : "", value, eol);
		r = reparse(mc, &b);
		goto out;
	}
	for (i = 0; i < mc->tl.n; i++) {
		const struct mc_line *l = &mc->lines[i];

		if (!is_param(mc, i, name)) {
			tl_put(&b, &mc->tl.v[i]);
		} else if (l->param == first) {
			if (l->kind == L_PARAM)
				buf_printf(&b, "%s =%s%s%s", name, *value ? " " : "", value,
					   tl_eol(&mc->tl.v[i]));
			/* its continuation lines are dropped */
		} else {
			tl_put_disabled(&b, &mc->tl.v[i]);
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
	for (i = 0; i < mc->tl.n; i++) {
		if (is_param(mc, i, name))
			tl_put_disabled(&b, &mc->tl.v[i]);
		else
			tl_put(&b, &mc->tl.v[i]);
	}
	r = reparse(mc, &b);
out:
	buf_free(&b);
	return r;
}
