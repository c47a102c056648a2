/*
 * json.c - a small reader of untrusted JSON (see json.h): bounded depth,
 * strict syntax, values located by span, strings decoded to UTF-8.
 * Used by the Sakura VPS API client and the ACME client.
 */
#include "json.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH	32

static size_t ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* End of the string starting at s[i] == '"', or 0 when malformed. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++i >= n)
				return 0;
			if (s[i] == 'u') {
				size_t k;
				if (i + 4 >= n)
					return 0;
				for (k = 1; k <= 4; k++)
					if (!isxdigit((unsigned char)s[i + k]))
						return 0;
				i += 4;
			} else if (!strchr("\"\\/bfnrt", s[i]) || s[i] == '\0') {
				return 0;
			}
		}
	}
	return 0;
}

static size_t skip_number(const char *s, size_t n, size_t i)
{
	size_t st = i, d;
	if (i < n && s[i] == '-')
		i++;
	d = i;
	if (i < n && s[i] == '0')
		i++;
	else
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	if (i == d)
		return 0;
	if (i < n && s[i] == '.') {
		d = ++i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == d)
			return 0;
	}
	return i > st ? i : 0;
}

/* End of the value at s[i] (no leading blanks), or 0 when malformed. */
static size_t skip_value(const char *s, size_t n, size_t i, int depth)
{
	if (i >= n || depth > MAX_DEPTH)
		return 0;
	switch (s[i]) {
	case '"':
		return skip_string(s, n, i);
	case 't':
		return n - i >= 4 && memcmp(s + i, "true", 4) == 0 ? i + 4 : 0;
	case 'f':
		return n - i >= 5 && memcmp(s + i, "false", 5) == 0 ? i + 5 : 0;
	case 'n':
		return n - i >= 4 && memcmp(s + i, "null", 4) == 0 ? i + 4 : 0;
	case '{':
	case '[': {
		char close = s[i] == '{' ? '}' : ']';
		int obj = s[i] == '{';
		i = ws(s, n, i + 1);
		if (i < n && s[i] == close)
			return i + 1;
		for (;;) {
			if (obj) {
				if (i >= n || s[i] != '"' || !(i = skip_string(s, n, i)))
					return 0;
				i = ws(s, n, i);
				if (i >= n || s[i] != ':')
					return 0;
				i = ws(s, n, i + 1);
			}
			if (!(i = skip_value(s, n, i, depth + 1)))
				return 0;
			i = ws(s, n, i);
			if (i < n && s[i] == ',') {
				i = ws(s, n, i + 1);
				continue;
			}
			if (i < n && s[i] == close)
				return i + 1;
			return 0;
		}
	}
	default:
		return skip_number(s, n, i);
	}
}

int json_valid(const char *s, size_t n)
{
	size_t i = ws(s, n, 0), e;
	if (!s)
		return 0;
	e = skip_value(s, n, i, 0);
	return e && ws(s, n, e) == n;
}

int json_kind(struct jspan v)
{
	if (!v.p || v.n == 0)
		return 0;
	switch (v.p[0]) {
	case '"': return 's';
	case '{': return 'o';
	case '[': return 'a';
	case 't': return 't';
	case 'f': return 'f';
	case 'n': return 'z';
	default: return (v.p[0] == '-' || isdigit((unsigned char)v.p[0])) ? 'n' : 0;
	}
}

/* Does the raw string literal k (quotes included) equal name? */
static int key_is(const char *k, size_t kn, const char *name, size_t nn)
{
	struct jspan v = { k, kn };
	char *d;
	int eq;
	if (kn == nn + 2 && memchr(k, '\\', kn) == NULL)
		return memcmp(k + 1, name, nn) == 0;
	d = json_string(v);
	eq = d && strlen(d) == nn && memcmp(d, name, nn) == 0;
	free(d);
	return eq;
}

