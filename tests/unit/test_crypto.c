/*
 * test_crypto.c - keys, DKIM public keys and self-signed certificates,
 * cross-checked with the `openssl` command (fork/exec, argv only).
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
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "testutil.h"
#include "util.h"

#define HOST "mail.example.org"

static char tmpdir[64];
static char *key2048, *key1024;
static size_t key2048_len, key1024_len;

static void path_in_tmp(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void write_tmp(const char *name, const char *data, size_t len, char *path, size_t pathlen)
{
	int fd;

	path_in_tmp(path, pathlen, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	close(fd);
}

static char *read_tmp(const char *name, size_t *len)
{
	char path[128], *data = NULL;

	path_in_tmp(path, sizeof(path), name);
	assert_int_equal(read_whole_file(path, &data, len), 0);
	return data;
}

static double now_sec(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static int setup(void **state)
{
	double t0;

	(void)state;
	strcpy(tmpdir, "/tmp/test_crypto.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	for (int i = 0; i < 3; i++) {
		char *pem = NULL;
		size_t len = 0;

		t0 = now_sec();
		if (crypto_rsa_generate(2048, &pem, &len) != 0)
			return -1;
		fprintf(stderr, "RSA 2048 keygen run %d: %.3f s\n", i + 1, now_sec() - t0);
		if (i == 0) {
			key2048 = pem;
			key2048_len = len;
		} else {
			crypto_free_secret(pem, len);
		}
	}
	t0 = now_sec();
	if (crypto_rsa_generate(1024, &key1024, &key1024_len) != 0)
		return -1;
	fprintf(stderr, "RSA 1024 keygen: %.3f s\n", now_sec() - t0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	crypto_free_secret(key2048, key2048_len);
	crypto_free_secret(key1024, key1024_len);
	tu_rm_rf(tmpdir);
	return 0;
}

static void test_generate(void **state)
{
	int bits = 0;
	char *why = NULL, *pem = NULL;
	size_t len = 1;

	(void)state;
	assert_non_null(strstr(key2048, "-----BEGIN "));
	assert_non_null(strstr(key2048, "PRIVATE KEY-----"));
	assert_int_equal(strlen(key2048), key2048_len);
	assert_int_equal(crypto_key_info(key2048, key2048_len, &bits, &why), 0);
	assert_int_equal(bits, 2048);
	assert_null(why);
	assert_int_equal(crypto_key_info(key1024, key1024_len, &bits, &why), 0);
	assert_int_equal(bits, 1024);

	assert_int_equal(crypto_rsa_generate(512, &pem, &len), -EINVAL);
	assert_null(pem);
	assert_int_equal(len, 0);
	assert_int_equal(crypto_rsa_generate(0, &pem, &len), -EINVAL);
	assert_int_equal(crypto_rsa_generate(1 << 20, &pem, &len), -EINVAL);
	crypto_free_secret(NULL, 0);
}

/* The openssl CLI agrees it is an RSA key of that size. */
static void test_generate_openssl_cli(void **state)
{
	char path[128];
	struct buf out = { 0 };

	(void)state;
	write_tmp("k2048.pem", key2048, key2048_len, path, sizeof(path));
	{
		char *argv[] = { "openssl", "rsa", "-in", path, "-check", "-noout", NULL };

		assert_int_equal(tu_run(argv, &out, NULL), 0);
		assert_non_null(strstr(out.data, "RSA key ok"));
	}
	buf_free(&out);
	{
		char *argv[] = { "openssl", "rsa", "-in", path, "-noout", "-text", NULL };

		assert_int_equal(tu_run(argv, &out, NULL), 0);
		assert_non_null(strstr(out.data, "2048 bit"));
	}
	buf_free(&out);
}

