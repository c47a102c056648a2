/*
 * test_firewall.c - the pure parts of firewalld's answers that the firewall
 * and tls stages read: words of a service list, and whether a port list
 * ("80/tcp 8000-8100/tcp", as zone.getPorts and `firewall-cmd --list-ports`
 * give it) opens a port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "steps.h"

static void test_word_in(void **state)
{
	(void)state;
	assert_true(firewalld_word_in("ssh http dhcpv6-client", "http"));
	assert_true(firewalld_word_in("http", "http"));
	assert_false(firewalld_word_in("https ssh", "http"));
	assert_false(firewalld_word_in("xhttp http-alt", "http"));
	assert_false(firewalld_word_in("", "http"));
}

static void test_port_in(void **state)
{
	(void)state;
	assert_true(firewalld_port_in("80/tcp", 80, "tcp"));
	assert_true(firewalld_port_in("22/tcp 79-81/tcp", 80, "tcp"));
	assert_true(firewalld_port_in(" 53/udp  80/tcp ", 80, "tcp"));
	assert_false(firewalld_port_in("80/udp", 80, "tcp"));
	assert_false(firewalld_port_in("8080/tcp 81-90/tcp", 80, "tcp"));
	assert_false(firewalld_port_in("80/tcpx", 80, "tcp"));
	assert_false(firewalld_port_in("", 80, "tcp"));
	assert_false(firewalld_port_in("x/tcp 80", 80, "tcp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_word_in),
		cmocka_unit_test(test_port_in),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
