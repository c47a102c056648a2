/*
 * crypto.c - RSA keys (DKIM and TLS), self-signed server certificates and
 * their checks, on libcrypto.
 *
 * One code path for OpenSSL 1.0.2 (EL7) and 3.0: only calls present and not
 * deprecated in both (EVP_PKEY_keygen, PEM_*_PrivateKey, X509_add1_ext_i2d,
 * ASN1_STRING_to_UTF8, ASN1_TIME_diff...).  Structures are never touched
 * directly except GENERAL_NAME, which is public in both.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "lazycrypto.h"	/* libcrypto, loaded by the first call that needs it */

#include "i18n.h"
#include "crypto.h"
#include "util.h"

#define RSA_BITS_MIN 1024
#define RSA_BITS_MAX 16384
#define CERT_DAYS_MAX 36500
#define HOSTNAME_MAX 253

/* Never prompt for a passphrase: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static BIO *mem_bio(const char *p, size_t len)
{
	if (!p || len > INT_MAX)
		return NULL;
	/* 1.0.2 declares the buffer non-const; it is only read. */
	return BIO_new_mem_buf((void *)p, (int)len);
}

/* Copy a memory BIO's contents into a fresh NUL-terminated buffer. */
static int bio_take(BIO *bio, char **out, size_t *outlen)
{
	BUF_MEM *bm = NULL;
	char *p;

	BIO_get_mem_ptr(bio, &bm);
	if (!bm || !bm->data)
		return -EIO;
	p = xmalloc(bm->length + 1);
	memcpy(p, bm->data, bm->length);
	p[bm->length] = '\0';
	*out = p;
	if (outlen)
		*outlen = bm->length;
	return 0;
}

static void set_why(char **why, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void set_why(char **why, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return;
	free(*why);
	va_start(ap, fmt);
	*why = xvasprintf(fmt, ap);
	va_end(ap);
}

static int contains(const char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return 1;
	return 0;
}

/*
 * Load a PEM private key.  On failure returns NULL and sets *why (when why
 * is non-NULL) from what the text looks like.
 */
/* libcrypto on first use; *why (when given) says what is missing. */
static int load_crypto(char **why)
{
	char *w = NULL;
	int r = lazy_crypto(&w);

	if (r < 0 && why) {
		free(*why);
		*why = w;
		w = NULL;
	}
	free(w);
	return r;
}

static EVP_PKEY *load_key(const char *pem, size_t len, char **why)
{
	BIO *bio = mem_bio(pem, len);
	EVP_PKEY *pk = NULL;

	if (bio)
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pk)
		return pk;
	if (!pem || len == 0)
		set_why(why, _("not a PEM private key (empty)"));
	else if (contains(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
		 contains(pem, len, "Proc-Type: 4,ENCRYPTED"))
		set_why(why, _("encrypted private key, a key without a passphrase is required"));
	else if (contains(pem, len, "-----BEGIN CERTIFICATE-----"))
		set_why(why, _("a certificate, not a PEM private key"));
	else if (contains(pem, len, "-----BEGIN PUBLIC KEY-----") ||
		 contains(pem, len, "-----BEGIN RSA PUBLIC KEY-----"))
		set_why(why, _("a public key, not a PEM private key"));
	else if (contains(pem, len, "PRIVATE KEY-----"))
		set_why(why, _("damaged or unsupported PEM private key"));
	else
		set_why(why, _("not a PEM private key"));
	return NULL;
}

/* NULL when pk is a usable RSA key, else a reason (static text). */
static const char *rsa_problem(EVP_PKEY *pk, char *tmp, size_t tmplen)
{
	int id = EVP_PKEY_base_id(pk);
	const char *sn;

	if (id == EVP_PKEY_RSA)
		return NULL;
	switch (id) {
	case EVP_PKEY_EC:
		return _("EC key, an RSA key is required");
	case EVP_PKEY_DSA:
		return _("DSA key, an RSA key is required");
	case EVP_PKEY_DH:
		return _("DH key, an RSA key is required");
	default:
		break;
	}
	sn = OBJ_nid2sn(id);
	snprintf(tmp, tmplen, "%s key, an RSA key is required",
		 sn && strcmp(sn, "UNDEF") != 0 ? sn : "unknown");
	return tmp;
}

/*
 * keygen_pem - generate a key of type id and return it as unencrypted PKCS#8
 * PEM.  The one path of all three generators: RSA (param = bits), EC P-256
 * (a named curve, never explicit parameters, 1.0.2's default) and Ed25519.
 */
static int keygen_pem(int id, int param, char **pem, size_t *len)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	int r = -EIO;

	*pem = NULL;
	if (len)
		*len = 0;
	if (load_crypto(NULL) < 0)
		return -ENOENT;
	ctx = EVP_PKEY_CTX_new_id(id, NULL);
	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0)
		goto out;
	if (id == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, param) <= 0)
		goto out;
	if (id == EVP_PKEY_EC && (EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, param) <= 0 ||
				  EVP_PKEY_CTX_set_ec_param_enc(ctx, OPENSSL_EC_NAMED_CURVE) <= 0))
		goto out;
	if (EVP_PKEY_keygen(ctx, &pk) <= 0)
		goto out;
	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL))
		goto out;
	r = bio_take(bio, pem, len);
