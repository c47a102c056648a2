/*
 * fuzz_dkimconf.c - libFuzzer target for the opendkim.conf editor.
 *
 * The input is a whole opendkim.conf.  Checked, beyond "no crash": a
 * rejected input gets a "line N: ..." error; an accepted one renders back
 * byte-identical; after set() of one key (an existing one or a new one,
 * picked from the input) get() returns the value, the key is defined once,
 * every line that did not define it is unchanged (later definitions are
 * only prefixed with DKIMCONF_DISABLED_PREFIX), all other keys keep their
 * values, and the output parses and round-trips.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkimconf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static const char *const values[] = { "sv", "inet:8891@localhost", "a b\tc", "/etc/opendkim/keys/x" };

static size_t strip_eol(const char *t, size_t n)
{
	if (n && t[n - 1] == '\n')
		n--;
	if (n && t[n - 1] == '\r')
		n--;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkimconf *orig = NULL, *dc = NULL, *again = NULL;
	char *err = NULL, *out = NULL, *out2 = NULL, *key = NULL;
	const char *value, *owner, *t;
	struct buf pred = { 0 }, got = { 0 };
	size_t i, n, len, olen, o2len, ndef = 0, pick, nlines;
	int first_seen = 0;

	if (dkimconf_parse((const char *)data, size, &orig, &err) < 0) {
		CHECK(err && strncmp(err, "line ", 5) == 0);
		goto out;
	}
	out = dkimconf_render(orig, &olen);
	CHECK(olen == size && memcmp(out, data, size) == 0);
	free(out);
	out = NULL;

	nlines = dkimconf_line_count(orig);
	for (i = 0; i < nlines; i++) {
		dkimconf_line(orig, i, &len, &owner);
		if (owner)
			ndef++;
	}
	pick = size ? (data[0] + size) % (ndef + 1) : 0;
	for (i = 0, n = 0; i < nlines && !key; i++) {
		dkimconf_line(orig, i, &len, &owner);
		if (owner && n++ == pick)
			key = xstrdup(owner);
	}
	if (!key)
		key = xstrdup("KeyTable");
	value = values[(size ? data[size - 1] : 0) % (sizeof(values) / sizeof(values[0]))];

	CHECK(dkimconf_parse((const char *)data, size, &dc, &err) == 0);
	CHECK(dkimconf_set(dc, key, value) == 0);
	CHECK(dkimconf_get(dc, key) && strcmp(dkimconf_get(dc, key), value) == 0);
	CHECK(dkimconf_count(dc, key) == 1);

	for (i = 0; i < nlines; i++) {
		t = dkimconf_line(orig, i, &len, &owner);
		if (owner && strcasecmp(owner, key) == 0) {
			if (!first_seen) {
				first_seen = 1;
				continue;
			}
			buf_puts(&pred, DKIMCONF_DISABLED_PREFIX);
		}
		buf_append(&pred, t, strip_eol(t, len));
		buf_append(&pred, "", 1);
	}
	for (i = 0; i < dkimconf_line_count(dc); i++) {
		t = dkimconf_line(dc, i, &len, &owner);
		if (owner && strcasecmp(owner, key) == 0)
			continue;
		buf_append(&got, t, strip_eol(t, len));
		buf_append(&got, "", 1);
	}
	CHECK(pred.len == got.len && (!pred.len || memcmp(pred.data, got.data, pred.len) == 0));

	for (i = 0; i < nlines; i++) {
		const char *a, *b;

		dkimconf_line(orig, i, &len, &owner);
		if (!owner || strcasecmp(owner, key) == 0)
			continue;
		a = dkimconf_get(orig, owner);
		b = dkimconf_get(dc, owner);
		CHECK(a && b && strcmp(a, b) == 0);
	}

	out = dkimconf_render(dc, &olen);
	CHECK(dkimconf_parse(out, olen, &again, &err) == 0);
	out2 = dkimconf_render(again, &o2len);
	CHECK(o2len == olen && memcmp(out, out2, olen) == 0);

	CHECK(dkimconf_unset(dc, key) == 0);
	CHECK(dkimconf_get(dc, key) == NULL);
out:
	buf_free(&pred);
	buf_free(&got);
	free(key);
	free(err);
	free(out);
	free(out2);
	dkimconf_free(orig);
	dkimconf_free(dc);
	dkimconf_free(again);
	return 0;
}
