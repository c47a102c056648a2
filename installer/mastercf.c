/*
 * mastercf.c - in-memory parser and editor for Postfix master.cf (see
 * mastercf.h).
 *
 * The file is kept as its physical lines (textlines.h).  A parse assigns
 * lines to entries
 * and splits each entry's logical line into words, remembering where every
 * word sits (line and offsets), so edits can change single words in place.
 * An edit builds the new text and parses it again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mastercf.h"
#include "textlines.h"
#include "util.h"

enum { L_BLANK, L_COMMENT, L_SERVICE, L_CONT };
#define NONE ((size_t)-1)

/* What physical line i (tl.v[i]) is. */
struct mf_line {
	int kind;
	size_t svc;		/* owning entry, or NONE */
};

struct mf_tok {
	size_t l0, o0;		/* first byte: line, offset */
	size_t l1, o1;		/* end (exclusive): line, offset */
	char *text;		/* the word, lines joined raw as Postfix does */
};

struct mf_opt {
	size_t flag_tok, val_tok;	/* "-o" and "name=value" (same when "-oname=value") */
	char *name, *value;
};

struct mf_svc {
	struct mf_tok *toks;
	size_t ntoks;
	const char **args;	/* views of toks[8..] */
	struct mf_opt *opts;
	size_t nopts;
	size_t opt_end;		/* index of the first word that ends option parsing, or ntoks */
	size_t first_line, last_line;
};

struct mastercf {
	struct tlines tl;
	struct mf_line *lines;	/* tl.n of them */
	struct mf_svc *svcs;
	size_t nsvcs;
};

static void free_parts(struct mastercf *mf)
{
	size_t i, j;

	tl_free(&mf->tl);
	for (i = 0; i < mf->nsvcs; i++) {
		struct mf_svc *s = &mf->svcs[i];
		for (j = 0; j < s->ntoks; j++)
			free(s->toks[j].text);
		for (j = 0; j < s->nopts; j++) {
			free(s->opts[j].name);
			free(s->opts[j].value);
		}
		free(s->toks);
		free(s->args);
		free(s->opts);
	}
	free(mf->lines);
	free(mf->svcs);
	mf->lines = NULL;
	mf->svcs = NULL;
	mf->nsvcs = 0;
}

void mastercf_free(struct mastercf *mf)
{
	if (!mf)
		return;
	free_parts(mf);
	free(mf);
}

static void push_tok(struct mf_svc *s, size_t *cap, size_t l0, size_t o0, size_t l1, size_t o1,
		     struct buf *b)
{
	struct mf_tok *t;

	if (s->ntoks == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		s->toks = xrealloc(s->toks, *cap * sizeof(*s->toks));
	}
	t = &s->toks[s->ntoks++];
	t->l0 = l0;
	t->o0 = o0;
	t->l1 = l1;
	t->o1 = o1;
	t->text = buf_steal(b);
}

/* Split entry idx into words.  From the first argument on, `{ ... }` groups
 * blanks and line ends into one word (Postfix 3 mystrtokq()).  Returns the
 * index of the line where an unclosed '{' word starts, or NONE. */
static size_t tokenize(struct mastercf *mf, size_t idx)
{
	struct mf_svc *s = &mf->svcs[idx];
	struct buf cur = { 0 };
	size_t i, cap = 0, l0 = 0, o0 = 0, lastl = 0, lasto = 0;
	int in = 0, depth = 0;

	for (i = s->first_line; i <= s->last_line; i++) {
		const char *t = mf->tl.v[i].text;
		size_t o, n = tl_content_len(&mf->tl.v[i]);

		if (mf->lines[i].svc != idx)
			continue;	/* comment or blank line inside the entry */
		for (o = 0; o < n; o++) {
			char c = t[o];

			if (!in) {
				if (tl_is_blank(c))
					continue;
				in = 1;
				depth = 0;
				l0 = i;
				o0 = o;
			} else if (depth == 0 && tl_is_blank(c)) {
				push_tok(s, &cap, l0, o0, i, o, &cur);
				in = 0;
				continue;
			}
			if (s->ntoks >= 8) {
				if (c == '{')
					depth++;
				else if (c == '}' && depth > 0)
					depth--;
			}
			buf_append(&cur, &c, 1);
			lastl = i;
			lasto = o + 1;
		}
		if (in && depth == 0) {
			push_tok(s, &cap, l0, o0, i, n, &cur);
			in = 0;
		}
	}
	if (in)
		push_tok(s, &cap, l0, o0, lastl, lasto, &cur);
	buf_free(&cur);
	return in && depth > 0 ? l0 : NONE;
}

