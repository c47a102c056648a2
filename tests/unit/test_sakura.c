/*
 * test_sakura.c - the Sakura VPS API client's JSON reader and URL rule
 * (installer/sakura.h) on answers shaped like the API reference's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sakura.h"
#include "util.h"

static const char server[] =
	"{\"id\": 123456, \"name\": \"x\", \"ipv4\": {\"address\": \"192.0.2.10\", \"ptr\": \"ik1-1.vs.sakura.ne.jp\"},\n"
	" \"ipv6\": {\"address\": null, \"ptr\": null}, \"storage\": [{\"port\": 0}], \"ok\": true}";

static char *str_at(const char *doc, const char *path)
{
	struct jspan v;
	if (json_get(doc, strlen(doc), path, &v) < 0)
		return NULL;
	return json_string(v);
}

static void test_get(void **state)
{
	struct jspan v;
	char *s;
	(void)state;
	s = str_at(server, "ipv4.ptr");
	assert_string_equal(s, "ik1-1.vs.sakura.ne.jp");
	free(s);
	assert_int_equal(json_get(server, strlen(server), "ipv6.ptr", &v), 0);
	assert_int_equal(json_kind(v), 'z');
	assert_int_equal(json_get(server, strlen(server), "ipv4.nothere", &v), -ENOENT);
	assert_int_equal(json_get(server, strlen(server), "id.x", &v), -ENOENT);
	assert_int_equal(json_get(server, strlen(server), "ok", &v), 0);
	assert_int_equal(json_kind(v), 't');
	assert_int_equal(json_get(server, strlen(server), "storage", &v), 0);
	assert_int_equal(json_kind(v), 'a');
	/* a key written with an escape is the same key */
	s = str_at("{\"p\\u0074r\": \"a\"}", "ptr");
	assert_string_equal(s, "a");
	free(s);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = { "", "{", "{\"a\" 1}", "{\"a\": 1,}", "[1,]", "01", "1.", "\"\\x\"",
					   "\"a\nb\"", "{\"a\": 1} x", "tru" };
	struct jspan v;
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(json_valid(bad[i], strlen(bad[i])));
		assert_int_equal(json_get(bad[i], strlen(bad[i]), "a", &v), -EINVAL);
	}
	assert_true(json_valid(" [1, -2.5e+3, true, false, null, {}] ", 36));
	{	/* nesting: 30 deep is fine, 40 deep is refused (bounded recursion) */
		char deep[100];
		memset(deep, '[', 30), deep[30] = '1', memset(deep + 31, ']', 30);
		assert_true(json_valid(deep, 61));
		memset(deep, '[', 40), deep[40] = '1', memset(deep + 41, ']', 40);
		assert_false(json_valid(deep, 81));
	}
}

static void test_strings(void **state)
{
	struct jspan v = { "\"\\u30e1\\u30fc\\u30eb \\ud83d\\ude00 \\\"q\\\" \\\\ \\/\"", 0 };
	char *s, *q;
	(void)state;
	v.n = strlen(v.p);
	s = json_string(v);
	assert_string_equal(s, "メール 😀 \"q\" \\ /");
	q = json_quote(s);
	assert_string_equal(q, "\"メール 😀 \\\"q\\\" \\\\ /\"");
	free(q);
	free(s);
	v.p = "\"a\\u0000b\"";	/* a NUL inside: not a name */
	v.n = strlen(v.p);
	assert_null(json_string(v));
	v.p = "\"\\ud83d\"";	/* a lone surrogate */
	v.n = strlen(v.p);
	assert_null(json_string(v));
	q = json_quote("tab\there\n");
	assert_string_equal(q, "\"tab\\u0009here\\u000a\"");
	free(q);
}

static void test_array(void **state)
{
	const char *doc = "{\"rules\": [{\"protocol\": \"tcp\", \"port\": \"22\"}, {\"port\": 25} ]}";
	struct jspan rules, e;
	size_t pos = 0;
	int n = 0;
	(void)state;
	assert_int_equal(json_get(doc, strlen(doc), "rules", &rules), 0);
	while (json_array_next(rules, &pos, &e) == 1) {
		assert_true(json_valid(e.p, e.n));
		n++;
	}
	assert_int_equal(n, 2);
	rules.p = "[]";
	rules.n = 2;
	pos = 0;
	assert_int_equal(json_array_next(rules, &pos, &e), 0);
}

static void test_url(void **state)
{
	(void)state;
	assert_true(sakura_url_ok("https://secure.sakura.ad.jp/vps/api/v7"));
	assert_true(sakura_url_ok("http://127.0.0.1:8080/vps/api/v7"));
	assert_true(sakura_url_ok("http://[::1]:8080/v7"));
	assert_false(sakura_url_ok("http://localhost/v7"));	/* a name: only loopback addresses */
	assert_false(sakura_url_ok("http://secure.sakura.ad.jp/vps/api/v7"));	/* the key in clear */
	assert_false(sakura_url_ok("http://192.0.2.1/v7"));
	assert_false(sakura_url_ok("ftp://127.0.0.1/"));
	assert_false(sakura_url_ok("https://"));
	assert_false(sakura_url_ok("https://a b/"));
	assert_false(sakura_url_ok("https://x/?q=1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_array),
		cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
