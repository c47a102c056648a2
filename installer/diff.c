/*
 * diff.c - line-based unified diff, in the exact format of GNU `diff -u`
 * with --label (for `mailstage plan`).
 *
 * Lines are numbered into equivalence classes, compared with Myers' O(ND)
 * algorithm in its linear-space form (middle snake, recursive), and the
 * resulting change runs are slid to the same canonical positions GNU diff
 * uses (as far down as possible, or to the last place where they line up
 * with a change on the other side).  Hunks have 3 lines of context and are
 * merged when their contexts overlap or touch.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "util.h"

#define CONTEXT 3

struct line {
	const char *p;
	size_t len;		/* without the newline */
	int nl;			/* ends with '\n' */
};

struct text {
	struct line *l;
	size_t n;
	int *eq;		/* equivalence class of each line */
	char *chg_mem;		/* n + 2 flags; chg = chg_mem + 1, so chg[-1] and chg[n] are 0 */
	char *chg;
};

static void split_lines(const char *s, size_t len, struct text *t)
{
	size_t cap = 16, i = 0;

	t->n = 0;
	t->l = xmalloc(cap * sizeof(*t->l));
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;

		if (t->n == cap) {
			cap *= 2;
			t->l = xrealloc(t->l, cap * sizeof(*t->l));
		}
		t->l[t->n].p = s + i;
		t->l[t->n].len = end - i;
		t->l[t->n].nl = nl != NULL;
		t->n++;
		i = nl ? end + 1 : len;
	}
	t->eq = xcalloc(t->n + 1, sizeof(int));
	t->chg_mem = xcalloc(t->n + 2, 1);
	t->chg = t->chg_mem + 1;
}

static uint64_t line_hash(const struct line *l)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < l->len; i++) {
		h ^= (unsigned char)l->p[i];
		h *= 1099511628211ULL;
	}
	h ^= (uint64_t)(l->nl + 1);
	h *= 1099511628211ULL;
	return h;
}

static int line_eq(const struct line *x, const struct line *y)
{
	return x->len == y->len && x->nl == y->nl && memcmp(x->p, y->p, x->len) == 0;
}

/* Number the lines of both texts so equal lines share a class. */
static void classify(struct text *a, struct text *b)
{
	size_t total = a->n + b->n, size = 16, i, k;
	struct slot {
		const struct line *l;
		uint64_t h;
		int id;
	} *tab;
	int next_id = 1;

	while (size < total * 2)
		size *= 2;
	tab = xcalloc(size, sizeof(*tab));
	for (k = 0; k < total; k++) {
		struct text *t = k < a->n ? a : b;
		size_t idx = k < a->n ? k : k - a->n;
		const struct line *l = &t->l[idx];
		uint64_t h = line_hash(l);

		for (i = (size_t)h & (size - 1);; i = (i + 1) & (size - 1)) {
			if (!tab[i].l) {
				tab[i].l = l;
				tab[i].h = h;
				tab[i].id = next_id++;
				break;
			}
			if (tab[i].h == h && line_eq(tab[i].l, l))
				break;
		}
		t->eq[idx] = tab[i].id;
	}
	free(tab);
}

struct cmp {
	const int *a, *b;	/* equivalence classes */
	char *da, *db;		/* change flags */
	int *fd, *bd;		/* furthest x per diagonal, offset by `off` */
};

/*
 * Middle snake of a[xlo, xhi) vs b[ylo, yhi): the point where a forward
 * D/2-path and a backward D/2-path meet.  Diagonal k = x - y.
 */
static void middle_snake(struct cmp *c, int xlo, int xhi, int ylo, int yhi, int *xm, int *ym)
{
	int *fd = c->fd, *bd = c->bd;
	const int dlo = xlo - yhi, dhi = xhi - ylo;
	const int fk = xlo - ylo, bk = xhi - yhi;
	const int odd = (fk - bk) & 1;
	int fmin = fk, fmax = fk, bmin = bk, bmax = bk;
	int k, x, y;

	fd[fk] = xlo;
	bd[bk] = xhi;
	for (;;) {
		/* forward step: widen the band of diagonals, clamped to the box */
		if (fmin > dlo)
			fd[--fmin - 1] = -1;
		else
			fmin++;
		if (fmax < dhi)
			fd[++fmax + 1] = -1;
		else
			fmax--;
		for (k = fmax; k >= fmin; k -= 2) {
			int from_left = fd[k - 1], from_above = fd[k + 1];

			x = from_left >= from_above ? from_left + 1 : from_above;
			y = x - k;
			while (x < xhi && y < yhi && c->a[x] == c->b[y]) {
				x++;
				y++;
			}
			fd[k] = x;
			if (odd && k >= bmin && k <= bmax && bd[k] <= x) {
				*xm = x;
				*ym = y;
				return;
			}
		}
		/* backward step */
		if (bmin > dlo)
			bd[--bmin - 1] = INT_MAX;
		else
			bmin++;
		if (bmax < dhi)
			bd[++bmax + 1] = INT_MAX;
		else
			bmax--;
		for (k = bmax; k >= bmin; k -= 2) {
			int from_left = bd[k - 1], from_above = bd[k + 1];

			x = from_left < from_above ? from_left : from_above - 1;
			y = x - k;
			while (x > xlo && y > ylo && c->a[x - 1] == c->b[y - 1]) {
				x--;
				y--;
			}
			bd[k] = x;
			if (!odd && k >= fmin && k <= fmax && x <= fd[k]) {
				*xm = x;
				*ym = y;
				return;
			}
		}
	}
}

