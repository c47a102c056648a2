/*
 * test_fpcache.c - the fingerprint cache of crypto answers (fpcache.c):
 * SHA-256 against the FIPS 180-4 vectors; a hit only while the bytes are
 * the same (a key swapped for one of the same size and mtime is parsed
 * again and refused); records survive save/load in the state directory and
 * are ignored when the file is not private to this user.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "fpcache.h"
#include "root.h"
#include "testutil.h"
#include "util.h"

static void sha256_vectors(void **state)
{
	char out[65], *big;
	(void)state;

	sha256_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	big = xmalloc(1000000);
	memset(big, 'a', 1000000);
	sha256_hex(big, 1000000, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(big);
}

/*
 * Both ways of computing it (the SHA-NI instructions where this CPU has
 * them, and the portable code) against OpenSSL, for every length around the
 * block and padding edges and one long buffer.  On a CPU without SHA-NI
 * (or under valgrind, which does not report it) only the portable code runs;
 * the test prints which.
 */
static void sha256_paths_agree(void **state)
{
	unsigned char *buf = xmalloc(70000), md[32];
	char out[65], want[65];
	size_t len, i;
	int pass, accel;
	(void)state;

	for (i = 0; i < 70000; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	sha256_portable_only = 0;
	accel = sha256_accelerated();
	printf("sha256: %s\n", accel ? "SHA-NI and portable" : "portable only (no SHA-NI on this CPU)");
	for (pass = 0; pass < 1 + accel; pass++) {
		sha256_portable_only = pass == 1;
		assert_int_equal(sha256_accelerated(), accel && pass == 0);
		for (len = 0; len <= 70000; len = len < 300 ? len + 1 : len * 3 + 7) {
			assert_int_equal(crypto_sha256(buf, len, md), 0);
			for (i = 0; i < 32; i++)
				snprintf(want + 2 * i, 3, "%02x", md[i]);
			sha256_hex(buf, len, out);
			assert_string_equal(out, want);
		}
	}
	sha256_portable_only = 0;
	free(buf);
}

struct fixture {
	char dir[64];
	struct root root;
	char *key;
	size_t kl;
};

static int setup(void **state)
{
	struct fixture *f = xmalloc(sizeof(*f));
	char *why = NULL;

	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/ms-f-fpcache.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(root_init(&f->root, f->dir, &why), 0);
	assert_int_equal(crypto_rsa_generate(2048, &f->key, &f->kl), 0);
	tu_write_file(f->dir, "k.pem", f->key, f->kl);
	fpcache_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fpcache_reset();
	root_free(&f->root);
	crypto_free_secret(f->key, f->kl);
	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

static char *host(const struct fixture *f, const char *name)
{
	return xasprintf("%s/%s", f->dir, name);
}

/* A key replaced by bytes of the same length, mtime put back: parsed again, refused. */
static void changed_bytes_miss(void **state)
{
	struct fixture *f = *state;
	char *p = host(f, "k.pem"), *bad = xstrdup(f->key), *why = NULL;
	struct stat sb;
	struct timespec ts[2];
	int bits = 0;

	assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);
	assert_int_equal(bits, 2048);
	bits = 0;
	assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);	/* a hit */
	assert_int_equal(bits, 2048);

	assert_int_equal(stat(p, &sb), 0);
	memset(bad + 40, 'A', 200);	/* inside the base64: no longer a key */
	tu_write_file(f->dir, "k.pem", bad, f->kl);
	ts[0] = sb.st_atim;
	ts[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_int_equal(fp_key_info(&f->root, "/k.pem", bad, f->kl, &bits, &why), -EINVAL);
	assert_non_null(why);
	free(why);
	free(bad);
	free(p);
}

/*
 * The edit records of the mail configuration stages: a hit only for the
 * same file (bytes and status), the same configuration bytes, profile and
 * variant; kept across save/load; never made where SHA-256 is in software.
 */
static void edit_records(void **state)
{
	struct fixture *f = *state;
	const char *conf = "hostname = mail.example.com\n", *text = "smtp inet n - y - - smtpd\n";
	const char *other = "smtp inet n - n - - smtpd\n";
	char in1[65], in2[65], in3[65], *p = host(f, "master.cf");
	struct stat sb;
	struct timespec ts[2];

	sha256_portable_only = 1;
	assert_int_equal(fp_edit_inputs(conf, strlen(conf), "debian12", NULL, in1), -1);
	sha256_portable_only = 0;
	if (!sha256_accelerated()) {
		printf("edit records: not made on this CPU (no SHA-NI): only that was checked\n");
		free(p);
		return;
	}
	assert_int_equal(fp_edit_inputs(NULL, 0, "debian12", NULL, in1), -1);
	assert_int_equal(fp_edit_inputs(conf, strlen(conf), "debian12", NULL, in1), 0);
	assert_int_equal(fp_edit_inputs("hostname = mail.example.org\n", strlen(conf), "debian12", NULL, in2), 0);
	assert_int_equal(fp_edit_inputs(conf, strlen(conf), "debian12", "selinux", in3), 0);
	assert_string_not_equal(in1, in2);
	assert_string_not_equal(in1, in3);
	{	/* comments and blank lines, which the configuration parser skips, do not count */
		const char *commented = "# the host\n\n  # indented\nhostname = mail.example.com\n\t\n";
		char in4[65];
		assert_int_equal(fp_edit_inputs(commented, strlen(commented), "debian12", NULL, in4), 0);
		assert_string_equal(in1, in4);
		assert_int_equal(fp_edit_inputs(conf, strlen(conf), "debian12", NULL, in1), 0);
	}

	tu_write_file(f->dir, "master.cf", text, strlen(text));
	assert_int_equal(fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in1, 0), 0);
	(void)fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in1, 1);
	assert_int_equal(fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in1, 0), 1);
	assert_int_equal(fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in2, 0), 0);
	assert_int_equal(fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in3, 0), 0);
	assert_int_equal(fp_edit_unchanged(&f->root, "/main.cf", NULL, text, strlen(text), in1, 0), 0);

	/* kept in the state directory; one made with other inputs than the run's last is dropped */
	(void)fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in2, 1);
	assert_int_equal(fp_edit_inputs(conf, strlen(conf), "debian12", NULL, in1), 0);	/* this run's */
	assert_int_equal(fpcache_save(f->dir, 0), 0);
	fpcache_load(f->dir);
	assert_int_equal(fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in1, 0), 1);
	assert_int_equal(fp_edit_unchanged(&f->root, "/master.cf", NULL, text, strlen(text), in2, 0), 0);

	/* other bytes of the same length, mtime put back: no hit */
	assert_int_equal(stat(p, &sb), 0);
	tu_write_file(f->dir, "master.cf", other, strlen(other));
	ts[0] = sb.st_atim;
	ts[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	fpcache_load(f->dir);
	assert_int_equal(fp_edit_unchanged(&f->root, "/master.cf", NULL, other, strlen(other), in1, 0), 0);
	free(p);
}