/* "name = value" (braces stripped) → name, value; 0 or -1. */
static int split_nameval(const char *s, char **name, char **value)
{
	size_t n = strlen(s), a = 0, e, q, v;

	if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
		a = 1;
		n--;
	}
	while (a < n && (tl_is_blank(s[a]) || s[a] == '\n'))
		a++;
	while (n > a && (tl_is_blank(s[n - 1]) || s[n - 1] == '\n'))
		n--;
	for (e = a; e < n && !tl_is_blank(s[e]) && s[e] != '='; e++)
		;
	if (e == a)
		return -1;
	for (q = e; q < n && tl_is_blank(s[q]); q++)
		;
	if (q == n || s[q] != '=')
		return -1;
	for (v = q + 1; v < n && tl_is_blank(s[v]); v++)
		;
	*name = xstrndup(s + a, e - a);
	*value = xstrndup(s + v, n - v);
	return 0;
}

static void add_opt(struct mf_svc *s, size_t *cap, size_t flag_tok, size_t val_tok, const char *text)
{
	char *name, *value;

	if (split_nameval(text, &name, &value) < 0)
		return;
	if (s->nopts == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		s->opts = xrealloc(s->opts, *cap * sizeof(*s->opts));
	}
	s->opts[s->nopts].flag_tok = flag_tok;
	s->opts[s->nopts].val_tok = val_tok;
	s->opts[s->nopts].name = name;
	s->opts[s->nopts].value = value;
	s->nopts++;
}

/* Postfix daemons parse their arguments with getopt("+..."): options stop
 * at the first word that does not start with '-', or after "--". */
static void scan_options(struct mf_svc *s)
{
	size_t k, cap = 0;

	s->opt_end = s->ntoks;
	for (k = 8; k < s->ntoks; k++) {
		const char *t = s->toks[k].text;

		if (strcmp(t, "-o") == 0) {
			if (k + 1 == s->ntoks) {
				/* a dangling "-o" would take an appended option
				 * as its argument */
				s->opt_end = k;
				break;
			}
			add_opt(s, &cap, k, k + 1, s->toks[k + 1].text);
			k++;
			continue;
		}
		if (strncmp(t, "-o", 2) == 0) {
			add_opt(s, &cap, k, k, t + 2);
			continue;
		}
		if (t[0] == '-' && strcmp(t, "--") != 0)
			continue;
		s->opt_end = k;
		break;
	}
}

static int one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

static const char *const service_types[] = { "inet", "unix", "unix-dgram", "fifo", "pass", NULL };
static const char *const field_names[] = { "service", "type", "private", "unpriv", "chroot",
					    "wakeup", "maxproc", "command" };

static int all_digits(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int valid_word(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p)
		return 0;
	for (; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '{' || *p == '}')
			return 0;
	return 1;
}

/* Is value acceptable for field f (1 = type .. 7 = command)? */
static int field_ok(int f, const char *v)
{
	size_t n = strlen(v);

	switch (f) {
	case 1:
		return one_of(v, service_types);
	case 2:
	case 3:
	case 4:
		return strcmp(v, "y") == 0 || strcmp(v, "n") == 0 || strcmp(v, "-") == 0;
	case 5:
		if (strcmp(v, "-") == 0)
			return 1;
		if (n > 1 && v[n - 1] == '?')
			n--;
		return all_digits(v, n);
	case 6:
		return strcmp(v, "-") == 0 || all_digits(v, n);
	default:
		return valid_word(v) && v[0] != '#';
	}
}

