/*
 * test_kvfile.c - unit tests for the shell-variable and `key: value` file
 * editor (saslauthd defaults, /etc/default/opendkim, smtpd.conf, aliases).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvfile.h"
#include "util.h"

static struct kvfile *parse_ok(const char *text, enum kv_style st)
{
	struct kvfile *kv = NULL;
	char *err = NULL;
	if (kvfile_parse(text, strlen(text), st, &kv, &err) < 0)
		fail_msg("parse failed: %s", err);
	return kv;
}

static void assert_render(const struct kvfile *kv, const char *want)
{
	char *out = kvfile_render(kv, NULL);
	assert_string_equal(out, want);
	free(out);
}

static void assert_error(const char *text, size_t len, enum kv_style st, const char *want)
{
	struct kvfile *kv = NULL;
	char *err = NULL;
	assert_int_equal(kvfile_parse(text, len, st, &kv, &err), -EINVAL);
	assert_null(kv);
	assert_string_equal(err, want);
	free(err);
}

/* The packaged Debian file: byte-identical without edits; START appended,
 * OPTIONS replaced in place and quoted; a second set changes nothing. */
static void test_debian_saslauthd(void **state)
{
	(void)state;
	char *text = NULL, *out1, *out2;
	size_t len = 0;
	struct kvfile *kv = NULL;
	char *err = NULL;

	assert_int_equal(read_whole_file("tests/data/debian12/default-saslauthd", &text, &len), 0);
	assert_int_equal(kvfile_parse(text, len, KV_SHELL, &kv, &err), 0);
	out1 = kvfile_render(kv, NULL);
	assert_memory_equal(out1, text, len);
	free(out1);
	assert_string_equal(kvfile_get(kv, "MECHANISMS"), "pam");
	assert_string_equal(kvfile_get(kv, "OPTIONS"), "-c -m /var/run/saslauthd");
	assert_null(kvfile_get(kv, "START"));
	assert_int_equal(kvfile_set(kv, "MECHANISMS", "pam"), 0);
	assert_int_equal(kvfile_set(kv, "START", "yes"), 0);
	assert_int_equal(kvfile_set(kv, "OPTIONS", "-c -m /var/spool/postfix/var/run/saslauthd"), 0);
	out1 = kvfile_render(kv, NULL);
	assert_non_null(strstr(out1, "\nMECHANISMS=\"pam\"\n"));	/* untouched: equal value */
	assert_non_null(strstr(out1, "\nOPTIONS=\"-c -m /var/spool/postfix/var/run/saslauthd\"\nSTART=yes\n"));
	assert_int_equal(kvfile_set(kv, "START", "yes"), 0);
	out2 = kvfile_render(kv, NULL);
	assert_string_equal(out1, out2);
	free(out1);
	free(out2);
	free(text);
	kvfile_free(kv);
}

static void test_shell_forms(void **state)
{
	(void)state;
	struct kvfile *kv = parse_ok("# c\nA=1\nexport B\nif true; then X=2; fi\nA='two words'\r\n"
				     "SOCKET=local:$RUNDIR/x.sock\n  C=\"q\"  \nD=", KV_SHELL);
	assert_string_equal(kvfile_get(kv, "A"), "two words");	/* the last wins */
	assert_int_equal(kvfile_count(kv, "A"), 2);
	assert_null(kvfile_get(kv, "X"));			/* shell code: opaque */
	assert_string_equal(kvfile_get(kv, "C"), "q");
	assert_string_equal(kvfile_get(kv, "D"), "");
	/* a value with an expansion is a definition, never equal: replaced */
	assert_int_equal(kvfile_set(kv, "SOCKET", "inet:8891@localhost"), 0);
	assert_int_equal(kvfile_set(kv, "A", "1"), 0);
	assert_int_equal(kvfile_set(kv, "D", "x y"), 0);	/* appended at EOF without newline */
	assert_render(kv, "# c\nA=1\nexport B\nif true; then X=2; fi\n#mailstage: A='two words'\r\n"
		      "SOCKET=inet:8891@localhost\n  C=\"q\"  \nD=\"x y\"");
	assert_int_equal(kvfile_set(kv, "E", "1"), 0);
	assert_render(kv, "# c\nA=1\nexport B\nif true; then X=2; fi\n#mailstage: A='two words'\r\n"
		      "SOCKET=inet:8891@localhost\n  C=\"q\"  \nD=\"x y\"\nE=1\n");
	/* refused: would need escaping, or not a variable name */
	assert_int_equal(kvfile_set(kv, "A", "$HOME"), -EINVAL);
	assert_int_equal(kvfile_set(kv, "A", "a\"b"), -EINVAL);
	assert_int_equal(kvfile_set(kv, "A", " lead"), -EINVAL);
	assert_int_equal(kvfile_set(kv, "1A", "x"), -EINVAL);
	assert_int_equal(kvfile_set(kv, "A-B", "x"), -EINVAL);
	kvfile_free(kv);
}