/* The member `name` of the object value v. */
static int member(struct jspan v, const char *name, size_t nn, struct jspan *out)
{
	const char *s = v.p;
	size_t n = v.n, i = ws(s, n, 1);
	if (json_kind(v) != 'o')
		return -ENOENT;
	if (i < n && s[i] == '}')
		return -ENOENT;
	for (;;) {
		size_t ks = i, ke, vs, ve;
		if (!(ke = skip_string(s, n, i)))
			return -EINVAL;
		i = ws(s, n, ke);
		if (i >= n || s[i] != ':')
			return -EINVAL;
		vs = ws(s, n, i + 1);
		if (!(ve = skip_value(s, n, vs, 1)))
			return -EINVAL;
		if (key_is(s + ks, ke - ks, name, nn)) {
			out->p = s + vs;
			out->n = ve - vs;
			return 0;
		}
		i = ws(s, n, ve);
		if (i < n && s[i] == ',') {
			i = ws(s, n, i + 1);
			continue;
		}
		return -ENOENT;
	}
}

int json_get(const char *s, size_t n, const char *path, struct jspan *out)
{
	struct jspan v;
	size_t i;
	if (!json_valid(s, n))
		return -EINVAL;
	i = ws(s, n, 0);
	v.p = s + i;
	v.n = skip_value(s, n, i, 0) - i;
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t nn = dot ? (size_t)(dot - path) : strlen(path);
		int r = member(v, path, nn, &v);
		if (r < 0)
			return r;
		path += nn + (dot ? 1 : 0);
	}
	*out = v;
	return 0;
}

int json_array_next(struct jspan arr, size_t *pos, struct jspan *elem)
{
	const char *s = arr.p;
	size_t n = arr.n, i, e;
	if (json_kind(arr) != 'a')
		return -EINVAL;
	i = ws(s, n, *pos ? *pos : 1);
	if (i < n && s[i] == ']')
		return 0;
	if (*pos) {
		if (i >= n || s[i] != ',')
			return -EINVAL;
		i = ws(s, n, i + 1);
	}
	if (!(e = skip_value(s, n, i, 1)))
		return -EINVAL;
	elem->p = s + i;
	elem->n = e - i;
	*pos = e;
	return 1;
}

static void put_utf8(struct buf *b, unsigned long c)
{
	char u[4];
	size_t k;
	if (c < 0x80) {
		u[0] = (char)c, k = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3f)), k = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f)), k = 3;
	} else {
		u[0] = (char)(0xf0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), k = 4;
	}
	buf_append(b, u, k);
}

char *json_string(struct jspan v)
{
	struct buf b = { 0 };
	size_t i;
	if (json_kind(v) != 's' || skip_string(v.p, v.n, 0) != v.n)
		return NULL;
	for (i = 1; i + 1 < v.n; i++) {
		char ch = v.p[i];
		unsigned long c;
		if (ch != '\\') {
			buf_append(&b, &ch, 1);
			continue;
		}
		ch = v.p[++i];
		switch (ch) {
		case 'b': buf_append(&b, "\b", 1); continue;
		case 'f': buf_append(&b, "\f", 1); continue;
		case 'n': buf_append(&b, "\n", 1); continue;
		case 'r': buf_append(&b, "\r", 1); continue;
		case 't': buf_append(&b, "\t", 1); continue;
		case 'u': break;
		default: buf_append(&b, &ch, 1); continue;
		}
		c = strtoul((char[5]){ v.p[i + 1], v.p[i + 2], v.p[i + 3], v.p[i + 4], 0 }, NULL, 16);
		i += 4;
		if (c >= 0xd800 && c < 0xdc00 && i + 6 < v.n && v.p[i + 1] == '\\' && v.p[i + 2] == 'u') {
			unsigned long lo = strtoul((char[5]){ v.p[i + 3], v.p[i + 4], v.p[i + 5], v.p[i + 6], 0 },
						   NULL, 16);
			if (lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
		}
		if (c == 0 || (c >= 0xd800 && c < 0xe000)) {
			buf_free(&b);
			return NULL;	/* a NUL or a lone surrogate: not a name */
		}
		put_utf8(&b, c);
	}
	return buf_steal(&b);
}

char *json_quote(const char *s)
{
	struct buf b = { 0 };
	buf_puts(&b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(&b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(&b, "\\u%04x", c);
		else
			buf_append(&b, s, 1);
	}
	buf_puts(&b, "\"");
	return buf_steal(&b);
}