static int analyze(struct mastercf *mf, char **err)
{
	size_t i, cap = 0, cur = NONE;
	int r = 0, f;

	mf->lines = xcalloc(mf->tl.n, sizeof(*mf->lines));
	for (i = 0; i < mf->tl.n; i++) {
		struct mf_line *l = &mf->lines[i];
		const char *t = mf->tl.v[i].text;
		size_t n = tl_content_len(&mf->tl.v[i]), p = 0;

		l->svc = NONE;
		while (p < n && tl_is_blank(t[p]))
			p++;
		if (p == n) {
			l->kind = L_BLANK;
		} else if (t[p] == '#') {
			l->kind = L_COMMENT;
		} else if (p > 0) {
			if (cur == NONE) {
				*err = xasprintf("line %zu: continuation line without a preceding service entry",
						 i + 1);
				r = -EINVAL;
				goto out;
			}
			l->kind = L_CONT;
			l->svc = cur;
			mf->svcs[cur].last_line = i;
		} else {
			if (mf->nsvcs == cap) {
				cap = cap ? 2 * cap : 32;
				mf->svcs = xrealloc(mf->svcs, cap * sizeof(*mf->svcs));
			}
			cur = mf->nsvcs++;
			memset(&mf->svcs[cur], 0, sizeof(mf->svcs[cur]));
			mf->svcs[cur].first_line = mf->svcs[cur].last_line = i;
			l->kind = L_SERVICE;
			l->svc = cur;
		}
	}
	for (i = 0; i < mf->nsvcs; i++) {
		struct mf_svc *s = &mf->svcs[i];
		size_t k;

		k = tokenize(mf, i);
		if (k != NONE) {
			/* Postfix 3: fatal "missing '}'"; 2.10 would take it literally */
			*err = xasprintf("line %zu: missing '}'", k + 1);
			r = -EINVAL;
			goto out;
		}
		if (s->ntoks < 8) {
			*err = xasprintf("line %zu: service entry has %zu fields, expected at least 8 "
					 "(service type private unpriv chroot wakeup maxproc command)",
					 s->first_line + 1, s->ntoks);
			r = -EINVAL;
			goto out;
		}
		for (f = 1; f < 7; f++) {
			if (field_ok(f, s->toks[f].text))
				continue;
			*err = xasprintf("line %zu: bad %s field \"%s\"", s->toks[f].l0 + 1,
					 field_names[f], s->toks[f].text);
			r = -EINVAL;
			goto out;
		}
		s->args = xcalloc(s->ntoks - 8 + 1, sizeof(*s->args));
		for (k = 8; k < s->ntoks; k++)
			s->args[k - 8] = s->toks[k].text;
		scan_options(s);
	}
out:
	return r;
}

int mastercf_parse(const char *text, size_t len, struct mastercf **out, char **err)
{
	struct mastercf *mf = xcalloc(1, sizeof(*mf));
	int r;

	*out = NULL;
	*err = NULL;
	r = tl_split(&mf->tl, text, len, NULL, err);
	if (r < 0)
		goto out;
	r = analyze(mf, err);
	if (r < 0)
		goto out;
	*out = mf;
	mf = NULL;
out:
	mastercf_free(mf);
	return r;
}

char *mastercf_render(const struct mastercf *mf, size_t *len)
{
	return tl_render(&mf->tl, len);
}

static int svc_is(const struct mf_svc *s, const char *name, const char *type)
{
	return strcmp(s->toks[0].text, name) == 0 && strcmp(s->toks[1].text, type) == 0;
}

static size_t find_last(const struct mastercf *mf, const char *name, const char *type)
{
	size_t i;

	for (i = mf->nsvcs; i > 0; i--)
		if (svc_is(&mf->svcs[i - 1], name, type))
			return i - 1;
	return NONE;
}

size_t mastercf_count(const struct mastercf *mf, const char *name, const char *type)
{
	size_t i, n = 0;

	for (i = 0; i < mf->nsvcs; i++)
		if (svc_is(&mf->svcs[i], name, type))
			n++;
	return n;
}

int mastercf_service_at(const struct mastercf *mf, size_t idx, struct mastercf_service *out)
{
	const struct mf_svc *s;
	int k;

	if (idx >= mf->nsvcs)
		return -ENOENT;
	s = &mf->svcs[idx];
	memset(out, 0, sizeof(*out));
	for (k = 0; k < 8; k++)
		out->field[k] = s->toks[k].text;
	out->name = out->field[0];
	out->type = out->field[1];
	out->nargs = s->ntoks - 8;
	out->args = s->args;
	out->first_line = s->first_line + 1;
	out->last_line = s->last_line + 1;
	return 0;
}