/* aliases(5): continuation lines, case-insensitive names, spacing kept. */
static void test_colon_aliases(void **state)
{
	(void)state;
	struct kvfile *kv = parse_ok("# aliases\npostmaster:    root\nDMARC: alice,\n  bob\n# x\n\tcarol\n"
				     "abuse:root\ndmarc: dave\n", KV_COLON);
	assert_string_equal(kvfile_get(kv, "dmarc"), "dave");
	assert_int_equal(kvfile_count(kv, "dmarc"), 2);
	assert_int_equal(kvfile_set(kv, "dmarc", "root"), 0);
	assert_render(kv, "# aliases\npostmaster:    root\nDMARC: root\n# x\nabuse:root\n#mailstage: dmarc: dave\n");
	assert_int_equal(kvfile_set(kv, "abuse", "root"), 0);	/* equal: untouched */
	assert_int_equal(kvfile_set(kv, "Postmaster", "admin"), 0);
	assert_int_equal(kvfile_set(kv, "new", "x"), 0);
	assert_render(kv, "# aliases\npostmaster:    admin\nDMARC: root\n# x\nabuse:root\n#mailstage: dmarc: dave\n"
		      "new: x\n");
	assert_int_equal(kvfile_set(kv, "a:b", "x"), -EINVAL);
	assert_int_equal(kvfile_set(kv, "a b", "x"), -EINVAL);
	kvfile_free(kv);
	/* an entry with an empty value gets a blank after the colon */
	kv = parse_ok("x:\n", KV_COLON);
	assert_int_equal(kvfile_set(kv, "x", "y"), 0);
	assert_render(kv, "x: y\n");
	kvfile_free(kv);
	/* Cyrus smtpd.conf, created from nothing */
	kv = parse_ok("", KV_COLON);
	assert_int_equal(kvfile_set(kv, "pwcheck_method", "saslauthd"), 0);
	assert_int_equal(kvfile_set(kv, "mech_list", "plain login"), 0);
	assert_render(kv, "pwcheck_method: saslauthd\nmech_list: plain login\n");
	kvfile_free(kv);
}

static void test_errors(void **state)
{
	(void)state;
	assert_error("a: b\n\0x\n", 8, KV_COLON, "line 2: NUL byte (binary data?)");
	assert_error("A=1\nB=2\r3\n", 10, KV_SHELL, "line 2: carriage return inside a line");
	assert_error("A=\x01\n", 4, KV_SHELL, "line 1: control character 0x01 (binary data?)");
	assert_error("  cont\n", 7, KV_COLON, "line 1: continuation line (starts with a blank) before any entry");
	assert_error("a: b\nno colon here\n", 19, KV_COLON, "line 2: no ':' (expected \"key: value\")");
	assert_error(": v\n", 4, KV_COLON, "line 1: empty key before ':'");
}

/*
 * Issue 10: a shell value quoted over several lines is one assignment.  A
 * "MECH=x" inside another variable's quotes is text, never edited; setting
 * a variable whose value spans lines replaces all of its lines (before: an
 * unterminated quote was left); a quote never closed is refused.
 */
static void test_shell_multiline_quotes(void **state)
{
	struct kvfile *kv;
	(void)state;
	kv = parse_ok("FLAGS=\"-a\nMECH=x\"\nMECH=shadow\n", KV_SHELL);
	assert_int_equal(kvfile_count(kv, "MECH"), 1);
	assert_int_equal(kvfile_set(kv, "MECH", "pam"), 0);
	assert_render(kv, "FLAGS=\"-a\nMECH=x\"\nMECH=pam\n");
	kvfile_free(kv);

	kv = parse_ok("MECH=\"shadow\n# still the value\n\"\nFLAGS=\n", KV_SHELL);
	assert_int_equal(kvfile_set(kv, "MECH", "pam"), 0);
	assert_render(kv, "MECH=pam\nFLAGS=\n");
	kvfile_free(kv);

	/* A later duplicate spanning lines is disabled line by line, so it stays a comment. */
	kv = parse_ok("MECH=pam\nMECH='a\nb'\n", KV_SHELL);
	assert_int_equal(kvfile_set(kv, "MECH", "pam"), 0);
	assert_render(kv, "MECH=pam\n#mailstage: MECH='a\n#mailstage: b'\n");
	kvfile_free(kv);

	/* A backslash-newline continues the assignment; a '#' word ends the code. */
	kv = parse_ok("OPTIONS=-a \\\nMECH=x\nA=1 # it's a comment\nMECH=y\n", KV_SHELL);
	assert_int_equal(kvfile_count(kv, "MECH"), 1);
	assert_string_equal(kvfile_get(kv, "MECH"), "y");
	kvfile_free(kv);

	assert_error("A=1\nB=\"open\nC=2\n", 15, KV_SHELL, "line 2: the quoted value opened here is never closed");
	assert_error("A=1\nB=2 \\\n", 10, KV_SHELL,
		     "line 2: the file ends in a backslash-newline (the command goes on past the end)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_saslauthd),
		cmocka_unit_test(test_shell_forms),
		cmocka_unit_test(test_colon_aliases),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shell_multiline_quotes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
