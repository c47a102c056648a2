/*
 * test_acme.c - the pure parts of the ACME client (installer/acme.h) and its
 * crypto (installer/crypto.h): base64url, the JWK and its RFC 7638
 * thumbprint, ES256 signatures as r||s (checked with libcrypto itself), the
 * DER-to-raw conversion, CSRs, problem documents with their fixes,
 * Retry-After and the directory; ACME Renewal Information (RFC 9773): the
 * CertID of the RFC's own example certificate (appendix A), DER lengths,
 * RFC 3339 dates, the RenewalInfo object and the point in its window.  The protocol itself is tested against a
 * real server (pebble) in tests/integration/46-acme.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme.h"
#include "crypto.h"
#include "util.h"

static void test_b64url(void **state)
{
	/* RFC 7515 appendix C */
	static const unsigned char c[] = { 3, 236, 255, 224, 193 };
	char *s;
	(void)state;
	s = acme_b64url(c, sizeof(c));
	assert_string_equal(s, "A-z_4ME");
	free(s);
	s = acme_b64url("", 0);
	assert_string_equal(s, "");
	free(s);
	s = acme_b64url("f", 1);
	assert_string_equal(s, "Zg");
	free(s);
	s = acme_b64url("fo", 2);
	assert_string_equal(s, "Zm8");
	free(s);
	s = acme_b64url("foo", 3);
	assert_string_equal(s, "Zm9v");
	free(s);
	s = acme_b64url("\xfb\xff", 2);	/* the two characters that differ from base64 */
	assert_string_equal(s, "-_8");
	free(s);
}

/* The P-256 key of RFC 7515 appendix A.3; thumbprint computed independently (Python hashlib). */
static const unsigned char kx[32] = {
	0x7f, 0xcd, 0xce, 0x27, 0x70, 0xf6, 0xc4, 0x5d, 0x41, 0x83, 0xcb, 0xee, 0x6f, 0xdb, 0x4b, 0x7b,
	0x58, 0x07, 0x33, 0x35, 0x7b, 0xe9, 0xef, 0x13, 0xba, 0xcf, 0x6e, 0x3c, 0x7b, 0xd1, 0x54, 0x45
};
static const unsigned char ky[32] = {
	0xc7, 0xf1, 0x44, 0xcd, 0x1b, 0x84, 0x20, 0xc0, 0xce, 0x4e, 0xd7, 0xfd, 0x97, 0xb8, 0x13, 0x37,
	0x70, 0x35, 0x07, 0xef, 0x33, 0x92, 0x31, 0x11, 0x18, 0x05, 0x69, 0xc7, 0xb3, 0x92, 0x35, 0x53
};

static void test_jwk_thumbprint(void **state)
{
	char *j, *t;
	(void)state;
	j = acme_jwk(kx, ky);
	assert_string_equal(j, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
			       "\"y\":\"x_FEzRuEIMDOTtf9l7gTN3A1B-8zkjERGAVpx7OSNVM\"}");
	t = acme_thumbprint(j);
	assert_string_equal(t, "SJKIr6wb2u8Qc219-ivkBZ467RuPg3M7d_NBvjJhbbY");
	free(j);
	free(t);
}

static void test_der_to_raw(void **state)
{
	unsigned char der[72], raw[64];
	size_t n = 0, i;
	(void)state;
	/* r: 33 bytes (a 0x00 before a high bit), s: 31 bytes (a short value) */
	der[n++] = 0x30;
	der[n++] = 2 + 33 + 2 + 31;
	der[n++] = 0x02, der[n++] = 33, der[n++] = 0x00;
	for (i = 0; i < 32; i++)
		der[n++] = (unsigned char)(0x80 + i);
	der[n++] = 0x02, der[n++] = 31;
	for (i = 0; i < 31; i++)
		der[n++] = (unsigned char)(1 + i);
	assert_int_equal(crypto_ecdsa_der_to_raw(der, n, raw), 0);
	assert_int_equal(raw[0], 0x80);
	assert_int_equal(raw[31], 0x80 + 31);
	assert_int_equal(raw[32], 0);	/* s right-aligned */
	assert_int_equal(raw[33], 1);
	assert_int_equal(raw[63], 31);
	/* damaged: wrong length, wrong tag, trailing byte */
	der[1]++;
	assert_int_equal(crypto_ecdsa_der_to_raw(der, n, raw), -EINVAL);
	der[1]--;
	der[2] = 0x04;
	assert_int_equal(crypto_ecdsa_der_to_raw(der, n, raw), -EINVAL);
	der[2] = 0x02;
	assert_int_equal(crypto_ecdsa_der_to_raw(der, n + 1, raw), -EINVAL);
}