int mastercf_find(const struct mastercf *mf, const char *name, const char *type,
		  struct mastercf_service *out)
{
	size_t i = find_last(mf, name, type);

	if (i == NONE)
		return -ENOENT;
	return mastercf_service_at(mf, i, out);
}

int mastercf_get_option(const struct mastercf *mf, const char *name, const char *type,
			const char *opt, const char **value)
{
	size_t i = find_last(mf, name, type), k;

	*value = NULL;
	if (i == NONE)
		return -ENOENT;
	for (k = 0; k < mf->svcs[i].nopts; k++)
		if (strcmp(mf->svcs[i].opts[k].name, opt) == 0)
			*value = mf->svcs[i].opts[k].value;
	return 0;
}

size_t mastercf_line_count(const struct mastercf *mf)
{
	return mf->tl.n;
}

const char *mastercf_line(const struct mastercf *mf, size_t i, size_t *len, size_t *owner_index)
{
	if (i >= mf->tl.n)
		return NULL;
	if (len)
		*len = mf->tl.v[i].len;
	if (owner_index)
		*owner_index = mf->lines[i].svc;
	return mf->tl.v[i].text;
}

size_t mastercf_service_count(const struct mastercf *mf)
{
	return mf->nsvcs;
}

/*
 * Working copy for an edit: each line as a buffer, a drop flag, and text to
 * insert after it.
 */
struct wline {
	struct buf b;
	int drop;
	struct buf after;
};

struct work {
	size_t n;
	struct wline *l;
};

static struct work *work_new(const struct mastercf *mf)
{
	struct work *w = xcalloc(1, sizeof(*w));
	size_t i;

	w->n = mf->tl.n;
	w->l = xcalloc(w->n + 1, sizeof(*w->l));
	for (i = 0; i < w->n; i++)
		tl_put(&w->l[i].b, &mf->tl.v[i]);
	return w;
}

static void work_free(struct work *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i <= w->n; i++) {
		buf_free(&w->l[i].b);
		buf_free(&w->l[i].after);
	}
	free(w->l);
	free(w);
}

/* Replace mf by a parse of text[0..len). */
static int replace_all(struct mastercf *mf, const char *text, size_t len)
{
	struct mastercf *n = NULL;
	char *err = NULL;
	int r;

	r = mastercf_parse(text, len, &n, &err);
	if (r < 0) {
		r = -EPROTO;	/* an edit produced text we cannot parse: a bug */
		goto out;
	}
	free_parts(mf);
	*mf = *n;
	free(n);
out:
	free(err);
	return r;
}

/* Replace mf by a parse of the working copy. */
static int work_commit(struct mastercf *mf, struct work *w)
{
	struct buf b = { 0 };
	size_t i;
	int r;

	for (i = 0; i < w->n; i++) {
		if (!w->l[i].drop)
			buf_append(&b, w->l[i].b.data ? w->l[i].b.data : "", w->l[i].b.len);
		buf_append(&b, w->l[i].after.data ? w->l[i].after.data : "", w->l[i].after.len);
	}
	r = replace_all(mf, b.data ? b.data : "", b.len);
	buf_free(&b);
	return r;
}

/* Make sure line i ends with a line end (it may be the last, unterminated). */
static void work_terminate(const struct mastercf *mf, struct work *w, size_t i)
{
	tl_terminate(&w->l[i].b, tl_default_eol(&mf->tl));
}

static void replace_range(struct buf *b, size_t o0, size_t o1, const char *s)
{
	struct buf n = { 0 };

	buf_append(&n, b->data, o0);
	buf_puts(&n, s);
	buf_append(&n, b->data + o1, b->len - o1);
	buf_free(b);
	*b = n;
}

static int valid_opt(const char *opt, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;

	if (!valid_word(opt) || strchr(opt, '=') || opt[0] == '#')
		return 0;
	for (; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '{' || *p == '}')
			return 0;
	return 1;
}