static void expect_key_reject(const char *pem, size_t len, const char *reason)
{
	int bits = -1;
	char *why = NULL;

	assert_int_equal(crypto_key_info(pem, len, &bits, &why), -EINVAL);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("reason \"%s\" does not contain \"%s\"", why, reason);
	assert_int_equal(bits, -1);
	free(why);
}

/* Make a key/file with the openssl CLI and return its contents. */
static char *cli_make(const char *name, char *const argv[], size_t *len)
{
	struct buf out = { 0 };

	assert_int_equal(tu_run(argv, &out, NULL), 0);
	buf_free(&out);
	return read_tmp(name, len);
}

static void test_key_info_rejects(void **state)
{
	char ec[128], enc[128], pub[128], kpath[128], cpath[128];
	char *data, *cert = NULL;
	size_t len, certlen;
	char half[200];

	(void)state;
	expect_key_reject("", 0, "not a PEM private key");
	expect_key_reject("hello world\n", 12, "not a PEM private key");
	expect_key_reject(NULL, 0, "not a PEM private key");

	memcpy(half, key2048, sizeof(half) - 1);
	half[sizeof(half) - 1] = '\0';
	expect_key_reject(half, strlen(half), "damaged");

	path_in_tmp(ec, sizeof(ec), "ec.pem");
	{
		char *argv[] = { "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
				 "ec_paramgen_curve:P-256", "-out", ec, NULL };

		data = cli_make("ec.pem", argv, &len);
		expect_key_reject(data, len, "EC key, an RSA key is required");
		free(data);
	}

	write_tmp("k2048.pem", key2048, key2048_len, kpath, sizeof(kpath));
	path_in_tmp(enc, sizeof(enc), "enc.pem");
	{
		char *argv[] = { "openssl", "pkcs8", "-topk8", "-in", kpath, "-v2", "aes-256-cbc",
				 "-passout", "pass:secret", "-out", enc, NULL };

		data = cli_make("enc.pem", argv, &len);
		expect_key_reject(data, len, "encrypted");
		free(data);
	}
	path_in_tmp(pub, sizeof(pub), "pub.pem");
	{
		char *argv[] = { "openssl", "pkey", "-in", kpath, "-pubout", "-out", pub, NULL };

		data = cli_make("pub.pem", argv, &len);
		expect_key_reject(data, len, "a public key");
		free(data);
	}
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, HOST, 30, &cert, &certlen), 0);
	expect_key_reject(cert, certlen, "a certificate");
	write_tmp("cert.pem", cert, certlen, cpath, sizeof(cpath));
	free(cert);
}