out:
	BIO_free(bio);		/* the memory BIO cleanses its buffer */
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int crypto_rsa_generate(int bits, char **pem, size_t *len)
{
	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX) {
		*pem = NULL;
		if (len)
			*len = 0;
		return -EINVAL;
	}
	return keygen_pem(EVP_PKEY_RSA, bits, pem, len);
}

void crypto_free_secret(char *pem, size_t len)
{
	volatile char *v = pem;	/* (not OPENSSL_cleanse: a key read but never parsed needs no libcrypto) */
	size_t i;

	if (!pem)
		return;
	for (i = 0; i < len; i++)
		v[i] = 0;
	free(pem);
}

int crypto_key_info(const char *pem, size_t len, int *bits, char **why)
{
	EVP_PKEY *pk;
	const char *problem;
	char tmp[96];
	int r = 0;

	if (load_crypto(why) < 0)
		return -ENOENT;
	pk = load_key(pem, len, why);
	if (!pk) {
		r = -EINVAL;
		goto out;
	}
	problem = rsa_problem(pk, tmp, sizeof(tmp));
	if (problem) {
		set_why(why, "%s", problem);
		r = -EINVAL;
		goto out;
	}
	if (bits)
		*bits = EVP_PKEY_bits(pk);
out:
	EVP_PKEY_free(pk);
	return r;
}

int crypto_dkim_public(const char *key_pem, size_t len, char **b64)
{
	EVP_PKEY *pk;
	unsigned char *der = NULL, *p;
	int n, r = -EIO;

	*b64 = NULL;
	if (load_crypto(NULL) < 0)
		return -ENOENT;
	pk = load_key(key_pem, len, NULL);
	if (!pk) {
		r = -EINVAL;
		goto out;
	}
	n = i2d_PUBKEY(pk, NULL);
	if (n <= 0)
		goto out;
	der = xmalloc((size_t)n);
	p = der;
	if (i2d_PUBKEY(pk, &p) != n)
		goto out;
	*b64 = xmalloc(((size_t)n + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)*b64, der, n);
	r = 0;
out:
	free(der);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
}

/*
 * Ed25519 (RFC 8463): libcrypto has it from 1.1.1 (EVP_PKEY_ED25519); 1.0.2's
 * headers have no such key type, and these return -ENOTSUP there.  The same
 * calls as for RSA (EVP_PKEY_keygen, PEM_write_bio_PrivateKey: PKCS#8, which
 * OpenDKIM 2.11 reads); the DKIM p= is the raw 32-byte key, the tail of the
 * SubjectPublicKeyInfo (RFC 8410: 30 2a 30 05 06 03 2b 65 70 03 21 00 KEY).
 */