int mastercf_set_option(struct mastercf *mf, const char *name, const char *type,
			const char *opt, const char *value)
{
	struct work *w = NULL;
	size_t i = find_last(mf, name, type), k, found = 0;
	struct mf_svc *s;
	int r;

	if (i == NONE) {
		r = -ENOENT;
		goto out;
	}
	if (!valid_opt(opt, value)) {
		r = -EINVAL;
		goto out;
	}
	s = &mf->svcs[i];
	for (k = 0; k < s->nopts; k++) {
		const struct mf_tok *t = &s->toks[s->opts[k].val_tok];
		if (strcmp(s->opts[k].name, opt) == 0 && t->l0 != t->l1) {
			r = -ENOTSUP;
			goto out;
		}
	}
	w = work_new(mf);
	/* Replace from the last so offsets on a shared line stay valid. */
	for (k = s->nopts; k > 0; k--) {
		const struct mf_opt *o = &s->opts[k - 1];
		const struct mf_tok *t = &s->toks[o->val_tok];
		char *repl;

		if (strcmp(o->name, opt) != 0)
			continue;
		repl = xasprintf("%s%s=%s", o->flag_tok == o->val_tok ? "-o" : "", opt, value);
		replace_range(&w->l[t->l0].b, t->o0, t->o1, repl);
		free(repl);
		found++;
	}
	if (!found) {
		if (s->opt_end < s->ntoks) {
			r = -ENOTSUP;
			goto out;
		}
		work_terminate(mf, w, s->last_line);
		buf_printf(&w->l[s->last_line].after, "  -o %s=%s%s", opt, value,
			   tl_default_eol(&mf->tl));
	}
	r = work_commit(mf, w);
out:
	work_free(w);
	return r;
}

/* Mark word t of entry s for removal, with the blanks that separate it. */
static void mark_remove(const struct mastercf *mf, const struct mf_svc *s, size_t t, char **mask)
{
	const struct mf_tok *tok = &s->toks[t];
	const struct tline *l = &mf->tl.v[tok->l0];
	char *m = mask[tok->l0];
	size_t o, n = tl_content_len(l);
	int kept_after = 0;

	for (o = tok->o0; o < tok->o1; o++)
		m[o] = 1;
	for (o = tok->o1; o < n; o++) {
		if (tl_is_blank(l->text[o]) || m[o])
			continue;
		kept_after = 1;
		break;
	}
	if (kept_after) {
		for (o = tok->o1; o < n && tl_is_blank(l->text[o]); o++)
			m[o] = 1;
	} else {
		for (o = tok->o0; o > 0 && tl_is_blank(l->text[o - 1]); o--)
			m[o - 1] = 1;
	}
}

int mastercf_unset_option(struct mastercf *mf, const char *name, const char *type,
			  const char *opt)
{
	struct work *w = NULL;
	char **mask = NULL;
	size_t i = find_last(mf, name, type), k, j, found = 0, nmask = mf->tl.n;
	struct mf_svc *s;
	int r;

	if (i == NONE) {
		r = -ENOENT;
		goto out;
	}
	s = &mf->svcs[i];
	for (k = 0; k < s->nopts; k++) {
		const struct mf_tok *t = &s->toks[s->opts[k].val_tok];
		if (strcmp(s->opts[k].name, opt) != 0)
			continue;
		if (t->l0 != t->l1) {
			r = -ENOTSUP;
			goto out;
		}
		found++;
	}
	r = 0;
	if (!found)
		goto out;
	mask = xcalloc(nmask, sizeof(*mask));
	for (j = s->first_line; j <= s->last_line; j++)
		mask[j] = xcalloc(mf->tl.v[j].len + 1, 1);
	/* two passes: a word's separator depends on what else goes */
	for (j = 0; j < 2; j++)
		for (k = 0; k < s->nopts; k++) {
			if (strcmp(s->opts[k].name, opt) != 0)
				continue;
			mark_remove(mf, s, s->opts[k].flag_tok, mask);
			if (s->opts[k].val_tok != s->opts[k].flag_tok)
				mark_remove(mf, s, s->opts[k].val_tok, mask);
		}
	w = work_new(mf);
	for (j = s->first_line; j <= s->last_line; j++) {
		const struct tline *l = &mf->tl.v[j];
		size_t o, n = tl_content_len(l);
		int blank = 1;

		if (mf->lines[j].svc != i)
			continue;
		buf_free(&w->l[j].b);
		for (o = 0; o < l->len; o++) {
			if (mask[j][o])
				continue;
			buf_append(&w->l[j].b, &l->text[o], 1);
			if (o < n && !tl_is_blank(l->text[o]))
				blank = 0;
		}
		if (blank && mf->lines[j].kind == L_CONT)
			w->l[j].drop = 1;
	}
	r = work_commit(mf, w);
out:
	if (mask) {
		/* mf may have been replaced: free by the size allocated */
		for (j = 0; j < nmask; j++)
			free(mask[j]);
		free(mask);
	}
	work_free(w);
	return r;
}