/* Write a forged record for the key as it is now, with mode; return what fp_key_info says. */
static int forged_bits(struct fixture *f, mode_t mode)
{
	char *why = NULL, *rec, *line, *tab, *p = host(f, "fingerprints");
	int bits = 0;
	size_t n;

	fpcache_reset();
	assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);
	assert_int_equal(fpcache_save(f->dir, 1), 0);
	rec = tu_read_file(p, &n);
	line = strstr(rec, "key-info|");
	assert_non_null(line);
	tab = strchr(line, '\t');
	assert_non_null(tab);
	strcpy(tab + 1, "4096\n");	/* what a real check would never say of this key */
	tu_write_file(f->dir, "fingerprints", line, strlen(line));
	assert_int_equal(chmod(p, mode), 0);
	fpcache_load(f->dir);
	bits = 0;
	assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);
	free(rec);
	free(p);
	return bits;
}

static void records_load_from_state_dir(void **state)
{
	assert_int_equal(forged_bits(*state, 0600), 4096);	/* the record was used: no parse */
}

static void untrusted_records_ignored(void **state)
{
	assert_int_equal(forged_bits(*state, 0644), 2048);	/* readable by others: not trusted */
	assert_int_equal(forged_bits(*state, 0620), 2048);
}

/* A run that used nothing new writes nothing. */
static void noop_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char *why = NULL, *p = host(f, "fingerprints");
	int bits = 0;

	assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);
	assert_int_equal(fpcache_save(f->dir, 1), 0);
	fpcache_load(f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);
	assert_int_equal(fpcache_save(f->dir, 1), 0);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
}

/*
 * A run of some stages (--only, --skip) keeps the records of the others: the
 * next full no-op still finds them (it would parse every key again).  A run
 * of every stage keeps only what it used.
 */