int crypto_ed25519_supported(void)
{
#ifdef EVP_PKEY_ED25519
	return 1;
#else
	return 0;
#endif
}

int crypto_ed25519_generate(char **pem, size_t *len)
{
#ifdef EVP_PKEY_ED25519
	return keygen_pem(EVP_PKEY_ED25519, 0, pem, len);
#else
	*pem = NULL;
	if (len)
		*len = 0;
	return -ENOTSUP;
#endif
}

int crypto_ed25519_public(const char *key_pem, size_t len, char **b64, char **why)
{
	*b64 = NULL;
#ifdef EVP_PKEY_ED25519
	static const unsigned char spki_head[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
						     0x03, 0x21, 0x00 };
	unsigned char der[44], *p = der;
	EVP_PKEY *pk;
	int r = -EIO;

	if (load_crypto(why) < 0)
		return -ENOENT;
	pk = load_key(key_pem, len, why);
	if (!pk)
		return -EINVAL;
	if (EVP_PKEY_base_id(pk) != EVP_PKEY_ED25519) {
		set_why(why, _("not an Ed25519 key"));
		r = -EINVAL;
		goto out;
	}
	if (i2d_PUBKEY(pk, NULL) != (int)sizeof(der) || i2d_PUBKEY(pk, &p) != (int)sizeof(der) ||
	    memcmp(der, spki_head, sizeof(spki_head)) != 0)
		goto out;
	*b64 = xmalloc(45);
	EVP_EncodeBlock((unsigned char *)*b64, der + sizeof(spki_head), 32);
	r = 0;
out:
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
#else
	(void)key_pem, (void)len;
	set_why(why, _("this libcrypto has no Ed25519 (OpenSSL 1.1.1 or later is needed)"));
	return -ENOTSUP;
#endif
}

/* Letters, digits, '-' and '.'; labels 1..63; no leading/trailing '-' or '.'. */
static int hostname_ok(const char *h)
{
	size_t n = strlen(h), label = 0, i;

	if (n == 0 || n > HOSTNAME_MAX || h[0] == '.' || h[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return h[n - 1] != '-';
}

static int add_extensions(X509 *x, const char *hostname)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	int r = -EIO;

	/* subjectAltName DNS:hostname */
	gens = MS_SK_NEW();
	gn = GENERAL_NAME_new();
	ia5 = ASN1_IA5STRING_new();
	if (!gens || !gn || !ia5 || !ASN1_STRING_set(ia5, hostname, (int)strlen(hostname)))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (!MS_SK_PUSH(gens, gn))
		goto out;
	gn = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
		goto out;

	/* basicConstraints critical, CA:FALSE */
	bc = BASIC_CONSTRAINTS_new();
	if (!bc)
		goto out;
	bc->ca = 0;
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0) != 1)
		goto out;

	/* keyUsage digitalSignature (bit 0), keyEncipherment (bit 2) */
	ku = ASN1_BIT_STRING_new();
	if (!ku || !ASN1_BIT_STRING_set_bit(ku, 0, 1) || !ASN1_BIT_STRING_set_bit(ku, 2, 1))
		goto out;
	if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0) != 1)
		goto out;

	/* extendedKeyUsage serverAuth */
	eku = MS_SK_NEW();
	if (!eku || !MS_SK_PUSH(eku, OBJ_nid2obj(NID_server_auth)))
		goto out;
	if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0) != 1)
		goto out;
	r = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	EXTENDED_KEY_USAGE_free(eku);	/* nid2obj objects are static: freeing is a no-op */
	return r;
}

static int set_random_serial(X509 *x)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	int r;

	r = random_bytes(rnd, sizeof(rnd));
	if (r < 0)
		goto out;
	rnd[0] &= 0x7f;		/* positive, at most 127 bits */
	rnd[0] |= 0x40;		/* and never zero or short */
	r = -EIO;
	bn = BN_bin2bn(rnd, (int)sizeof(rnd), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	r = 0;
out:
	BN_free(bn);
	return r;
}