static void compare(struct cmp *c, int xlo, int xhi, int ylo, int yhi)
{
	int xm, ym;

	for (;;) {
		while (xlo < xhi && ylo < yhi && c->a[xlo] == c->b[ylo]) {
			xlo++;
			ylo++;
		}
		while (xhi > xlo && yhi > ylo && c->a[xhi - 1] == c->b[yhi - 1]) {
			xhi--;
			yhi--;
		}
		if (xlo == xhi) {
			while (ylo < yhi)
				c->db[ylo++] = 1;
			return;
		}
		if (ylo == yhi) {
			while (xlo < xhi)
				c->da[xlo++] = 1;
			return;
		}
		/* Both non-empty with differing ends: D >= 2, so both halves shrink. */
		middle_snake(c, xlo, xhi, ylo, yhi, &xm, &ym);
		compare(c, xlo, xm, ylo, ym);
		xlo = xm;	/* second half iteratively */
		ylo = ym;
	}
}

/*
 * Lines whose content never occurs in the other text are changed whatever
 * happens: leave them out of the comparison (as GNU diff does), which also
 * makes the placement of equal-cost alternatives agree with it more often.
 */
static void compare_texts(struct text *ta, struct text *tb)
{
	size_t nid = ta->n + tb->n + 2, i;
	int *in_a = xcalloc(nid, sizeof(int)), *in_b = xcalloc(nid, sizeof(int));
	int *ra = xmalloc((ta->n + 1) * sizeof(int)), *rb = xmalloc((tb->n + 1) * sizeof(int));
	int *ea = xmalloc((ta->n + 1) * sizeof(int)), *eb = xmalloc((tb->n + 1) * sizeof(int));
	char *ca, *cb;
	int na = 0, nb = 0, *fd, *bd;
	struct cmp c;

	for (i = 0; i < ta->n; i++)
		in_a[ta->eq[i]] = 1;
	for (i = 0; i < tb->n; i++)
		in_b[tb->eq[i]] = 1;
	for (i = 0; i < ta->n; i++) {
		if (in_b[ta->eq[i]]) {
			ra[na] = (int)i;
			ea[na++] = ta->eq[i];
		} else {
			ta->chg[i] = 1;
		}
	}
	for (i = 0; i < tb->n; i++) {
		if (in_a[tb->eq[i]]) {
			rb[nb] = (int)i;
			eb[nb++] = tb->eq[i];
		} else {
			tb->chg[i] = 1;
		}
	}
	ca = xcalloc((size_t)na + 1, 1);
	cb = xcalloc((size_t)nb + 1, 1);
	fd = xmalloc(((size_t)na + (size_t)nb + 3) * sizeof(int));
	bd = xmalloc(((size_t)na + (size_t)nb + 3) * sizeof(int));
	c.a = ea;
	c.b = eb;
	c.da = ca;
	c.db = cb;
	c.fd = fd + nb + 1;	/* diagonals run from -nb-1 to na+1 */
	c.bd = bd + nb + 1;
	compare(&c, 0, na, 0, nb);
	for (i = 0; i < (size_t)na; i++)
		if (ca[i])
			ta->chg[ra[i]] = 1;
	for (i = 0; i < (size_t)nb; i++)
		if (cb[i])
			tb->chg[rb[i]] = 1;
	free(in_a);
	free(in_b);
	free(ra);
	free(rb);
	free(ea);
	free(eb);
	free(ca);
	free(cb);
	free(fd);
	free(bd);
}

/*
 * Canonical placement of the change runs of t (other = the other text),
 * as GNU diff does it: each run is slid up and then down over equal lines
 * (absorbing neighbouring runs) until it stops growing, and finally moved
 * back up to the lowest place where its end lines up with a change in the
 * other text, if there is one.
 */
static void slide_runs(struct text *t, const struct text *other)
{
	char *chg = t->chg;
	const char *och = other->chg;
	const int *eq = t->eq;
	const long n = (long)t->n;
	long i = 0, j = 0;	/* i in t; j the matching position in other */

	for (;;) {
		long start, len, aligned;

		/* next run; unchanged line i pairs with the next unchanged line of other */
		while (i < n && !chg[i]) {
			while (och[j])
				j++;
			j++;
			i++;
		}
		if (i == n)
			return;
		start = i;
		while (chg[i])
			i++;
		while (och[j])
			j++;

		do {
			len = i - start;
			/* up, while the line above equals the run's last line */
			while (start > 0 && eq[start - 1] == eq[i - 1]) {
				chg[--start] = 1;
				chg[--i] = 0;
				while (chg[start - 1])
					start--;
				j--;
				while (och[j])
					j--;
			}
			/* aligned: end of the run where it meets a change in other (n = none) */
			aligned = och[j - 1] ? i : n;
			/* down, while the run's first line equals the line below */
			while (i < n && eq[start] == eq[i]) {
				chg[start++] = 0;
				chg[i++] = 1;
				while (chg[i])
					i++;
				j++;
				while (och[j]) {
					j++;
					aligned = i;
				}
			}
		} while (len != i - start);

		while (aligned < i) {
			chg[--start] = 1;
			chg[--i] = 0;
			j--;
			while (och[j])
				j--;
		}
	}
}

