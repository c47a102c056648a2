/*
 * test_payload.c - the embedded payload: listing, reading, the data
 * directory override (MAILSTAGE_DATADIR), bad names, extraction.
 * Run from the repository root (payload/ is compared with the embedded copy).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "payload.h"
#include "util.h"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *dir)
{
	assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int has(const struct strv *v, const char *s)
{
	size_t i;
	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return 1;
	return 0;
}

static void lists_the_source_tree(void **state)
{
	struct strv names = { 0 };

	(void)state;
	assert_int_equal(payload_list(&names), 0);
	assert_true(has(&names, "mailstage.conf.example"));	/* payload/mailstage.conf, renamed */
	assert_false(has(&names, "mailstage.conf"));
	assert_true(has(&names, "man/mailstage.8"));
	assert_true(has(&names, "man/mailstage.conf.5"));
	assert_true(has(&names, "units/mailstage-converge.service"));
	assert_true(has(&names, "units/mailstage-converge.timer"));
	assert_true(has(&names, "completion/mailstage"));
	strv_free(&names);
}

static void embedded_equals_source(void **state)
{
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	int over = -1;

	(void)state;
	unsetenv("MAILSTAGE_DATADIR");
	assert_int_equal(payload_get("mailstage.conf.example", &a, &la, &over), 0);
	assert_int_equal(over, 0);
	assert_int_equal(read_whole_file("payload/mailstage.conf", &b, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	assert_int_equal(a[la], '\0');
	free(a);
	free(b);
}

static void bad_and_missing_names(void **state)
{
	char *d = NULL;
	size_t l = 0;

	(void)state;
	unsetenv("MAILSTAGE_DATADIR");
	assert_int_equal(payload_get("no/such/file", &d, &l, NULL), -ENOENT);
	assert_int_equal(payload_get("../etc/passwd", &d, &l, NULL), -EINVAL);
	assert_int_equal(payload_get("/etc/passwd", &d, &l, NULL), -EINVAL);
	assert_int_equal(payload_get("man/../mailstage.conf.example", &d, &l, NULL), -EINVAL);
	assert_int_equal(payload_get("man//mailstage.8", &d, &l, NULL), -EINVAL);
	assert_int_equal(payload_get("", &d, &l, NULL), -EINVAL);
	assert_null(d);
}

static void datadir_overrides(void **state)
{
	char dir[] = "/tmp/ms-payload-XXXXXX", *path, *d = NULL, *sub, *subsub;
	size_t l = 0;
	int over = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/mailstage.conf.example", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hostname = local.example\n", f);
	fclose(f);
	setenv("MAILSTAGE_DATADIR", dir, 1);
	assert_string_equal(payload_datadir(), dir);
	assert_int_equal(payload_get("mailstage.conf.example", &d, &l, &over), 0);
	assert_int_equal(over, 1);
	assert_string_equal(d, "hostname = local.example\n");
	free(d);
	/* A name with no override still comes from the binary. */
	assert_int_equal(payload_get("man/mailstage.8", &d, &l, &over), 0);
	assert_int_equal(over, 0);
	assert_true(l > 1000);
	free(d);
	/* A directory of that name is not an override. */
	sub = xasprintf("%s/man", dir);
	subsub = xasprintf("%s/man/mailstage.8", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(subsub, 0755), 0);
	assert_int_equal(payload_get("man/mailstage.8", &d, &l, &over), 0);
	assert_int_equal(over, 0);
	free(d);
	unsetenv("MAILSTAGE_DATADIR");
	assert_string_equal(payload_datadir(), MAILSTAGE_DATADIR);
	rm_rf(dir);
	free(sub);
	free(subsub);
	free(path);
}

static void extract_writes_everything(void **state)
{
	char dir[] = "/tmp/ms-payload-XXXXXX", *out, *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	struct stat st;

	(void)state;
	unsetenv("MAILSTAGE_DATADIR");
	assert_non_null(mkdtemp(dir));
	out = xasprintf("%s/new", dir);		/* created when missing */
	assert_int_equal(payload_extract(out), 0);
	a = xasprintf("%s/units/mailstage-converge.timer", out);
	assert_int_equal(stat(a, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(read_whole_file(a, &b, &lb), 0);
	free(a);
	a = NULL;
	assert_int_equal(read_whole_file("payload/units/mailstage-converge.timer", &a, &la), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	/* Again over the existing files: replaced, still 0. */
	assert_int_equal(payload_extract(out), 0);
	rm_rf(dir);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lists_the_source_tree),
		cmocka_unit_test(embedded_equals_source),
		cmocka_unit_test(bad_and_missing_names),
		cmocka_unit_test(datadir_overrides),
		cmocka_unit_test(extract_writes_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