static void test_dkim_public(void **state)
{
	char path[128], *b64 = NULL, *cli_b64;
	struct buf der = { 0 };
	int n;

	(void)state;
	assert_int_equal(crypto_dkim_public(key2048, key2048_len, &b64), 0);
	assert_null(strchr(b64, '\n'));
	/* a 2048-bit SPKI is 294 bytes: 392 base64 characters */
	assert_int_equal(strlen(b64), 392);
	assert_true(strncmp(b64, "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 44) == 0);

	write_tmp("k2048.pem", key2048, key2048_len, path, sizeof(path));
	{
		char *argv[] = { "openssl", "pkey", "-in", path, "-pubout", "-outform", "DER", NULL };

		assert_int_equal(tu_run(argv, &der, NULL), 0);
	}
	assert_int_equal(der.len, 294);
	cli_b64 = xmalloc((der.len + 2) / 3 * 4 + 1);
	n = EVP_EncodeBlock((unsigned char *)cli_b64, (unsigned char *)der.data, (int)der.len);
	assert_int_equal(n, 392);
	assert_string_equal(b64, cli_b64);
	free(cli_b64);
	free(b64);
	buf_free(&der);

	b64 = (char *)1;
	assert_int_equal(crypto_dkim_public("junk", 4, &b64), -EINVAL);
	assert_null(b64);

	/* 1024-bit: 216 characters */
	assert_int_equal(crypto_dkim_public(key1024, key1024_len, &b64), 0);
	assert_int_equal(strlen(b64), 216);
	free(b64);
}

static void test_selfsigned(void **state)
{
	char *cert = NULL, *cert2 = NULL, *why = NULL, cpath[128];
	size_t certlen = 0, cert2len = 0;
	time_t na = 0, now = time(NULL);
	struct buf out = { 0 }, out2 = { 0 };

	(void)state;
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, HOST, 365, &cert, &certlen), 0);
	assert_int_equal(strlen(cert), certlen);
	assert_true(strncmp(cert, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	assert_int_equal(crypto_cert_check(cert, certlen, key2048, key2048_len, HOST, &na, &why), 0);
	assert_null(why);
	assert_true(na >= now + 365 * 86400L - 5 && na <= now + 365 * 86400L + 5);
	/* hostnames compare case-insensitively */
	assert_int_equal(crypto_cert_check(cert, certlen, key2048, key2048_len, "MAIL.Example.ORG", NULL,
					   &why), 0);

	write_tmp("cert.pem", cert, certlen, cpath, sizeof(cpath));
	{
		char *argv[] = { "openssl", "x509", "-in", cpath, "-noout", "-text", NULL };

		assert_int_equal(tu_run(argv, &out, NULL), 0);
		assert_non_null(strstr(out.data, "Version: 3 (0x2)"));
		assert_non_null(strstr(out.data, "sha256WithRSAEncryption"));
		assert_true(strstr(out.data, "Subject: CN = " HOST) || strstr(out.data, "Subject: CN=" HOST));
		assert_non_null(strstr(out.data, "DNS:" HOST));
		assert_non_null(strstr(out.data, "X509v3 Basic Constraints: critical"));
		assert_non_null(strstr(out.data, "CA:FALSE"));
		assert_non_null(strstr(out.data, "Digital Signature, Key Encipherment"));
		assert_non_null(strstr(out.data, "TLS Web Server Authentication"));
		assert_non_null(strstr(out.data, "Public-Key: (2048 bit)"));
	}
	buf_free(&out);
	{
		char *argv[] = { "openssl", "x509", "-in", cpath, "-noout", "-checkhost", HOST, NULL };

		assert_int_equal(tu_run(argv, &out, NULL), 0);
		assert_non_null(strstr(out.data, "does match certificate"));
	}
	buf_free(&out);
	{
		char *argv[] = { "openssl", "x509", "-in", cpath, "-noout", "-checkhost", "other.example.org",
				 NULL };

		tu_run(argv, &out, NULL);
		assert_non_null(strstr(out.data, "does NOT match certificate"));
	}
	buf_free(&out);
	{
		char *argv[] = { "openssl", "verify", "-CAfile", cpath, cpath, NULL };

		assert_int_equal(tu_run(argv, &out, &out), 0);
		assert_non_null(strstr(out.data, ": OK"));
	}
	buf_free(&out);

	/* serials: positive and random */
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, HOST, 1, &cert2, &cert2len), 0);
	write_tmp("cert2.pem", cert2, cert2len, cpath, sizeof(cpath));
	{
		char *argv[] = { "openssl", "x509", "-in", cpath, "-noout", "-serial", NULL };

		assert_int_equal(tu_run(argv, &out2, NULL), 0);
	}
	path_in_tmp(cpath, sizeof(cpath), "cert.pem");
	{
		char *argv[] = { "openssl", "x509", "-in", cpath, "-noout", "-serial", NULL };

		assert_int_equal(tu_run(argv, &out, NULL), 0);
	}
	assert_true(strncmp(out.data, "serial=", 7) == 0);
	assert_true(strlen(out.data) >= 7 + 32 - 1);	/* 16 bytes, top byte 0x40..0x7f */
	assert_true(out.data[7] >= '4' && out.data[7] <= '7');
	assert_string_not_equal(out.data, out2.data);
	buf_free(&out);
	buf_free(&out2);
	free(cert);
	free(cert2);
}

