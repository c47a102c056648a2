/*
 * test_docs.c - mailstage.conf(5) documents every configuration key the
 * parser knows (config_keys()), each with its default or "Required", and
 * documents no key the parser does not know; each key in the section its
 * table row names (its documentation anchor), and each whole number with the
 * bounds the parser enforces.  The page is read through the payload API,
 * i.e. the copy embedded in the binary.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "payload.h"
#include "util.h"

/* The page with roff's "\-" turned into "-", so values compare as written. */
static char *load_page(void)
{
	char *data = NULL, *out, *w;
	const char *r;
	size_t len = 0;
	int over = -1;

	unsetenv("MAILSTAGE_DATADIR");
	assert_int_equal(payload_get("man/mailstage.conf.5", &data, &len, &over), 0);
	assert_int_equal(over, 0);
	out = xmalloc(len + 1);
	for (r = data, w = out; *r; r++) {
		if (r[0] == '\\' && r[1] == '-')
			r++;
		*w++ = *r;
	}
	*w = '\0';
	free(data);
	return out;
}

/* The entry of KEY: from ".TP\n.B KEY\n" to the next ".TP" or ".SH" (caller frees), or NULL. */
static char *entry(const char *page, const char *key)
{
	char *head = xasprintf(".TP\n.B %s\n", key), *e;
	const char *s = strstr(page, head), *end, *sh;

	free(head);
	if (!s)
		return NULL;
	s += 5;
	end = strstr(s, "\n.TP\n");
	sh = strstr(s, "\n.SH ");
	if (!end || (sh && sh < end))
		end = sh;
	e = end ? xstrndup(s, (size_t)(end - s)) : xstrdup(s);
	return e;
}

/* Is VALUE written between "Default:" and "Valid:" of entry E? */
static int in_default(const char *e, const char *value)
{
	const char *d = strstr(e, "Default:"), *v;
	char *region;
	int found;

	if (!d)
		return 0;
	v = strstr(d, "Valid:");
	region = v ? xstrndup(d, (size_t)(v - d)) : xstrdup(d);
	found = strstr(region, value) != NULL;
	free(region);
	return found;
}

static void every_key_documented(void **state)
{
	char *page = load_page();
	const struct config_key *k;
	size_t n, i;
	int bad = 0;

	(void)state;
	k = config_keys(&n);
	assert_true(n > 10);
	for (i = 0; i < n; i++) {
		char *e = entry(page, k[i].name);
		if (!e) {
			fprintf(stderr, "mailstage.conf.5: key %s is not documented (want \".TP\\n.B %s\")\n",
				k[i].name, k[i].name);
			bad++;
			continue;
		}
		if (!k[i].default_value) {
			if (!strstr(e, "Required")) {
				fprintf(stderr, "mailstage.conf.5: %s is required but its entry does not say so\n",
					k[i].name);
				bad++;
			}
		} else if (!strstr(e, "Default:")) {
			fprintf(stderr, "mailstage.conf.5: %s: no \"Default:\"\n", k[i].name);
			bad++;
		} else if (k[i].default_value[0] == '\0') {
			if (!strstr(e, "Default: empty")) {
				fprintf(stderr, "mailstage.conf.5: %s defaults to empty; entry does not say so\n",
					k[i].name);
				bad++;
			}
		} else if (k[i].default_value[0] != '<' && !in_default(e, k[i].default_value)) {
			fprintf(stderr, "mailstage.conf.5: %s: default \"%s\" not in its entry\n", k[i].name,
				k[i].default_value);
			bad++;
		}
		if (!strstr(e, "Example:")) {
			fprintf(stderr, "mailstage.conf.5: %s: no example\n", k[i].name);
			bad++;
		}
		free(e);
	}
	free(page);
	assert_int_equal(bad, 0);
}

/* Every ".TP\n.B word" in the key sections names a key the parser knows. */
static void no_stale_keys(void **state)
{
	char *page = load_page();
	const struct config_key *k;
	const char *p, *files = strstr(page, "\n.SH FILES");
	size_t n, i;
	int bad = 0;

	(void)state;
	k = config_keys(&n);
	assert_non_null(files);
	for (p = page; (p = strstr(p, ".TP\n.B ")) != NULL && p < files; p += 7) {
		const char *s = p + 7;
		size_t len = strcspn(s, " \n");
		int known = 0;
		for (i = 0; i < n; i++)
			if (strlen(k[i].name) == len && strncmp(k[i].name, s, len) == 0)
				known = 1;
		if (!known) {
			fprintf(stderr, "mailstage.conf.5 documents \"%.*s\", which the parser does not know\n",
				(int)len, s);
			bad++;
		}
	}
	free(page);
	assert_int_equal(bad, 0);
}

/* The section ".SH ANCHOR" of the page, up to the next ".SH" (caller frees), or NULL. */
static char *section(const char *page, const char *anchor)
{
	char *head = xasprintf("\n.SH %s\n", anchor), *sec;
	const char *s = strstr(page, head), *end;

	free(head);
	if (!s)
		return NULL;
	s++;
	end = strstr(s + 4, "\n.SH ");
	sec = end ? xstrndup(s, (size_t)(end - s)) : xstrdup(s);
	return sec;
}

/* Each key is documented in the section its row names. */
static void keys_in_their_section(void **state)
{
	char *page = load_page();
	const struct config_key *k;
	size_t n, i;
	int bad = 0;

	(void)state;
	k = config_keys(&n);
	for (i = 0; i < n; i++) {
		char *sec, *e;
		assert_non_null(k[i].anchor);
		sec = section(page, k[i].anchor);
		e = sec ? entry(sec, k[i].name) : NULL;
		if (!e) {
			fprintf(stderr, "mailstage.conf.5: %s is not documented under \".SH %s\", where its table row "
				"(installer/config.c) puts it\n", k[i].name, k[i].anchor);
			bad++;
		}
		free(e);
		free(sec);
	}
	free(page);
	assert_int_equal(bad, 0);
}

/* A whole number's entry says its bounds, as the parser has them. */
static void int_bounds_documented(void **state)
{
	char *page = load_page();
	const struct config_key *k;
	size_t n, i, checked = 0;
	int bad = 0;

	(void)state;
	k = config_keys(&n);
	for (i = 0; i < n; i++) {
		char *e, *lo, *hi;
		const char *v;
		if (strcmp(k[i].type, "int") != 0)
			continue;
		assert_true(k[i].hi > k[i].lo);
		e = entry(page, k[i].name);
		assert_non_null(e);
		v = strstr(e, "Valid:");
		lo = xasprintf("%ld", k[i].lo);
		hi = xasprintf("%ld", k[i].hi);
		if (!v || !strstr(v, lo) || !strstr(v, hi)) {
			fprintf(stderr, "mailstage.conf.5: %s: \"Valid:\" does not give the bounds %s and %s\n",
				k[i].name, lo, hi);
			bad++;
		}
		checked++;
		free(lo);
		free(hi);
		free(e);
	}
	free(page);
	assert_true(checked >= 5);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key_documented),
		cmocka_unit_test(no_stale_keys),
		cmocka_unit_test(keys_in_their_section),
		cmocka_unit_test(int_bounds_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
