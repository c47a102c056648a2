/*
 * test_json.c - json_str() (util.c): the one JSON string encoder of --json output.
 * Whatever bytes a target's file holds, the result parses as JSON: quotes,
 * backslashes and control bytes escaped, valid UTF-8 kept, any other byte
 * (Latin-1, a truncated or overlong sequence, a surrogate) U+FFFD.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util.h"

static void is(const char *in, const char *want)
{
	char *got = json_str(in);
	assert_string_equal(got, want);
	free(got);
}

static void test_escapes(void **state)
{
	(void)state;
	is("", "\"\"");
	is(NULL, "\"\"");
	is("a\"b\\c", "\"a\\\"b\\\\c\"");
	is("l1\nl2\t\x1b[0m\x7f", "\"l1\\nl2\\u0009\\u001b[0m\\u007f\"");
}

static void test_utf8(void **state)
{
	(void)state;
	is("メール ü €", "\"メール ü €\"");
	is("\xf0\x9f\x93\xa7", "\"\xf0\x9f\x93\xa7\"");		/* U+1F4E7 */
	is("caf\xe9 ok", "\"caf\\ufffd ok\"");			/* Latin-1 */
	is("\xe3\x83", "\"\\ufffd\\ufffd\"");			/* truncated */
	is("\xc0\xaf", "\"\\ufffd\\ufffd\"");			/* overlong '/' */
	is("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");	/* overlong, 3 bytes */
	is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate D800 */
	is("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	is("\xff", "\"\\ufffd\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