struct change {
	size_t a0, na, b0, nb;	/* a[a0, a0+na) replaced by b[b0, b0+nb) */
};

static void put_line(struct buf *out, char prefix, const struct line *l)
{
	buf_append(out, &prefix, 1);
	buf_append(out, l->p, l->len);
	if (l->nl)
		buf_append(out, "\n", 1);
	else
		buf_puts(out, "\n\\ No newline at end of file\n");
}

/* GNU's unified range: "l" for one line, "l,n" otherwise, "l,0" (line before) when empty. */
static void put_range(struct buf *out, size_t start0, size_t count)
{
	if (count == 0)
		buf_printf(out, "%zu,0", start0);
	else if (count == 1)
		buf_printf(out, "%zu", start0 + 1);
	else
		buf_printf(out, "%zu,%zu", start0 + 1, count);
}

static void put_hunk(struct buf *out, const struct text *a, const struct text *b,
		     const struct change *first, const struct change *last)
{
	size_t as = first->a0 > CONTEXT ? first->a0 - CONTEXT : 0;
	size_t bs = first->b0 - (first->a0 - as);
	size_t ae = last->a0 + last->na + CONTEXT;
	size_t be, i;
	const struct change *c;

	if (ae > a->n)
		ae = a->n;
	be = last->b0 + last->nb + (ae - (last->a0 + last->na));

	buf_puts(out, "@@ -");
	put_range(out, as, ae - as);
	buf_puts(out, " +");
	put_range(out, bs, be - bs);
	buf_puts(out, " @@\n");

	i = as;
	for (c = first; c <= last; c++) {
		for (; i < c->a0; i++)
			put_line(out, ' ', &a->l[i]);
		for (; i < c->a0 + c->na; i++)
			put_line(out, '-', &a->l[i]);
		for (size_t k = c->b0; k < c->b0 + c->nb; k++)
			put_line(out, '+', &b->l[k]);
	}
	for (; i < ae; i++)
		put_line(out, ' ', &a->l[i]);
}

int diff_unified(const char *a, size_t alen, const char *b, size_t blen,
		 const char *label_a, const char *label_b, struct buf *out)
{
	struct text ta = { 0 }, tb = { 0 };
	struct change *ch = NULL;
	size_t nch = 0, cap = 0, i = 0, j = 0, k, first;
	int changed = 0;

	if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0))
		return 0;
	split_lines(a, alen, &ta);
	split_lines(b, blen, &tb);
	if (ta.n > INT_MAX / 4 || tb.n > INT_MAX / 4) {
		/* not a realistic config file; treat every line as changed */
		memset(ta.chg, 1, ta.n);
		memset(tb.chg, 1, tb.n);
	} else {
		classify(&ta, &tb);
		compare_texts(&ta, &tb);
		slide_runs(&ta, &tb);
		slide_runs(&tb, &ta);
	}

	/* collect changes */
	while (i < ta.n || j < tb.n) {
		struct change cur;

		if (!ta.chg[i] && !tb.chg[j]) {
			i++;
			j++;
			continue;
		}
		cur.a0 = i;
		cur.b0 = j;
		while (i < ta.n && ta.chg[i])
			i++;
		while (j < tb.n && tb.chg[j])
			j++;
		cur.na = i - cur.a0;
		cur.nb = j - cur.b0;
		if (nch == cap) {
			cap = cap ? cap * 2 : 16;
			ch = xrealloc(ch, cap * sizeof(*ch));
		}
		ch[nch++] = cur;
		changed += (int)(cur.na + cur.nb);
	}
	if (nch == 0)
		goto out;	/* byte-different but no line differs: cannot happen */

	buf_printf(out, "--- %s\n+++ %s\n", label_a, label_b);
	for (first = 0, k = 1; k <= nch; k++) {
		/* a gap of more than 2*CONTEXT unchanged lines starts a new hunk */
		if (k == nch || ch[k].a0 - (ch[k - 1].a0 + ch[k - 1].na) > 2 * CONTEXT) {
			put_hunk(out, &ta, &tb, &ch[first], &ch[k - 1]);
			first = k;
		}
	}
out:
	free(ch);
	free(ta.l);
	free(tb.l);
	free(ta.eq);
	free(tb.eq);
	free(ta.chg_mem);
	free(tb.chg_mem);
	return changed;
}
