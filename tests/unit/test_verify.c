/*
 * test_verify.c - the record logic behind `mailstage verify`: SPF
 * authorisation (ip4/ip6 CIDR, a/mx, qualifiers, include), the DKIM p=
 * of TXT data and of zone text split into strings, reverse names, and
 * --resolver parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dnsq.h"
#include "verify.h"

static int spf(const char *rec, const char *addr, const char *const *a)
{
	char *why = NULL;
	int r = spf_authorises(rec, addr, a, &why);
	free(why);
	return r;
}

static void test_spf(void **state)
{
	const char *const a[] = { "192.0.2.10", "2001:db8::10", NULL };
	(void)state;
	assert_int_equal(spf("v=spf1 ip4:192.0.2.10 ~all", "192.0.2.10", NULL), 1);
	assert_int_equal(spf("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.77", NULL), 1);
	assert_int_equal(spf("v=spf1 ip4:192.0.2.0/25 -all", "192.0.2.200", NULL), 0);
	/* The guide's record: IPv4 only, so mail sent over IPv6 is not authorised. */
	assert_int_equal(spf("v=spf1 ip4:192.0.2.10 ~all", "2001:db8::10", NULL), 0);
	assert_int_equal(spf("v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all", "2001:db8::10", NULL), 1);
	assert_int_equal(spf("v=spf1 ip6:2001:db8::/32 ~all", "2001:db8:1::5", NULL), 1);
	assert_int_equal(spf("v=spf1 -ip4:192.0.2.10 ~all", "192.0.2.10", NULL), 0);	/* a fail qualifier */
	assert_int_equal(spf("v=spf1 mx -all", "192.0.2.10", a), 1);
	assert_int_equal(spf("v=spf1 a -all", "198.51.100.1", a), 0);
	assert_int_equal(spf("v=spf1 include:_spf.example.net ~all", "192.0.2.10", NULL), -1);
}

static void test_dkim_p(void **state)
{
	char *p;
	(void)state;
	p = dkim_p_of("v=DKIM1; k=rsa; p=MIIBabc");
	assert_string_equal(p, "MIIBabc");
	free(p);
	p = dkim_p_of("v=DKIM1; k=rsa; p=MIIB abc; t=y");
	assert_string_equal(p, "MIIBabc");
	free(p);
	p = dkim_p_of("default._domainkey\tIN\tTXT\t( \"v=DKIM1; k=rsa; \"\n\t  \"p=MIIBxyz\"\n\t  \"tail\" )  ; c");
	assert_string_equal(p, "MIIBxyztail");
	free(p);
	assert_null(dkim_p_of("v=DKIM1; k=rsa"));
	p = dkim_p_of("v=DKIM1; p=");
	assert_string_equal(p, "");	/* a revoked key: present but empty */
	free(p);
}

static void test_reverse_and_server(void **state)
{
	char *r;
	(void)state;
	r = dnsq_reverse_name("192.0.2.10");
	assert_string_equal(r, "10.2.0.192.in-addr.arpa");
	free(r);
	r = dnsq_reverse_name("2001:db8::1");
	assert_string_equal(r, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	free(r);
	assert_null(dnsq_reverse_name("not-an-address"));
	assert_int_equal(dnsq_parse_server("127.0.0.1:5353"), 0);
	assert_int_not_equal(dnsq_parse_server("127.0.0.1"), 0);
	assert_int_not_equal(dnsq_parse_server("localhost:53"), 0);
	assert_int_not_equal(dnsq_parse_server("127.0.0.1:70000"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_dkim_p),
		cmocka_unit_test(test_reverse_and_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
