/*
 * fuzz_maincf.c - libFuzzer target for the main.cf editor.
 *
 * The input is a whole main.cf.  Checked, beyond "no crash": a rejected
 * input gets a "line N: ..." error; an accepted one renders back
 * byte-identical; after set() of one parameter (an existing one or a new
 * one, picked from the input) get() returns the value, the parameter is
 * defined once, every line that did not belong to it is unchanged (later
 * duplicates are only prefixed with MAINCF_DISABLED_PREFIX), all other
 * parameters keep their values, and the output parses and round-trips.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maincf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static const char *const values[] = { "", "x", "a, b  c", "$myhostname # not a comment",
				      "inet:127.0.0.1:8891", "x\ty" };

static size_t strip_eol(const char *t, size_t n)
{
	if (n && t[n - 1] == '\n')
		n--;
	if (n && t[n - 1] == '\r')
		n--;
	return n;
}

static int same_line(const char *a, size_t alen, const char *b, size_t blen)
{
	alen = strip_eol(a, alen);
	blen = strip_eol(b, blen);
	return alen == blen && memcmp(a, b, alen) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maincf *orig = NULL, *mc = NULL, *again = NULL;
	char *err = NULL, *out = NULL, *out2 = NULL, *name = NULL;
	const char *value, *owner, *t;
	struct buf pred = { 0 };
	size_t i, n, len, olen, o2len, nparam = 0, pick, plen = 0, nlines;
	int seen_first = 0, in_first = 0;

	if (maincf_parse((const char *)data, size, &orig, &err) < 0) {
		CHECK(err && strncmp(err, "line ", 5) == 0);
		goto out;
	}
	out = maincf_render(orig, &olen);
	CHECK(olen == size && memcmp(out, data, size) == 0);
	free(out);
	out = NULL;

	/* pick a parameter: the k-th definition line, or a new name */
	nlines = maincf_line_count(orig);
	for (i = 0; i < nlines; i++) {
		t = maincf_line(orig, i, &len, &owner);
		if (owner && t[0] != ' ' && t[0] != '\t')
			nparam++;
	}
	pick = size ? (data[0] + size) % (nparam + 1) : 0;
	for (i = 0, n = 0; i < nlines && !name; i++) {
		t = maincf_line(orig, i, &len, &owner);
		if (owner && t[0] != ' ' && t[0] != '\t' && n++ == pick)
			name = xstrdup(owner);
	}
	if (!name)
		name = xstrdup("mailstage_fuzz_param");
	value = values[(size ? data[size - 1] : 0) % (sizeof(values) / sizeof(values[0]))];

	CHECK(maincf_parse((const char *)data, size, &mc, &err) == 0);
	CHECK(maincf_set(mc, name, value) == 0);
	CHECK(maincf_get(mc, name) && strcmp(maincf_get(mc, name), value) == 0);
	CHECK(maincf_count(mc, name) == 1);

	/* predicted lines not owned by name */
	for (i = 0; i < nlines; i++) {
		t = maincf_line(orig, i, &len, &owner);
		if (!owner || strcmp(owner, name) != 0) {
			buf_append(&pred, t, len);
			buf_append(&pred, "", 1);
			continue;
		}
		if (t[0] != ' ' && t[0] != '\t') {
			in_first = !seen_first;
			seen_first = 1;
		}
		if (in_first)
			continue;
		buf_puts(&pred, MAINCF_DISABLED_PREFIX);
		buf_append(&pred, t, len);
		buf_append(&pred, "", 1);
	}
	/* compare with the new lines not owned by name */
	for (i = 0; i < maincf_line_count(mc); i++) {
		t = maincf_line(mc, i, &len, &owner);
		if (owner && strcmp(owner, name) == 0) {
			CHECK(strip_eol(t, len) == strlen(name) + 2 + (*value ? 1 + strlen(value) : 0));
			continue;
		}
		CHECK(plen < pred.len);
		CHECK(same_line(pred.data + plen, strlen(pred.data + plen), t, len));
		plen += strlen(pred.data + plen) + 1;
	}
	CHECK(plen == pred.len);

	/* every other parameter keeps its value */
	for (i = 0; i < nlines; i++) {
		const char *a, *b;

		maincf_line(orig, i, &len, &owner);
		if (!owner || strcmp(owner, name) == 0)
			continue;
		a = maincf_get(orig, owner);
		b = maincf_get(mc, owner);
		CHECK(a && b && strcmp(a, b) == 0);
	}

	/* the output parses and round-trips */
	out = maincf_render(mc, &olen);
	CHECK(maincf_parse(out, olen, &again, &err) == 0);
	out2 = maincf_render(again, &o2len);
	CHECK(o2len == olen && memcmp(out, out2, olen) == 0);
	CHECK(strcmp(maincf_get(again, name), value) == 0);

	CHECK(maincf_unset(mc, name) == 0);
	CHECK(maincf_get(mc, name) == NULL);
out:
	buf_free(&pred);
	free(name);
	free(err);
	free(out);
	free(out2);
	maincf_free(orig);
	maincf_free(mc);
	maincf_free(again);
	return 0;
}
