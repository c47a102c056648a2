/*
 * test_repos.c - the repos stage's reading of the target's architecture
 * (yum's $basearch) from an ELF header: it decides between
 * https://vault.centos.org/7.9.2009/ (x86_64) and .../altarch/7.9.2009/
 * (aarch64, ppc64le, ppc64, i386, armhfp) for CentOS 7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <cmocka.h>

#include "steps.h"
#include "testutil.h"

/* A 64-byte ELF header: class (1 32-bit, 2 64-bit), data (1 LE, 2 BE), e_machine. */
static void elf(unsigned char *h, int cls, int data, unsigned machine)
{
	memset(h, 0, 64);
	memcpy(h, "\177ELF", 4);
	h[4] = (unsigned char)cls;
	h[5] = (unsigned char)data;
	h[6] = 1;
	if (data == 1) {
		h[18] = machine & 0xff;
		h[19] = machine >> 8;
	} else {
		h[18] = machine >> 8;
		h[19] = machine & 0xff;
	}
}

static void want(int cls, int data, unsigned machine, const char *arch)
{
	unsigned char h[64];
	const char *got;
	elf(h, cls, data, machine);
	got = repos_elf_basearch(h, sizeof(h));
	if (!arch)
		assert_null(got);
	else
		assert_string_equal(got, arch);
}

static void test_elf_basearch(void **state)
{
	unsigned char h[64];
	(void)state;
	want(2, 1, 62, "x86_64");
	want(2, 1, 183, "aarch64");
	want(2, 1, 21, "ppc64le");
	want(2, 2, 21, "ppc64");
	want(1, 1, 3, "i386");
	want(1, 1, 40, "armhfp");
	want(2, 1, 0x1234, NULL);
	/* Not ELF, bad byte order, too short. */
	elf(h, 2, 1, 62);
	h[0] = '#';
	assert_null(repos_elf_basearch(h, sizeof(h)));
	elf(h, 2, 3, 62);
	assert_null(repos_elf_basearch(h, sizeof(h)));
	elf(h, 2, 1, 62);
	assert_null(repos_elf_basearch(h, 19));
	assert_string_equal(repos_elf_basearch(h, 20), "x86_64");
}

/* A real program of this machine reads as this machine's architecture. */
static void test_real_program(void **state)
{
	const char *prog = tu_find_tool("true");
	struct utsname u;
	size_t len;
	char *data;
	const char *a;
	(void)state;
	assert_non_null(prog);
	assert_int_equal(uname(&u), 0);
	data = tu_read_file(prog, &len);
	a = repos_elf_basearch((const unsigned char *)data, len);
	assert_non_null(a);
	if (strcmp(u.machine, "i686") != 0)
		assert_string_equal(a, u.machine);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_basearch),
		cmocka_unit_test(test_real_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