/* r||s back to DER, for libcrypto's own verification. */
static size_t raw_to_der(const unsigned char raw[64], unsigned char *der)
{
	size_t n = 2, k;
	for (k = 0; k < 2; k++) {
		const unsigned char *v = raw + 32 * k;
		size_t skip = 0, l;
		while (skip < 31 && v[skip] == 0)
			skip++;
		l = 32 - skip;
		der[n++] = 0x02;
		if (v[skip] & 0x80) {
			der[n++] = (unsigned char)(l + 1);
			der[n++] = 0;
		} else {
			der[n++] = (unsigned char)l;
		}
		memcpy(der + n, v + skip, l);
		n += l;
	}
	der[0] = 0x30;
	der[1] = (unsigned char)(n - 2);
	return n;
}

static void test_es256(void **state)
{
	char *pem = NULL;
	size_t len = 0, dl;
	unsigned char x[32], y[32], sig[64], der[80], md[32];
	const char msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJ0ZXN0Ijp0cnVlfQ";
	BIO *bio;
	EVP_PKEY *pk;
	EVP_PKEY_CTX *ctx;
	(void)state;

	assert_int_equal(crypto_ec_generate(&pem, &len), 0);
	assert_non_null(strstr(pem, "PRIVATE KEY"));
	assert_int_equal(crypto_ec_public(pem, len, x, y), 0);
	assert_int_equal(crypto_es256_sign(pem, len, msg, strlen(msg), sig), 0);
	/* libcrypto verifies it */
	bio = BIO_new_mem_buf(pem, (int)len);
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pk);
	assert_int_equal(crypto_sha256(msg, strlen(msg), md), 0);
	dl = raw_to_der(sig, der);
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, der, dl, md, sizeof(md)), 1);
	md[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(ctx, der, dl, md, sizeof(md)), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	/* an RSA key is not an account key */
	{
		char *rsa = NULL;
		size_t rl = 0;
		assert_int_equal(crypto_rsa_generate(2048, &rsa, &rl), 0);
		assert_int_equal(crypto_ec_public(rsa, rl, x, y), -EINVAL);
		assert_int_equal(crypto_es256_sign(rsa, rl, msg, strlen(msg), sig), -EINVAL);
		crypto_free_secret(rsa, rl);
	}
	crypto_free_secret(pem, len);
}

static void test_csr(void **state)
{
	char *key = NULL;
	size_t kl = 0, n = 0;
	unsigned char *der = NULL;
	const unsigned char *p;
	X509_REQ *req;
	EVP_PKEY *pub;
	(void)state;
	assert_int_equal(crypto_rsa_generate(2048, &key, &kl), 0);
	assert_int_equal(crypto_csr(key, kl, "mail.example.com", &der, &n), 0);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)n);
	assert_non_null(req);
	pub = X509_REQ_get_pubkey(req);
	assert_int_equal(X509_REQ_verify(req, pub), 1);
	assert_non_null(memmem(der, n, "mail.example.com", 16));
	EVP_PKEY_free(pub);
	X509_REQ_free(req);
	free(der);
	assert_int_equal(crypto_csr(key, kl, "not a name", &der, &n), -EINVAL);
	crypto_free_secret(key, kl);
}