static void test_selfsigned_rejects(void **state)
{
	char *cert = (char *)1;
	size_t certlen = 1;

	(void)state;
	/* days: at least 1 (an already-expired certificate is never useful) */
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, HOST, 0, &cert, &certlen), -EINVAL);
	assert_null(cert);
	assert_int_equal(certlen, 0);
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, HOST, -5, &cert, &certlen), -EINVAL);
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, HOST, 100000, &cert, &certlen), -EINVAL);
	/* hostnames that are not plain DNS names */
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, "", 1, &cert, &certlen), -EINVAL);
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, "a,DNS:evil.org", 1, &cert, &certlen),
			 -EINVAL);
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, "bad..name", 1, &cert, &certlen), -EINVAL);
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, "-x.org", 1, &cert, &certlen), -EINVAL);
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, "*.x.org", 1, &cert, &certlen), -EINVAL);
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, NULL, 1, &cert, &certlen), -EINVAL);
	/* not an RSA key */
	assert_int_equal(crypto_selfsigned_cert("junk", 4, HOST, 1, &cert, &certlen), -EINVAL);
	assert_null(cert);
}

static void expect_check_fail(const char *cert, size_t certlen, const char *key, size_t keylen,
			      const char *host, const char *reason)
{
	char *why = NULL;

	assert_int_equal(crypto_cert_check(cert, certlen, key, keylen, host, NULL, &why), -EINVAL);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("reason \"%s\" does not contain \"%s\"", why, reason);
	free(why);
}

/*
 * A certificate made here, not by crypto.c: subject CN, optional SAN (X509V3
 * config syntax), validity offsets in seconds from now.
 */
static char *make_cert(const char *key, size_t keylen, const char *cn, const char *san, long nb, long na,
		       size_t *len)
{
	BIO *kb = BIO_new_mem_buf((void *)key, (int)keylen), *out = BIO_new(BIO_s_mem());
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	X509 *x = X509_new();
	X509_NAME *name;
	BUF_MEM *bm;
	char *pem;

	assert_non_null(pk);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 42));
	assert_non_null(X509_gmtime_adj(X509_get_notBefore(x), nb));
	assert_non_null(X509_gmtime_adj(X509_get_notAfter(x), na));
	name = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
					       0));
	assert_true(X509_set_issuer_name(x, name));
	assert_true(X509_set_pubkey(x, pk));
	if (san) {
		char *copy = xstrdup(san);
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, copy);

		assert_non_null(ext);
		assert_true(X509_add_ext(x, ext, -1));
		X509_EXTENSION_free(ext);
		free(copy);
	}
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_true(PEM_write_bio_X509(out, x));
	BIO_get_mem_ptr(out, &bm);
	pem = xstrndup(bm->data, bm->length);
	*len = bm->length;
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(kb);
	BIO_free(out);
	return pem;
}