int crypto_selfsigned_cert(const char *key_pem, size_t keylen, const char *hostname, int days,
			   char **cert_pem, size_t *certlen)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIO *bio = NULL;
	char tmp[96];
	int r = -EINVAL;

	*cert_pem = NULL;
	if (certlen)
		*certlen = 0;
	if (load_crypto(NULL) < 0)
		return -ENOENT;
	if (!hostname || !hostname_ok(hostname) || days < 1 || days > CERT_DAYS_MAX)
		goto out;
	pk = load_key(key_pem, keylen, NULL);
	if (!pk || rsa_problem(pk, tmp, sizeof(tmp)))
		goto out;

	r = -EIO;
	x = X509_new();
	if (!x || !X509_set_version(x, 2))
		goto out;
	r = set_random_serial(x);
	if (r < 0)
		goto out;
	r = -EIO;
	if (!X509_gmtime_adj(X509_get_notBefore(x), -3600L) ||
	    !X509_time_adj_ex(X509_get_notAfter(x), days, 0, NULL))
		goto out;
	name = X509_get_subject_name(x);
	if (!name || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						 (const unsigned char *)hostname, -1, -1, 0))
		goto out;
	if (!X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pk))
		goto out;
	if (add_extensions(x, hostname) < 0)
		goto out;
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto out;
	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_X509(bio, x))
		goto out;
	r = bio_take(bio, cert_pem, certlen);
out:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
}

/* A copy of an ASN1 string as UTF-8, or NULL. */
static char *asn1_utf8(ASN1_STRING *s)
{
	unsigned char *u = NULL;
	char *copy;
	int n;

	if (!s)
		return NULL;
	n = ASN1_STRING_to_UTF8(&u, s);
	if (n < 0 || !u)
		return NULL;
	if (memchr(u, '\0', (size_t)n)) {	/* embedded NUL: never a match */
		OPENSSL_free(u);
		return NULL;
	}
	copy = xstrndup((const char *)u, (size_t)n);
	OPENSSL_free(u);
	return copy;
}

/* Case-insensitive exact match; "*.example.org" matches exactly one label. */
static int name_matches(const char *pattern, const char *host)
{
	const char *dot;

	if (strcasecmp(pattern, host) == 0)
		return 1;
	if (pattern[0] != '*' || pattern[1] != '.' || pattern[2] == '\0')
		return 0;
	dot = strchr(host, '.');
	if (!dot || dot == host)
		return 0;
	return strcasecmp(pattern + 1, dot) == 0;
}

/* 1 when hostname matches; *had_san tells whether dNSNames were present. */
static int cert_matches_host(X509 *x, const char *hostname, char **names_seen)
{
	GENERAL_NAMES *gens;
	struct buf seen = { 0 };
	int i, found = 0, had_san = 0;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && i < MS_SK_NUM(gens); i++) {
		GENERAL_NAME *gn = MS_SK_VALUE(gens, i);
		char *s;

		if (gn->type != GEN_DNS)
			continue;
		had_san = 1;
		s = asn1_utf8(gn->d.dNSName);
		if (!s)
			continue;
		if (name_matches(s, hostname))
			found = 1;
		buf_printf(&seen, "%s%s", seen.len ? ", " : "", s);
		free(s);
	}
	GENERAL_NAMES_free(gens);
	if (!had_san) {
		X509_NAME *subj = X509_get_subject_name(x);
		int loc = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;

		if (loc >= 0) {
			char *s = asn1_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, loc)));

			if (s) {
				found = name_matches(s, hostname);
				buf_printf(&seen, "CN %s", s);
				free(s);
			}
		}
	}
	*names_seen = seen.len ? buf_steal(&seen) : xstrdup("no DNS names");
	buf_free(&seen);
	return found;
}