int mastercf_set_field(struct mastercf *mf, const char *name, const char *type,
		       enum mastercf_field f, const char *value)
{
	struct work *w = NULL;
	size_t i = find_last(mf, name, type);
	const struct mf_tok *t;
	int r;

	if (i == NONE) {
		r = -ENOENT;
		goto out;
	}
	if ((int)f < MASTERCF_PRIVATE || (int)f > MASTERCF_COMMAND || !field_ok((int)f, value)) {
		r = -EINVAL;
		goto out;
	}
	t = &mf->svcs[i].toks[f];
	w = work_new(mf);
	replace_range(&w->l[t->l0].b, t->o0, t->o1, value);
	r = work_commit(mf, w);
out:
	work_free(w);
	return r;
}

/* Disable every entry of (name, type) except entry keep (NONE: all). */
static int disable_but(struct mastercf *mf, const char *name, const char *type, size_t keep)
{
	struct work *w = work_new(mf);
	size_t i;
	int r;

	for (i = 0; i < mf->tl.n; i++) {
		size_t s = mf->lines[i].svc;

		if (s == NONE || s == keep || !svc_is(&mf->svcs[s], name, type))
			continue;
		buf_free(&w->l[i].b);
		tl_put_disabled(&w->l[i].b, &mf->tl.v[i]);
	}
	r = work_commit(mf, w);
	work_free(w);
	return r;
}

int mastercf_dedupe(struct mastercf *mf, const char *name, const char *type, int keep_last)
{
	size_t i, keep = NONE;

	if (mastercf_count(mf, name, type) <= 1)
		return 0;
	for (i = 0; i < mf->nsvcs; i++)
		if (svc_is(&mf->svcs[i], name, type) && (keep == NONE || keep_last))
			keep = i;
	return disable_but(mf, name, type, keep);
}

int mastercf_disable(struct mastercf *mf, const char *name, const char *type)
{
	if (mastercf_count(mf, name, type) == 0)
		return 0;
	return disable_but(mf, name, type, NONE);
}

int mastercf_inet_endpoint(const char *service, char **host, char **port)
{
	const char *colon, *p;

	*host = *port = NULL;
	if (service[0] == '[') {
		const char *close = strchr(service, ']');

		if (!close || close[1] != ':' || close[2] == 0)
			return -EINVAL;
		*host = xstrndup(service + 1, (size_t)(close - service - 1));
		*port = xstrdup(close + 2);
		return 0;
	}
	colon = strrchr(service, ':');
	p = colon ? colon + 1 : service;
	if (*p == 0)
		return -EINVAL;
	*host = colon ? xstrndup(service, (size_t)(colon - service)) : xstrdup("");
	*port = xstrdup(p);
	return 0;
}

/* Is line i a commented-out entry "#name type f f f f f command ..."? */
static int is_commented_entry(const struct mastercf *mf, size_t i, const char *name,
			      const char *type)
{
	const struct tline *l = &mf->tl.v[i];
	size_t n = tl_content_len(l), p = 0, ntok = 0, s;
	int match = 1;

	if (mf->lines[i].kind != L_COMMENT)
		return 0;
	while (p < n && tl_is_blank(l->text[p]))
		p++;
	p++;			/* the '#' */
	while (p < n) {
		while (p < n && tl_is_blank(l->text[p]))
			p++;
		if (p == n)
			break;
		s = p;
		while (p < n && !tl_is_blank(l->text[p]))
			p++;
		if (ntok == 0 && (p - s != strlen(name) || memcmp(l->text + s, name, p - s) != 0))
			match = 0;
		if (ntok == 1 && (p - s != strlen(type) || memcmp(l->text + s, type, p - s) != 0))
			match = 0;
		ntok++;
	}
	return match && ntok >= 8;
}