static void partial_run_keeps_records(void **state)
{
	struct fixture *f = *state;
	char *why = NULL, *rec, *p = host(f, "fingerprints");
	int bits = 0;
	size_t n;

	fpcache_reset();
	assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);
	assert_int_equal(fpcache_save(f->dir, 1), 0);
	fpcache_load(f->dir);			/* the next run uses nothing ... */
	assert_int_equal(fpcache_save(f->dir, 0), 0);	/* ... of only some stages */
	rec = tu_read_file(p, &n);
	assert_non_null(strstr(rec, "key-info|"));
	free(rec);
	fpcache_load(f->dir);
	assert_int_equal(fpcache_save(f->dir, 1), 0);	/* every stage, and none used it */
	rec = tu_read_file(p, &n);
	assert_null(strstr(rec, "key-info|"));
	free(rec);
	free(p);
}

/*
 * A record's fingerprint is "PATH DEV INO SIZE MTIME CTIME SHA256", the
 * numbers written by hand (fingerprint_stat()): the same bytes as printf's
 * "%llu" and "%lld.%09ld", for a time with leading zeros in its nanoseconds
 * and one before 1970 where the file system keeps it.
 */
static void record_format_matches_printf(void **state)
{
	struct fixture *f = *state;
	static const struct timespec times[] = { { 1796593292, 7 }, { 0, 999999999 }, { -86401, 120 } };
	char *why = NULL, *rec, *want, *p = host(f, "k.pem"), *fp = host(f, "fingerprints"), sha[65];
	struct timespec ts[2];
	struct stat sb;
	size_t n, i;
	int bits;

	sha256_hex(f->key, f->kl, sha);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		ts[0] = ts[1] = times[i];
		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
		assert_int_equal(stat(p, &sb), 0);
		fpcache_reset();
		assert_int_equal(fp_key_info(&f->root, "/k.pem", f->key, f->kl, &bits, &why), 0);
		assert_int_equal(fpcache_save(f->dir, 1), 0);
		rec = tu_read_file(fp, &n);
		want = xasprintf("key-info|/k.pem %llu %llu %llu %lld.%09ld %lld.%09ld %s\t2048\n",
				 (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
				 (unsigned long long)sb.st_size, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec,
				 (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec, sha);
		assert_non_null(strstr(rec, want));
		free(rec);
		free(want);
	}
	free(p);
	free(fp);
}

/*
 * A value derived from bytes alone: found again for the same bytes (after a
 * save and load too), not for other bytes nor another kind; nothing is
 * remembered with SHA-256 in software (as the edit records), nor a value
 * with a tab.
 */
static void derived_values(void **state)
{
	struct fixture *f = *state;
	static const char a[] = "alias_database = hash:/etc/aliases\n", b[] = "alias_database = lmdb:/etc/aliases\n";
	char *v;

	if (!sha256_accelerated()) {
		fp_derived_put("k", a, sizeof(a) - 1, "=x");
		assert_null(fp_derived_get("k", a, sizeof(a) - 1));
		printf("derived values: SHA-256 in software, none remembered\n");
		return;
	}
	assert_null(fp_derived_get("k", a, sizeof(a) - 1));
	fp_derived_put("k", a, sizeof(a) - 1, "=hash:/etc/aliases");
	fp_derived_put("k", b, sizeof(b) - 1, "=lmdb:/etc/aliases");
	fp_derived_put("k", "t", 1, "a\tb");
	assert_null(fp_derived_get("k", "t", 1));
	assert_int_equal(fpcache_save(f->dir, 1), 0);
	fpcache_reset();
	fpcache_load(f->dir);
	v = fp_derived_get("k", a, sizeof(a) - 1);
	assert_string_equal(v, "=hash:/etc/aliases");
	free(v);
	v = fp_derived_get("k", b, sizeof(b) - 1);
	assert_string_equal(v, "=lmdb:/etc/aliases");
	free(v);
	assert_null(fp_derived_get("other", a, sizeof(a) - 1));
	assert_null(fp_derived_get("k", a, sizeof(a) - 2));
	sha256_portable_only = 1;
	assert_null(fp_derived_get("k", a, sizeof(a) - 1));
	sha256_portable_only = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_vectors),
		cmocka_unit_test(sha256_paths_agree),
		cmocka_unit_test_setup_teardown(changed_bytes_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(edit_records, setup, teardown),
		cmocka_unit_test_setup_teardown(records_load_from_state_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(untrusted_records_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(noop_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(partial_run_keeps_records, setup, teardown),
		cmocka_unit_test_setup_teardown(record_format_matches_printf, setup, teardown),
		cmocka_unit_test_setup_teardown(derived_values, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