/* Seconds from ref to t (ASN1_TIME_diff exists in 1.0.2 and 3.0). */
static int asn1_time_offset(const ASN1_TIME *ref, const ASN1_TIME *t, long long *secs)
{
	int day = 0, sec = 0;

	if (!ASN1_TIME_diff(&day, &sec, ref, t))
		return -EINVAL;
	*secs = (long long)day * 86400 + sec;
	return 0;
}

static void fmt_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, outlen, "%lld", (long long)t);
}

int crypto_cert_check(const char *cert_pem, size_t certlen, const char *key_pem, size_t keylen,
		      const char *hostname, time_t *not_after, char **why)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	ASN1_TIME *now_asn1 = NULL;
	char *names = NULL, *keywhy = NULL, tmp[96], when[64];
	const char *problem;
	long long until_end, until_start;
	time_t now = time(NULL);
	int r = -EINVAL;

	if (not_after)
		*not_after = 0;
	if (load_crypto(why) < 0)
		return -ENOENT;
	bio = mem_bio(cert_pem, certlen);
	if (bio)
		x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	if (!x) {
		set_why(why, _("not a PEM certificate"));
		goto out;
	}
	now_asn1 = ASN1_TIME_set(NULL, now);
	if (!now_asn1) {
		r = -ENOMEM;
		goto out;
	}
	if (asn1_time_offset(now_asn1, X509_get_notAfter(x), &until_end) < 0 ||
	    asn1_time_offset(now_asn1, X509_get_notBefore(x), &until_start) < 0) {
		set_why(why, _("certificate has an unreadable validity period"));
		goto out;
	}
	if (not_after)
		*not_after = (time_t)(now + until_end);

	pk = load_key(key_pem, keylen, &keywhy);
	if (!pk) {
		set_why(why, _("key: %s"), keywhy);
		goto out;
	}
	problem = rsa_problem(pk, tmp, sizeof(tmp));
	if (problem) {
		set_why(why, _("key: %s"), problem);
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		set_why(why, _("certificate does not belong to this key (public keys differ)"));
		goto out;
	}
	if (!hostname || !*hostname) {
		set_why(why, _("no hostname to check the certificate against"));
		goto out;
	}
	if (!cert_matches_host(x, hostname, &names)) {
		set_why(why, _("certificate is not for %s (it names %s)"), hostname, names);
		goto out;
	}
	if (until_start > 0) {
		fmt_time((time_t)(now + until_start), when, sizeof(when));
		set_why(why, _("certificate is not valid before %s"), when);
		goto out;
	}
	if (until_end <= 0) {
		fmt_time((time_t)(now + until_end), when, sizeof(when));
		set_why(why, _("certificate expired on %s"), when);
		goto out;
	}
	r = 0;
out:
	free(names);
	free(keywhy);
	ASN1_TIME_free(now_asn1);
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/* ---- ACME: ES256 account keys and CSRs ------------------------------------ */

/* The fixed DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point (91 bytes in all). */
static const unsigned char p256_spki_prefix[27] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04
};

int crypto_ec_generate(char **pem, size_t *len)
{
	return keygen_pem(EVP_PKEY_EC, NID_X9_62_prime256v1, pem, len);
}