/* Is line i a commented-out continuation line: "#", a blank, a word? */
static int is_commented_cont(const struct mastercf *mf, size_t i)
{
	const struct tline *l = &mf->tl.v[i];
	size_t n = tl_content_len(l), p = 0;

	if (mf->lines[i].kind != L_COMMENT)
		return 0;
	while (p < n && tl_is_blank(l->text[p]))
		p++;
	p++;
	if (p >= n || !tl_is_blank(l->text[p]))
		return 0;
	while (p < n && tl_is_blank(l->text[p]))
		p++;
	return p < n;
}

/* Where to insert a new (name, type) entry: after line index returned, or
 * NONE for the end of the file. */
static size_t insertion_point(const struct mastercf *mf, const char *name, const char *type)
{
	size_t i, end, j;

	for (i = 0; i < mf->tl.n; i++) {
		if (!is_commented_entry(mf, i, name, type))
			continue;
		for (end = i; end + 1 < mf->tl.n && is_commented_cont(mf, end + 1); end++)
			;
		/* unsafe if an active continuation line follows: it would
		 * become part of the new entry */
		for (j = end + 1; j < mf->tl.n; j++)
			if (mf->lines[j].kind != L_BLANK && mf->lines[j].kind != L_COMMENT)
				break;
		if (j < mf->tl.n && mf->lines[j].kind == L_CONT)
			continue;
		return end;
	}
	return NONE;
}

int mastercf_add_service(struct mastercf *mf, const struct mastercf_new_service *ns)
{
	const char *fields[5] = { "-", "-", "-", "-", "-" };
	struct work *w = NULL;
	struct buf line = { 0 };
	const char *eol = tl_default_eol(&mf->tl);
	const char *const *a;
	size_t at, k;
	int r;

	if (!ns->name || !ns->type) {
		r = -EINVAL;
		goto out;
	}
	if (find_last(mf, ns->name, ns->type) != NONE) {
		r = -EEXIST;
		goto out;
	}
	if (!valid_word(ns->name) || ns->name[0] == '#' || !field_ok(1, ns->type) ||
	    !ns->command || !field_ok(7, ns->command)) {
		r = -EINVAL;
		goto out;
	}
	if (ns->template_name) {
		size_t t = find_last(mf, ns->template_name,
				     ns->template_type ? ns->template_type : "inet");
		if (t == NONE) {
			r = -ENOENT;
			goto out;
		}
		for (k = 0; k < 5; k++)
			fields[k] = mf->svcs[t].toks[2 + k].text;
	}
	for (k = 0; k < 5; k++) {
		if (ns->fields[k])
			fields[k] = ns->fields[k];
		if (!field_ok(2 + (int)k, fields[k])) {
			r = -EINVAL;
			goto out;
		}
	}
	buf_printf(&line, "%-9s %-5s %-7s %-7s %-7s %-7s %-7s %s", ns->name, ns->type,
		   fields[0], fields[1], fields[2], fields[3], fields[4], ns->command);
	for (a = ns->args; a && *a; a++) {
		if (!valid_word(*a)) {
			r = -EINVAL;
			goto out;
		}
		buf_printf(&line, " %s", *a);
	}
	buf_puts(&line, eol);
	for (a = ns->options; a && *a; a++) {
		const char *eq = strchr(*a, '=');
		char *o;
		int ok;

		if (!eq) {
			r = -EINVAL;
			goto out;
		}
		o = xstrndup(*a, (size_t)(eq - *a));
		ok = valid_opt(o, eq + 1);
		free(o);
		if (!ok) {
			r = -EINVAL;
			goto out;
		}
		buf_printf(&line, "  -o %s%s", *a, eol);
	}
	if (mf->tl.n == 0) {
		r = replace_all(mf, line.data, line.len);
		goto out;
	}
	at = insertion_point(mf, ns->name, ns->type);
	if (at == NONE)
		at = mf->tl.n - 1;
	w = work_new(mf);
	work_terminate(mf, w, at);
	buf_append(&w->l[at].after, line.data, line.len);
	r = work_commit(mf, w);
out:
	buf_free(&line);
	work_free(w);
	return r;
}
