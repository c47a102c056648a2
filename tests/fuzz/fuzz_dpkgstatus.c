/*
 * fuzz_dpkgstatus.c - libFuzzer target for the reader of dpkg's database
 * (installer/dpkgstatus.h): the input is a status file.
 *
 * Checked, beyond "no crash": a rejected input gets a "line N: ..." error
 * with N at most its number of lines; an accepted one reports only names
 * some pattern matches, each once; read again as an update (each stanza
 * replaces its own record) it is accepted and gives the same answer; a
 * stanza of an installed package appended after it is accepted and counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fnmatch.h>

#include "dpkgstatus.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static char *const want[] = { "postfix", "opendkim", "libfoo:i386", "a*", "zz-fuzz", NULL };
#define NWANT 5
static const char extra[] = "\nPackage: zz-fuzz\nStatus: install ok installed\nVersion: 1\n";

static char *joined(const struct strv *s)
{
	struct buf b = { 0 };
	size_t i;
	buf_puts(&b, "");
	for (i = 0; i < s->n; i++)
		buf_printf(&b, "%s ", s->v[i]);
	return buf_steal(&b);
}

static int matched(const char *name)
{
	size_t i;
	for (i = 0; i < NWANT; i++) {
		const char *colon = strchr(want[i], ':');
		char *np = colon ? xstrndup(want[i], (size_t)(colon - want[i])) : xstrdup(want[i]);
		int m = fnmatch(np, name, 0) == 0;
		free(np);
		if (m)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dpkg_db *db = dpkg_db_new(want, NWANT), *db2;
	struct strv out = { 0 }, out2 = { 0 };
	char *err = NULL, *a, *b;
	size_t i, j, lines = 0;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (dpkg_db_parse(db, text, size, 0, &err) < 0) {
		unsigned long n;
		CHECK(err && sscanf(err, "line %lu: ", &n) == 1 && n >= 1 && n <= lines + 1);
		free(err);
		dpkg_db_free(db);
		return 0;
	}
	dpkg_db_installed(db, &out);
	for (i = 0; i < out.n; i++) {
		CHECK(matched(out.v[i]));
		for (j = 0; j < i; j++)
			CHECK(strcmp(out.v[i], out.v[j]) != 0);
	}
	a = joined(&out);
	CHECK(dpkg_db_parse(db, text, size, 1, &err) == 0);
	strv_free(&out);
	dpkg_db_installed(db, &out);
	b = joined(&out);
	CHECK(strcmp(a, b) == 0);
	free(b);
	dpkg_db_free(db);
	/* another stanza after it (no zz-fuzz already there: it would be twice) */
	{
		char *t = xmalloc(size + sizeof(extra));
		memcpy(t, data, size);
		t[size] = 0;	/* accepted: no NUL inside */
		if (strcasestr(t, "zz-fuzz")) {
			free(t);
			goto out;
		}
		memcpy(t + size, extra, sizeof(extra));
		db2 = dpkg_db_new(want, NWANT);
		CHECK(dpkg_db_parse(db2, t, size + sizeof(extra) - 1, 0, &err) == 0);
		dpkg_db_installed(db2, &out2);
		b = joined(&out2);
		CHECK(strstr(b, "zz-fuzz ") != NULL);
		free(b);
		strv_free(&out2);
		dpkg_db_free(db2);
		free(t);
	}
out:
	free(a);
	strv_free(&out);
	return 0;
}