static EVP_PKEY *load_p256(const char *pem, size_t len)
{
	EVP_PKEY *pk = load_key(pem, len, NULL);
	if (pk && EVP_PKEY_base_id(pk) != EVP_PKEY_EC) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

int crypto_ec_public(const char *pem, size_t len, unsigned char x[32], unsigned char y[32])
{
	EVP_PKEY *pk;
	unsigned char *der = NULL;
	int n, r = -EINVAL;

	if (load_crypto(NULL) < 0)
		return -ENOENT;
	pk = load_p256(pem, len);
	if (!pk)
		goto out;
	n = i2d_PUBKEY(pk, &der);
	if (n != 91 || memcmp(der, p256_spki_prefix, sizeof(p256_spki_prefix)) != 0)
		goto out;	/* another curve, or a compressed point */
	memcpy(x, der + 27, 32);
	memcpy(y, der + 59, 32);
	r = 0;
out:
	if (der)
		CRYPTO_free(der, __FILE__, __LINE__);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
}

/* One DER INTEGER at der[*i]: its value, leading zeros dropped, right-aligned into out[32]. */
static int der_int32(const unsigned char *der, size_t n, size_t *i, unsigned char out[32])
{
	size_t l;

	if (*i + 2 > n || der[*i] != 0x02)
		return -EINVAL;
	l = der[*i + 1];
	*i += 2;
	if (l == 0 || l > 33 || *i + l > n)
		return -EINVAL;
	while (l > 0 && der[*i] == 0)
		(*i)++, l--;
	if (l > 32)
		return -EINVAL;
	memset(out, 0, 32);
	memcpy(out + 32 - l, der + *i, l);
	*i += l;
	return 0;
}

int crypto_ecdsa_der_to_raw(const unsigned char *der, size_t n, unsigned char raw[64])
{
	size_t i = 2;

	/* SEQUENCE, short length (at most 2 * 35 bytes) */
	if (n < 8 || der[0] != 0x30 || der[1] >= 0x80 || (size_t)der[1] + 2 != n)
		return -EINVAL;
	if (der_int32(der, n, &i, raw) < 0 || der_int32(der, n, &i, raw + 32) < 0 || i != n)
		return -EINVAL;
	return 0;
}

int crypto_sha256(const void *data, size_t n, unsigned char md[32])
{
	unsigned int ml = 0;

	if (load_crypto(NULL) < 0)
		return -ENOENT;
	if (EVP_Digest(data, n, md, &ml, EVP_sha256(), NULL) != 1 || ml != 32) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

int crypto_es256_sign(const char *pem, size_t len, const void *data, size_t n, unsigned char sig[64])
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char md[32], der[80];
	size_t dl = sizeof(der);
	int r;

	if ((r = crypto_sha256(data, n, md)) < 0)
		return r;
	r = -EINVAL;
	pk = load_p256(pem, len);
	if (!pk)
		goto out;
	r = -EIO;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 || EVP_PKEY_sign(ctx, der, &dl, md, sizeof(md)) <= 0)
		goto out;
	r = crypto_ecdsa_der_to_raw(der, dl, sig) < 0 ? -EIO : 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
}

int crypto_csr(const char *key_pem, size_t keylen, const char *hostname, unsigned char **der, size_t *len)
{
	EVP_PKEY *pk = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	X509_EXTENSION *ext = NULL;
	void *exts = NULL;
	unsigned char *p = NULL;
	int n, r = -EINVAL;

	*der = NULL;
	*len = 0;
	if (load_crypto(NULL) < 0)
		return -ENOENT;
	if (!hostname || !hostname_ok(hostname))
		goto out;
	pk = load_key(key_pem, keylen, NULL);
	if (!pk)
		goto out;
	r = -EIO;
	req = X509_REQ_new();
	if (!req || !X509_REQ_set_version(req, 0))
		goto out;
	name = X509_REQ_get_subject_name(req);
	if (!name || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1, 0))
		goto out;
	gens = MS_SK_NEW();
	gn = GENERAL_NAME_new();
	ia5 = ASN1_IA5STRING_new();
	if (!gens || !gn || !ia5 || !ASN1_STRING_set(ia5, hostname, (int)strlen(hostname)))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (!MS_SK_PUSH(gens, gn))
		goto out;
	gn = NULL;
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	exts = MS_SK_NEW();
	if (!ext || !exts || !MS_SK_PUSH(exts, ext))
		goto out;
	if (!X509_REQ_add_extensions(req, exts) || !X509_REQ_set_pubkey(req, pk) ||
	    X509_REQ_sign(req, pk, EVP_sha256()) <= 0)
		goto out;
	n = i2d_X509_REQ(req, NULL);
	if (n <= 0)
		goto out;
	p = xmalloc((size_t)n);
	*der = p;
	if (i2d_X509_REQ(req, &p) != n) {
		free(*der);
		*der = NULL;
		goto out;
	}
	*len = (size_t)n;
	r = 0;