static void test_problem(void **state)
{
	const char *b = "{\"type\":\"urn:ietf:params:acme:error:connection\",\"detail\":\"dial tcp 192.0.2.99:80: "
			"no route\\nto host\",\"status\":400}";
	const char *sub = "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"some refused\","
			  "\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA forbids\"}]}";
	char *p;
	(void)state;
	p = acme_problem(b, strlen(b));
	assert_string_equal(p, "connection: dial tcp 192.0.2.99:80: no route to host");	/* the newline tamed */
	assert_non_null(strstr(acme_problem_fix(p), "port 80"));
	free(p);
	p = acme_problem(sub, strlen(sub));
	assert_string_equal(p, "rejectedIdentifier: some refused; CAA forbids");
	assert_non_null(acme_problem_fix(p));
	free(p);
	{
		const char *rl = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\"}";
		p = acme_problem(rl, strlen(rl));
	}
	assert_string_equal(p, "rateLimited: no detail given");
	assert_non_null(strstr(acme_problem_fix(p), "rate limit"));
	free(p);
	assert_null(acme_problem("<html>", 6));
	assert_null(acme_problem("{\"detail\":\"x\"}", 14));
	assert_null(acme_problem_fix("somethingElse: x"));
	assert_null(acme_problem_fix(NULL));
}

static void test_retry_after(void **state)
{
	(void)state;
	assert_int_equal(acme_retry_after("5", 10), 5);
	assert_int_equal(acme_retry_after(" 3 ", 10), 3);
	assert_int_equal(acme_retry_after("120", 10), 10);
	assert_int_equal(acme_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 10), 10);
	assert_int_equal(acme_retry_after("5x", 10), -1);
	assert_int_equal(acme_retry_after("", 10), -1);
	assert_int_equal(acme_retry_after(NULL, 10), -1);
}

static void test_directory(void **state)
{
	const char *d = "{\"keyChange\":\"https://a/rollover\",\"meta\":{\"termsOfService\":\"data:x\"},"
			"\"newAccount\":\"https://a/sign-me-up\",\"newNonce\":\"https://a/nonce-plz\","
			"\"newOrder\":\"https://a/order-plz\",\"revokeCert\":\"https://a/revoke\"}";
	const char *plain = "{\"newAccount\":\"http://a/x\",\"newNonce\":\"https://a/n\",\"newOrder\":\"https://a/o\"}";
	char *n, *a, *o;
	(void)state;
	assert_int_equal(acme_directory_parse(d, strlen(d), &n, &a, &o), 0);
	assert_string_equal(n, "https://a/nonce-plz");
	assert_string_equal(a, "https://a/sign-me-up");
	assert_string_equal(o, "https://a/order-plz");
	free(n), free(a), free(o);
	assert_int_equal(acme_directory_parse(plain, strlen(plain), &n, &a, &o), -EPROTO);
	assert_null(n);
	assert_int_equal(acme_directory_parse("{}", 2, &n, &a, &o), -EPROTO);
	assert_int_equal(acme_directory_parse("not json", 8, &n, &a, &o), -EPROTO);
}