static void test_cert_check_rejects(void **state)
{
	char *cert = NULL, *c2, *why = NULL, *ec;
	size_t certlen = 0, c2len, eclen;
	char ecpath[128];
	time_t na = 0, now = time(NULL);

	(void)state;
	assert_int_equal(crypto_selfsigned_cert(key2048, key2048_len, HOST, 90, &cert, &certlen), 0);

	expect_check_fail(cert, certlen, key2048, key2048_len, "other.example.org",
			  "not for other.example.org (it names " HOST ")");
	expect_check_fail(cert, certlen, key2048, key2048_len, "example.org", "not for");
	expect_check_fail(cert, certlen, key2048, key2048_len, "x." HOST, "not for");
	expect_check_fail(cert, certlen, key2048, key2048_len, "", "no hostname");
	expect_check_fail(cert, certlen, key1024, key1024_len, HOST, "does not belong to this key");
	expect_check_fail("garbage", 7, key2048, key2048_len, HOST, "not a PEM certificate");
	expect_check_fail(key2048, key2048_len, key2048, key2048_len, HOST, "not a PEM certificate");
	expect_check_fail(NULL, 0, key2048, key2048_len, HOST, "not a PEM certificate");
	expect_check_fail(cert, certlen, "junk", 4, HOST, "key: not a PEM private key");

	/* not_after is still reported when only the hostname is wrong */
	assert_int_equal(crypto_cert_check(cert, certlen, key2048, key2048_len, "nope.org", &na, &why),
			 -EINVAL);
	assert_true(na >= now + 90 * 86400L - 5 && na <= now + 90 * 86400L + 5);
	free(why);
	why = NULL;

	path_in_tmp(ecpath, sizeof(ecpath), "ec.pem");
	{
		char *argv[] = { "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
				 "ec_paramgen_curve:P-256", "-out", ecpath, NULL };

		ec = cli_make("ec.pem", argv, &eclen);
	}
	expect_check_fail(cert, certlen, ec, eclen, HOST, "key: EC key, an RSA key is required");
	free(ec);
	free(cert);

	/* expired an hour ago */
	c2 = make_cert(key2048, key2048_len, HOST, "DNS:" HOST, -86400, -3600, &c2len);
	assert_int_equal(crypto_cert_check(c2, c2len, key2048, key2048_len, HOST, &na, &why), -EINVAL);
	assert_non_null(strstr(why, "certificate expired on "));
	assert_true(na >= now - 3600 - 5 && na <= now - 3600 + 5);
	free(why);
	why = NULL;
	free(c2);

	/* not valid yet */
	c2 = make_cert(key2048, key2048_len, HOST, "DNS:" HOST, 7200, 86400, &c2len);
	expect_check_fail(c2, c2len, key2048, key2048_len, HOST, "not valid before");
	free(c2);
}

static void test_cert_names(void **state)
{
	char *c;
	size_t len;
	char *why = NULL;

	(void)state;
	/* CN only (no SAN): the CN is used */
	c = make_cert(key2048, key2048_len, HOST, NULL, -60, 86400, &len);
	assert_int_equal(crypto_cert_check(c, len, key2048, key2048_len, HOST, NULL, &why), 0);
	expect_check_fail(c, len, key2048, key2048_len, "other.org", "it names CN " HOST);
	free(c);

	/* SAN present: the CN is ignored; any dNSName may match */
	c = make_cert(key2048, key2048_len, HOST, "DNS:smtp.example.org,DNS:mx.example.org,IP:192.0.2.1", -60,
		      86400, &len);
	expect_check_fail(c, len, key2048, key2048_len, HOST, "(it names smtp.example.org, mx.example.org)");
	assert_int_equal(crypto_cert_check(c, len, key2048, key2048_len, "mx.example.org", NULL, &why), 0);
	free(c);

	/* wildcards cover exactly one leftmost label */
	c = make_cert(key2048, key2048_len, "x", "DNS:*.example.org", -60, 86400, &len);
	assert_int_equal(crypto_cert_check(c, len, key2048, key2048_len, HOST, NULL, &why), 0);
	assert_int_equal(crypto_cert_check(c, len, key2048, key2048_len, "SMTP.example.ORG", NULL, &why), 0);
	expect_check_fail(c, len, key2048, key2048_len, "a.b.example.org", "not for");
	expect_check_fail(c, len, key2048, key2048_len, "example.org", "not for");
	expect_check_fail(c, len, key2048, key2048_len, ".example.org", "not for");
	free(c);
	assert_null(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_generate_openssl_cli),
		cmocka_unit_test(test_key_info_rejects),
		cmocka_unit_test(test_dkim_public),
		cmocka_unit_test(test_selfsigned),
		cmocka_unit_test(test_selfsigned_rejects),
		cmocka_unit_test(test_cert_check_rejects),
		cmocka_unit_test(test_cert_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