out:
	if (exts)
		MS_SK_FREE(exts);	/* ext is freed below */
	X509_EXTENSION_free(ext);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
}

/* The first certificate of a PEM, or NULL (libcrypto is loaded). */
static X509 *read_cert(const char *cert_pem, size_t len)
{
	BIO *bio = mem_bio(cert_pem, len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	return x;
}

int crypto_cert_self_issued(const char *cert_pem, size_t len)
{
	X509 *x;
	int r = -EINVAL;

	if (load_crypto(NULL) < 0)
		return -ENOENT;
	x = read_cert(cert_pem, len);
	if (x)
		r = X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)) == 0;
	X509_free(x);
	ERR_clear_error();
	return r;
}

int crypto_der_content(const unsigned char *der, size_t n, size_t *off, size_t *clen)
{
	size_t i, l = 0, nb;

	if (!der || n < 2 || (der[0] & 0x1f) == 0x1f)	/* high tag numbers: not in what we read */
		return -EINVAL;
	if (der[1] < 0x80) {
		l = der[1];
		i = 2;
	} else {
		nb = der[1] & 0x7f;
		if (nb == 0 || nb > 4 || n < 2 + nb)	/* indefinite or absurd */
			return -EINVAL;
		for (i = 0; i < nb; i++)
			l = (l << 8) | der[2 + i];
		i = 2 + nb;
	}
	if (l > n - i)
		return -EINVAL;
	*off = i;
	*clen = l;
	return 0;
}

/* The content octets of a DER encoding made by i2d (len bytes at der) into a fresh buffer. */
static int der_take_content(const unsigned char *der, size_t len, unsigned char **out, size_t *outlen)
{
	size_t off, cl;
	if (crypto_der_content(der, len, &off, &cl) < 0 || cl == 0)
		return -EINVAL;
	*out = xmalloc(cl);
	memcpy(*out, der + off, cl);
	*outlen = cl;
	return 0;
}

int crypto_cert_ari_parts(const char *cert_pem, size_t len, unsigned char **aki, size_t *aki_len,
			  unsigned char **serial, size_t *serial_len)
{
	X509 *x;
	AUTHORITY_KEYID *akid = NULL;
	ASN1_INTEGER *sn;
	unsigned char *der = NULL, *p;
	int n, r = -EINVAL;

	*aki = *serial = NULL;
	*aki_len = *serial_len = 0;
	if (load_crypto(NULL) < 0)
		return -ENOENT;
	x = read_cert(cert_pem, len);
	if (!x)
		goto out;
	akid = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);
	if (!akid || !akid->keyid) {
		r = -ENOENT;
		goto out;
	}
	/* both through i2d (the DER) rather than the structures' data: one code path for 1.0.2 and 3.0 */
	n = i2d_ASN1_OCTET_STRING(akid->keyid, NULL);
	if (n <= 0)
		goto out;
	der = xmalloc((size_t)n);
	p = der;
	if (i2d_ASN1_OCTET_STRING(akid->keyid, &p) != n || der_take_content(der, (size_t)n, aki, aki_len) < 0)
		goto out;
	free(der);
	der = NULL;
	sn = X509_get_serialNumber(x);
	n = sn ? i2d_ASN1_INTEGER(sn, NULL) : -1;
	if (n <= 0)
		goto out;
	der = xmalloc((size_t)n);
	p = der;
	if (i2d_ASN1_INTEGER(sn, &p) != n || der_take_content(der, (size_t)n, serial, serial_len) < 0)
		goto out;
	r = 0;
out:
	if (r < 0) {
		free(*aki);
		free(*serial);
		*aki = *serial = NULL;
		*aki_len = *serial_len = 0;
	}
	free(der);
	AUTHORITY_KEYID_free(akid);
	X509_free(x);
	ERR_clear_error();
	return r;
}
