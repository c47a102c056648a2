/*
 * fuzz_sakura.c - libFuzzer target for the JSON reader of the Sakura VPS API
 * client (installer/sakura.h): the API's answers are untrusted input.
 *
 * Checked, beyond "no crash": json_get() refuses exactly what json_valid()
 * refuses; every span it returns lies inside the input and is itself one
 * valid value of the kind json_kind() says; json_string() of a string gives
 * NUL-free text whose json_quote() parses back to the same text; array
 * walking never leaves the array and ends; the paths the provider stage reads
 * ("ipv4.ptr", "rules", "is_enabled", ...) are looked up on every input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sakura.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static const char *const paths[] = { "", "ipv4.ptr", "ipv6.ptr", "ipv4", "rules", "is_enabled", "message",
				     "outbound_port_25_blocking", "a.b.c", "protocol", "port" };

static void check_span(const char *s, size_t n, struct jspan v)
{
	char *str, *q;
	CHECK(v.p >= s && v.p + v.n <= s + n && v.n > 0);
	CHECK(json_valid(v.p, v.n));
	CHECK(json_kind(v) != 0);
	str = json_string(v);
	if (json_kind(v) != 's')
		CHECK(str == NULL);
	if (str) {
		struct jspan w;
		char *back;
		q = json_quote(str);
		CHECK(json_valid(q, strlen(q)));
		w.p = q;
		w.n = strlen(q);
		back = json_string(w);
		CHECK(back && strcmp(back, str) == 0);
		free(back);
		free(q);
		free(str);
	}
	if (json_kind(v) == 'a') {
		size_t pos = 0, count = 0, last = 0;
		struct jspan e;
		int r;
		while ((r = json_array_next(v, &pos, &e)) == 1) {
			CHECK(e.p >= v.p && e.p + e.n <= v.p + v.n);
			CHECK(json_valid(e.p, e.n));
			CHECK(pos > last);
			last = pos;
			CHECK(++count <= v.n);
		}
		CHECK(r == 0);	/* a valid array walks to its end */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int valid = json_valid(s, size);
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct jspan v;
		int r = json_get(s, size, paths[i], &v);
		if (!valid) {
			CHECK(r == -22);	/* -EINVAL */
			continue;
		}
		CHECK(r == 0 || r == -2);	/* -ENOENT */
		if (r == 0)
			check_span(s, size, v);
	}
	return 0;
}
