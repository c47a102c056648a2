/*
 * test_diff.c - diff_unified() against GNU `diff -u` (fork/exec, argv only)
 * on fixed cases and on randomly generated edit scripts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diff.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[64];

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	close(fd);
}

/* GNU diff -u output for a -> b, labels "a/f" and "b/f". */
static int gnu_diff(const char *a, size_t alen, const char *b, size_t blen, struct buf *out)
{
	char pa[128], pb[128];
	int rc;

	snprintf(pa, sizeof(pa), "%s/a", tmpdir);
	snprintf(pb, sizeof(pb), "%s/b", tmpdir);
	write_file(pa, a, alen);
	write_file(pb, b, blen);
	{
		char *argv[] = { "diff", "-u", "--label", "a/f", "--label", "b/f", pa, pb, NULL };

		rc = tu_run(argv, out, NULL);
	}
	unlink(pa);
	unlink(pb);
	return rc;
}

/* Count '+'/'-' lines in the hunks of a unified diff. */
static int count_changes(const struct buf *d)
{
	const char *p = d->data, *end = d->data + d->len;
	int n = 0, header = 2;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (header > 0)
			header--;
		else if (*p == '+' || *p == '-')
			n++;
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* Apply our unified diff to a (strictly, checking context) and return b. */
static int apply_diff(const char *a, size_t alen, const struct buf *d, struct buf *res)
{
	const char *p = d->data, *end = d->data + d->len;
	const char *ap = a, *aend = a + alen;
	int line_no = 0;	/* a lines consumed */

	/* skip the 2 header lines */
	for (int h = 0; h < 2; h++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -1;
		p = nl + 1;
	}
	while (p < end) {
		long as, ac = 1, bs, bc = 1;
		char *q;

		if (strncmp(p, "@@ -", 4) != 0)
			return -1;
		as = strtol(p + 4, &q, 10);
		if (*q == ',')
			ac = strtol(q + 1, &q, 10);
		if (strncmp(q, " +", 2) != 0)
			return -1;
		bs = strtol(q + 2, &q, 10);
		if (*q == ',')
			bc = strtol(q + 1, &q, 10);
		if (strncmp(q, " @@\n", 4) != 0)
			return -1;
		p = q + 4;
		(void)bs;
		(void)bc;
		/* copy unchanged lines up to the hunk */
		{
			long first = ac == 0 ? as : as - 1;

			while (line_no < first) {
				const char *nl = memchr(ap, '\n', (size_t)(aend - ap));
				const char *e = nl ? nl + 1 : aend;

				buf_append(res, ap, (size_t)(e - ap));
				ap = e;
				line_no++;
			}
		}
		while (p < end && *p != '@') {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *e = nl ? nl + 1 : end;
			size_t body = (size_t)(e - p - 1);	/* incl. newline */
			int no_nl = e + 1 < end && *e == '\\';

			if (*p == ' ' || *p == '-') {
				const char *anl = memchr(ap, '\n', (size_t)(aend - ap));
				const char *ae = anl ? anl + 1 : aend;
				size_t alinelen = (size_t)(ae - ap);
				size_t want = no_nl ? body - 1 : body;

				if (alinelen != want || memcmp(ap, p + 1, want) != 0)
					return -1;
				if (*p == ' ')
					buf_append(res, ap, alinelen);
				ap = ae;
				line_no++;
			} else if (*p == '+') {
				buf_append(res, p + 1, no_nl ? body - 1 : body);
			} else {
				return -1;
			}
			p = e;
			if (no_nl) {
				nl = memchr(p, '\n', (size_t)(end - p));
				p = nl ? nl + 1 : end;
			}
		}
	}
	buf_append(res, ap, (size_t)(aend - ap));
	return 0;
}

static int ours(const char *a, size_t alen, const char *b, size_t blen, struct buf *out)
{
	return diff_unified(a, alen, b, blen, "a/f", "b/f", out);
}

/* Exact equality with GNU diff; also the returned count and applying. */
static void check_same(const char *a, size_t alen, const char *b, size_t blen)
{
	struct buf mine = { 0 }, gnu = { 0 }, applied = { 0 };
	int n = ours(a, alen, b, blen, &mine);
	int rc = gnu_diff(a, alen, b, blen, &gnu);

	assert_int_equal(rc, n ? 1 : 0);
	if (mine.len != gnu.len || (mine.len && memcmp(mine.data, gnu.data, mine.len) != 0)) {
		fprintf(stderr, "--- a ---\n%.*s\n--- b ---\n%.*s\n--- ours ---\n%s--- GNU ---\n%s",
			(int)alen, a, (int)blen, b, mine.data ? mine.data : "",
			gnu.data ? gnu.data : "");
		fail_msg("output differs from GNU diff -u");
	}
	assert_int_equal(n, count_changes(&mine));
	if (n) {
		assert_int_equal(apply_diff(a, alen, &mine, &applied), 0);
		assert_int_equal(applied.len, blen);
		assert_memory_equal(applied.data, b, blen);
	}
	buf_free(&mine);
	buf_free(&gnu);
	buf_free(&applied);
}

static void check_str(const char *a, const char *b)
{
	check_same(a, strlen(a), b, strlen(b));
}

static void test_identical(void **state)
{
	struct buf out = { 0 };

	(void)state;
	assert_int_equal(ours("x\ny\n", 4, "x\ny\n", 4, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(ours("", 0, "", 0, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(ours("no newline", 10, "no newline", 10, &out), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	check_str("a\nb\n", "a\nb\n");
}

static void test_empty_sides(void **state)
{
	struct buf out = { 0 };

	(void)state;
	assert_int_equal(ours("", 0, "one\ntwo\n", 8, &out), 2);
	assert_string_equal(out.data, "--- a/f\n+++ b/f\n@@ -0,0 +1,2 @@\n+one\n+two\n");
	buf_free(&out);
	assert_int_equal(ours("one\n", 4, "", 0, &out), 1);
	assert_string_equal(out.data, "--- a/f\n+++ b/f\n@@ -1 +0,0 @@\n-one\n");
	buf_free(&out);
	check_str("", "x\n");
	check_str("", "x");
	check_str("x\ny\nz\n", "");
	check_str("x", "");
}

static void test_no_newline(void **state)
{
	struct buf out = { 0 };

	(void)state;
	assert_int_equal(ours("a\nb\n", 4, "a\nb", 3, &out), 2);
	assert_string_equal(out.data, "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n"
			    "\\ No newline at end of file\n");
	buf_free(&out);
	check_str("a\nb", "a\nb\n");
	check_str("a\nb", "a\nc");
	check_str("a", "b");
	check_str("1\n2\n3\n4\n5\n6\n7\n8\n9", "0\n1\n2\n3\n4\n5\n6\n7\n8\n9");
	check_str("1\n2\n3\n4\n5\n6\n7\n8\n9", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10");
	check_str("\n\n\n", "\n\n");
	check_str("\n", "");
}

static void test_fixed_cases(void **state)
{
	(void)state;
	/* hunk merging: gaps of 6 and 7 unchanged lines */
	check_str("x\n1\n2\n3\n4\n5\n6\ny\n", "X\n1\n2\n3\n4\n5\n6\nY\n");
	check_str("x\n1\n2\n3\n4\n5\n6\n7\ny\n", "X\n1\n2\n3\n4\n5\n6\n7\nY\n");
	/* one-line ranges and insertions in the middle */
	check_str("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\nnew\n5\n6\n7\n8\n");
	check_str("1\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n5\n6\n7\n8\n");
	check_str("a\n", "b\n");
	/* ambiguous placements */
	check_str("a\nb\na\nb\n", "a\nb\n");
	check_str("a\na\na\n", "a\na\na\na\n");
	check_str("x\na\na\ny\n", "x\na\ny\n");
	/* embedded NUL-free CR lines */
	check_str("a\r\nb\r\n", "a\nb\r\n");
}

static unsigned rnd_state = 12345;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

/* A random text of n lines drawn from `alphabet` distinct contents (0: unique). */
static void gen_text(struct buf *t, int n, int alphabet, int *uniq)
{
	for (int i = 0; i < n; i++) {
		if (alphabet)
			buf_printf(t, "l%u\n", rnd((unsigned)alphabet));
		else
			buf_printf(t, "line %d\n", (*uniq)++);
	}
}

/* Apply a random edit script at line granularity. */
static void gen_edit(const struct buf *a, struct buf *b, int alphabet, int *uniq, int nedits)
{
	size_t nl = 0, i, k;
	const char **lines;
	size_t *lens;
	char *ops;

	for (i = 0; i < a->len; i++)
		nl += a->data[i] == '\n';
	lines = xcalloc(nl + 1, sizeof(*lines));
	lens = xcalloc(nl + 1, sizeof(*lens));
	ops = xcalloc(nl + 1, 1);
	for (i = 0, k = 0; k < nl; k++) {
		const char *e = memchr(a->data + i, '\n', a->len - i);
		lines[k] = a->data + i;
		lens[k] = (size_t)(e - (a->data + i)) + 1;
		i += lens[k];
	}
	for (int e = 0; e < nedits; e++)
		ops[rnd((unsigned)nl + 1)] = (char)(1 + rnd(3));	/* 1 del, 2 ins, 3 replace */
	for (k = 0; k <= nl; k++) {
		int nins = 0;

		if (ops[k] == 2 || ops[k] == 3)
			nins = 1 + (int)rnd(3);
		for (int m = 0; m < nins; m++) {
			if (alphabet)
				buf_printf(b, "l%u\n", rnd((unsigned)alphabet));
			else
				buf_printf(b, "new %d\n", (*uniq)++);
		}
		if (k < nl && ops[k] != 1 && ops[k] != 3)
			buf_append(b, lines[k], lens[k]);
		if (k < nl && ops[k] == 3 && rnd(2))	/* replace some, delete-and-insert others */
			buf_append(b, lines[k], lens[k]);
	}
	free(lines);
	free(lens);
	free(ops);
}

static void maybe_chop(struct buf *t)
{
	if (t->len && rnd(4) == 0)
		t->data[--t->len] = '\0';
}

static void run_random(int rounds, int alphabet, int maxlines, int *exact, int *total)
{
	for (int r = 0; r < rounds; r++) {
		struct buf a = { 0 }, b = { 0 }, mine = { 0 }, gnu = { 0 }, applied = { 0 };
		int uniq = 0, n, g;

		gen_text(&a, (int)rnd((unsigned)maxlines + 1), alphabet, &uniq);
		gen_edit(&a, &b, alphabet, &uniq, 1 + (int)rnd(8));
		maybe_chop(&a);
		maybe_chop(&b);
		if (!a.data)
			buf_puts(&a, "");
		if (!b.data)
			buf_puts(&b, "");
		if (alphabet == 0) {
			check_same(a.data, a.len, b.data, b.len);
			(*exact)++;
		} else {
			/* repeated lines: several minimal diffs exist; GNU's choice is
			 * heuristic.  Require a correct, no-larger diff; count exact matches. */
			n = ours(a.data, a.len, b.data, b.len, &mine);
			g = gnu_diff(a.data, a.len, b.data, b.len, &gnu);
			assert_int_equal(g, n ? 1 : 0);
			assert_int_equal(n, count_changes(&mine));
			assert_true(n <= count_changes(&gnu));
			if (n) {
				assert_int_equal(apply_diff(a.data, a.len, &mine, &applied), 0);
				assert_int_equal(applied.len, b.len);
				assert_memory_equal(applied.data, b.data, b.len);
			}
			if (mine.len == gnu.len && (!mine.len || !memcmp(mine.data, gnu.data, mine.len)))
				(*exact)++;
		}
		(*total)++;
		buf_free(&a);
		buf_free(&b);
		buf_free(&mine);
		buf_free(&gnu);
		buf_free(&applied);
	}
}

static void test_random_unique(void **state)
{
	int exact = 0, total = 0;

	(void)state;
	rnd_state = 1;
	run_random(400, 0, 60, &exact, &total);
	run_random(20, 0, 2000, &exact, &total);
	assert_int_equal(exact, total);
}

static void test_random_repeated(void **state)
{
	int exact = 0, total = 0;

	(void)state;
	rnd_state = 2;
	run_random(300, 3, 30, &exact, &total);
	run_random(300, 10, 60, &exact, &total);
	run_random(10, 50, 3000, &exact, &total);
	fprintf(stderr, "repeated-line cases identical to GNU diff: %d of %d\n", exact, total);
}

static void test_large_rewrite(void **state)
{
	struct buf a = { 0 }, b = { 0 };
	int uniq = 0;

	(void)state;
	rnd_state = 3;
	gen_text(&a, 3000, 0, &uniq);
	gen_text(&b, 3000, 0, &uniq);	/* nothing in common: D = 6000 */
	check_same(a.data, a.len, b.data, b.len);
	buf_free(&a);
	buf_free(&b);
}

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_diff.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_empty_sides),
		cmocka_unit_test(test_no_newline),
		cmocka_unit_test(test_fixed_cases),
		cmocka_unit_test(test_random_unique),
		cmocka_unit_test(test_random_repeated),
		cmocka_unit_test(test_large_rewrite),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
