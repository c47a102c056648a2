/*
 * fuzz_kvfile.c - libFuzzer target for the shell-variable / `key: value`
 * editor (installer/kvfile.h).
 *
 * The first byte picks the style (even: KV_SHELL, odd: KV_COLON), the rest
 * is the file.  Checked, beyond "no crash": a rejected input gets a
 * "line N: ..." error; an accepted one renders back byte-identical; after
 * set() of one key get() returns the value and the key is defined once, the
 * probe keys other than it keep their values, the output parses again and
 * round-trips, and a second set() of the same value changes nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvfile.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static const char *const keys[] = { "START", "MECHANISMS", "OPTIONS", "SOCKET", "MECH", "dmarc", "postmaster",
				    "pwcheck_method", "mech_list", "A" };
static const char *const values[] = { "yes", "pam", "-c -m /var/spool/postfix/var/run/saslauthd",
				      "inet:8891@localhost", "plain login", "" };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int same_key(enum kv_style st, const char *a, const char *b)
{
	return st == KV_COLON ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvfile *kv = NULL, *again = NULL;
	char *err = NULL, *out = NULL, *out2 = NULL, *before[N(keys)];
	enum kv_style st;
	const char *text, *key, *value;
	size_t len, olen, o2len, i;

	if (size == 0)
		return 0;
	st = data[0] & 1 ? KV_COLON : KV_SHELL;
	text = (const char *)data + 1;
	len = size - 1;
	if (kvfile_parse(text, len, st, &kv, &err) < 0) {
		CHECK(err && strncmp(err, "line ", 5) == 0);
		free(err);
		return 0;
	}
	out = kvfile_render(kv, &olen);
	CHECK(olen == len && memcmp(out, text, len) == 0);
	free(out);
	for (i = 0; i < N(keys); i++) {
		const char *v = kvfile_get(kv, keys[i]);
		before[i] = v ? xstrdup(v) : NULL;
	}
	key = keys[(data[0] >> 1) % N(keys)];
	value = values[data[size - 1] % N(values)];
	if (st == KV_SHELL && strcmp(key, "dmarc") == 0)
		key = "MECH";
	CHECK(kvfile_set(kv, key, value) == 0);
	CHECK(kvfile_get(kv, key) && strcmp(kvfile_get(kv, key), value) == 0);
	CHECK(kvfile_count(kv, key) == 1);
	for (i = 0; i < N(keys); i++) {
		const char *v = kvfile_get(kv, keys[i]);
		if (same_key(st, keys[i], key))
			continue;
		CHECK((!v && !before[i]) || (v && before[i] && strcmp(v, before[i]) == 0));
	}
	out = kvfile_render(kv, &olen);
	CHECK(kvfile_parse(out, olen, st, &again, &err) == 0);
	out2 = kvfile_render(again, &o2len);
	CHECK(o2len == olen && memcmp(out, out2, olen) == 0);
	free(out2);
	CHECK(kvfile_set(again, key, value) == 0);
	out2 = kvfile_render(again, &o2len);
	CHECK(o2len == olen && memcmp(out, out2, olen) == 0);
	free(out2);
	free(out);
	for (i = 0; i < N(keys); i++)
		free(before[i]);
	kvfile_free(kv);
	kvfile_free(again);
	return 0;
}
