/*
 * json.h - a small reader of untrusted JSON (the Sakura VPS API's and the
 * ACME server's answers; tests/fuzz/fuzz_sakura.c): a value is a span of
 * the document, found by a dotted path of object keys.
 */
#ifndef MAILSTAGE_JSON_H
#define MAILSTAGE_JSON_H

#include <stddef.h>

struct jspan {
	const char *p;
	size_t n;
};

/* Is s[0..n) one well-formed JSON value (depth <= 32, nothing after it)? */
int json_valid(const char *s, size_t n);
/*
 * The value at a dotted path of object keys ("ipv4.ptr") in a well-formed
 * document: 0 with *out, -ENOENT when absent, -EINVAL when not JSON.
 */
int json_get(const char *s, size_t n, const char *path, struct jspan *out);
/* Kind of a value: 's'tring, 'n'umber, 'o'bject, 'a'rray, 't'rue, 'f'alse, 'z' null, 0 invalid. */
int json_kind(struct jspan v);
/* A string value decoded (UTF-8; \u escapes, surrogate pairs); NULL when not a string or it holds NUL. */
char *json_string(struct jspan v);
/* Next element of an array value: *pos starts at 0; 1 with *elem, 0 at the end, -EINVAL. */
int json_array_next(struct jspan arr, size_t *pos, struct jspan *elem);
/* s as a JSON string literal, quotes included. */
char *json_quote(const char *s);

#endif