/* RFC 9773 appendix A: AKI 69:88:5B:..., serial 0x87654321 (DER content 00 87 65 43 21). */
static const char rfc9773_cert[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt\n"
	"cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS\n"
	"BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu\n"
	"7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf\n"
	"qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B\n"
	"yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb\n"
	"+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK\n"
	"-----END CERTIFICATE-----\n";

static void test_cert_id(void **state)
{
	static const unsigned char aki[] = { 0x69, 0x88, 0x5b, 0x6b, 0x87, 0x46, 0x40, 0x41, 0xe1, 0xb3,
					     0x7b, 0x84, 0x7b, 0xa0, 0xae, 0x2c, 0xde, 0x01, 0xc8, 0xd4 };
	static const unsigned char sn[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
	unsigned char *a = NULL, *s = NULL;
	size_t al = 0, sl = 0, kl = 0, cl = 0;
	char *id = NULL, *key = NULL, *cert = NULL;
	(void)state;

	id = acme_cert_id(aki, sizeof(aki), sn, sizeof(sn));
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
	/* from the certificate itself: the serial keeps its leading 0 (the high bit of 0x87 is set) */
	assert_int_equal(crypto_cert_ari_parts(rfc9773_cert, strlen(rfc9773_cert), &a, &al, &s, &sl), 0);
	assert_int_equal(al, sizeof(aki));
	assert_memory_equal(a, aki, sizeof(aki));
	assert_int_equal(sl, sizeof(sn));
	assert_memory_equal(s, sn, sizeof(sn));
	free(a);
	free(s);
	assert_int_equal(acme_cert_id_of(rfc9773_cert, strlen(rfc9773_cert), &id), 0);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
	/* mailstage's own self-signed certificate has no AKI: no CertID */
	assert_int_equal(crypto_rsa_generate(2048, &key, &kl), 0);
	assert_int_equal(crypto_selfsigned_cert(key, kl, "mail.example.com", 30, &cert, &cl), 0);
	assert_int_equal(acme_cert_id_of(cert, cl, &id), -ENOENT);
	assert_null(id);
	crypto_free_secret(key, kl);
	free(cert);
	assert_int_equal(acme_cert_id_of("not a certificate", 17, &id), -EINVAL);
	assert_null(id);
}

static void test_der_content(void **state)
{
	static const unsigned char shortf[] = { 0x02, 0x03, 1, 2, 3 };
	static const unsigned char longf[] = { 0x04, 0x81, 0x02, 9, 9 };
	static const unsigned char trunc[] = { 0x04, 0x05, 1, 2 };
	static const unsigned char indef[] = { 0x30, 0x80, 0, 0 };
	static const unsigned char hightag[] = { 0x1f, 0x01, 0x00 };
	size_t off = 0, cl = 0;
	(void)state;
	assert_int_equal(crypto_der_content(shortf, sizeof(shortf), &off, &cl), 0);
	assert_int_equal(off, 2);
	assert_int_equal(cl, 3);
	assert_int_equal(crypto_der_content(longf, sizeof(longf), &off, &cl), 0);
	assert_int_equal(off, 3);
	assert_int_equal(cl, 2);
	assert_int_equal(crypto_der_content(trunc, sizeof(trunc), &off, &cl), -EINVAL);
	assert_int_equal(crypto_der_content(indef, sizeof(indef), &off, &cl), -EINVAL);
	assert_int_equal(crypto_der_content(hightag, sizeof(hightag), &off, &cl), -EINVAL);
	assert_int_equal(crypto_der_content(shortf, 1, &off, &cl), -EINVAL);
}

static void test_rfc3339(void **state)
{
	time_t t = 0;
	(void)state;
	assert_int_equal(acme_rfc3339("2025-01-02T04:00:00Z", &t), 0);
	assert_int_equal((long long)t, 1735790400LL);
	assert_int_equal(acme_rfc3339("2025-01-02T04:00:00.123456Z", &t), 0);
	assert_int_equal((long long)t, 1735790400LL);
	assert_int_equal(acme_rfc3339("2025-01-02t13:00:00+09:00", &t), 0);	/* the same instant in Tokyo */
	assert_int_equal((long long)t, 1735790400LL);
	assert_int_equal(acme_rfc3339("2025-01-01T23:30:00-04:30", &t), 0);
	assert_int_equal((long long)t, 1735790400LL);
	assert_int_equal(acme_rfc3339("2024-02-29T23:59:59z", &t), 0);
	assert_int_equal((long long)t, 1709251199LL);
	assert_int_equal(acme_rfc3339("2025-02-29T00:00:00Z", &t), -EINVAL);	/* not a leap year */
	assert_int_equal(acme_rfc3339("2025-13-01T00:00:00Z", &t), -EINVAL);
	assert_int_equal(acme_rfc3339("2025-01-02T24:00:00Z", &t), -EINVAL);
	assert_int_equal(acme_rfc3339("2025-01-02T04:00:00", &t), -EINVAL);	/* no offset */
	assert_int_equal(acme_rfc3339("2025-01-02T04:00:00Zjunk", &t), -EINVAL);
	assert_int_equal(acme_rfc3339("2025-01-02T04:00:00.Z", &t), -EINVAL);
	assert_int_equal(acme_rfc3339("2025-01-02T04:00:00+0900", &t), -EINVAL);
	assert_int_equal(acme_rfc3339("", &t), -EINVAL);
	assert_int_equal(acme_rfc3339(NULL, &t), -EINVAL);
}

static void test_renewal_info(void **state)
{
	/* the example of RFC 9773 4.2 */
	const char *ok = "{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\",\"end\":\"2025-01-03T04:00:00Z\"},"
			 "\"explanationURL\":\"https://acme.example.com/docs/ari\"}";
	const char *same = "{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\",\"end\":\"2025-01-02T04:00:00Z\"}}";
	const char *backw = "{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:00Z\",\"end\":\"2025-01-02T04:00:00Z\"}}";
	const char *bad = "{\"suggestedWindow\":{\"start\":\"tomorrow\",\"end\":\"2025-01-02T04:00:00Z\"}}";
	time_t a = 0, b = 0;
	char *e = NULL;
	(void)state;
	assert_int_equal(acme_renewal_info_parse(ok, strlen(ok), &a, &b, &e), 0);
	assert_int_equal((long long)a, 1735790400LL);
	assert_int_equal((long long)b, 1735876800LL);
	assert_string_equal(e, "https://acme.example.com/docs/ari");
	free(e);
	ok = "{\"suggestedWindow\":{\"end\":\"2025-01-03T04:00:00Z\",\"start\":\"2025-01-02T04:00:00Z\"}}";
	assert_int_equal(acme_renewal_info_parse(ok, strlen(ok), &a, &b, &e), 0);
	assert_null(e);
	assert_int_equal(acme_renewal_info_parse(same, strlen(same), &a, &b, &e), -EPROTO);
	assert_int_equal(acme_renewal_info_parse(backw, strlen(backw), &a, &b, &e), -EPROTO);
	assert_int_equal(acme_renewal_info_parse(bad, strlen(bad), &a, &b, &e), -EPROTO);
	assert_int_equal(acme_renewal_info_parse("{}", 2, &a, &b, &e), -EPROTO);
	assert_int_equal(acme_renewal_info_parse("{\"suggestedWindow\":", 19, &a, &b, &e), -EPROTO);
	assert_null(e);
}

static void test_ari_point(void **state)
{
	const time_t s = 1735790400, e = 1735876800;
	time_t p1, p2;
	int i, differ = 0;
	(void)state;
	p1 = acme_ari_point("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", s, e);
	assert_true(p1 >= s && p1 < e);
	assert_int_equal((long long)acme_ari_point("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", s, e), (long long)p1);
	/* other certificates: other points of the same window, all inside it */
	for (i = 0; i < 20; i++) {
		char id[32];
		snprintf(id, sizeof(id), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.%02d", i);
		p2 = acme_ari_point(id, s, e);
		assert_true(p2 >= s && p2 < e);
		differ += p2 != p1;
	}
	assert_true(differ >= 19);
	assert_int_equal((long long)acme_ari_point("x", s, s), (long long)s);
	assert_int_equal((long long)acme_ari_point("x", e, s), (long long)e);
	assert_int_equal((long long)acme_ari_point("x", s, s + 1), (long long)s);
}

static void test_directory_renewal_info(void **state)
{
	const char *d = "{\"newNonce\":\"https://a/n\",\"renewalInfo\":\"https://a/renewal-info\"}";
	const char *plain = "{\"renewalInfo\":\"http://a/renewal-info\"}";
	char *u;
	(void)state;
	u = acme_directory_renewal_info(d, strlen(d));
	assert_string_equal(u, "https://a/renewal-info");
	free(u);
	assert_null(acme_directory_renewal_info(plain, strlen(plain)));
	assert_null(acme_directory_renewal_info("{\"newNonce\":\"https://a/n\"}", 26));
	assert_null(acme_directory_renewal_info("not json", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_jwk_thumbprint),
		cmocka_unit_test(test_der_to_raw),
		cmocka_unit_test(test_es256),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_problem),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_cert_id),
		cmocka_unit_test(test_der_content),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_renewal_info),
		cmocka_unit_test(test_ari_point),
		cmocka_unit_test(test_directory_renewal_info),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
