/*
 * crypto.h - RSA keys, self-signed certificates and DKIM public keys (libcrypto).
 *
 * One code path for OpenSSL 1.0.2 (EL7) and 3.0: EVP_PKEY_keygen, PEM_*,
 * X509_* calls that exist in both.  Functions return 0 or a negative errno
 * (-EINVAL for bad input, -ENOMEM, -EIO for a libcrypto failure) and, where
 * they take `why`, set a one-line human reason (caller frees).
 * Private key bytes are cleansed before their buffers are freed.
 */
#ifndef MAILSTAGE_CRYPTO_H
#define MAILSTAGE_CRYPTO_H

#include <stddef.h>
#include <time.h>

/* New RSA key of `bits` bits as PEM (*pem NUL-terminated; free with crypto_free_secret). */
int crypto_rsa_generate(int bits, char **pem, size_t *len);
void crypto_free_secret(char *pem, size_t len);

/* Parse a PEM private key: 0 when it is an RSA key (sets *bits), -EINVAL otherwise. */
int crypto_key_info(const char *pem, size_t len, int *bits, char **why);

/* DKIM p= value: base64 (no line breaks) of the SubjectPublicKeyInfo of the key. */
int crypto_dkim_public(const char *key_pem, size_t len, char **b64);

/*
 * Ed25519 DKIM keys (RFC 8463), where libcrypto has them (1.1.1+; not EL7's
 * 1.0.2: -ENOTSUP).  _generate: a new key as PKCS#8 PEM; _public: the p= of
 * the record, base64 of the raw 32-byte public key (44 characters), or
 * -EINVAL with *why when the PEM is not an Ed25519 private key.
 */
int crypto_ed25519_supported(void);
int crypto_ed25519_generate(char **pem, size_t *len);
int crypto_ed25519_public(const char *key_pem, size_t len, char **b64, char **why);

/*
 * Self-signed X.509 v3 certificate for hostname: RSA key given, SHA-256,
 * subject/issuer CN=hostname, subjectAltName DNS:hostname, basicConstraints
 * CA:FALSE, serial random, valid from now-1h for `days`.
 */
int crypto_selfsigned_cert(const char *key_pem, size_t keylen, const char *hostname, int days,
			   char **cert_pem, size_t *certlen);

/*
 * Check a certificate against its key and hostname: parses, key matches,
 * hostname in subjectAltName (or CN when there is no SAN), not expired.
 * 0 when all hold; -EINVAL with *why otherwise.  *not_after (may be NULL)
 * gets the expiry time when the certificate parses.
 */
int crypto_cert_check(const char *cert_pem, size_t certlen, const char *key_pem, size_t keylen,
		      const char *hostname, time_t *not_after, char **why);

/* ---- ACME (installer/acme.c): ES256 account keys, CSRs ---- */

/* New EC P-256 key (named curve) as PEM (free with crypto_free_secret). */
int crypto_ec_generate(char **pem, size_t *len);
/* Public point of a P-256 private key: x and y, 32 bytes each (for the JWK). */
int crypto_ec_public(const char *pem, size_t len, unsigned char x[32], unsigned char y[32]);
/* ES256 (RFC 7518 3.4): SHA-256 and ECDSA P-256, as r||s, 32 bytes each. */
int crypto_es256_sign(const char *pem, size_t len, const void *data, size_t n, unsigned char sig[64]);
/* An ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) as r||s of 32 bytes each: 0 or -EINVAL. */
int crypto_ecdsa_der_to_raw(const unsigned char *der, size_t n, unsigned char raw[64]);
/* SHA-256 of data. */
int crypto_sha256(const void *data, size_t n, unsigned char md[32]);
/* A PKCS#10 request (DER) for hostname: CN and subjectAltName DNS:hostname, signed SHA-256 by the key. */
int crypto_csr(const char *key_pem, size_t keylen, const char *hostname, unsigned char **der, size_t *len);
/* Is the (first) certificate of a PEM self-issued (issuer == subject)?  1, 0, or -EINVAL. */
int crypto_cert_self_issued(const char *cert_pem, size_t len);
/*
 * What names the (first) certificate of a PEM for ACME Renewal Information
 * (RFC 9773 4.1): the keyIdentifier of its Authority Key Identifier and the
 * content octets of its serial number's DER INTEGER (a leading 0 kept).  0
 * with both (caller frees); -ENOENT when it has no AKI keyIdentifier,
 * -EINVAL when it is not a certificate.
 */
int crypto_cert_ari_parts(const char *cert_pem, size_t len, unsigned char **aki, size_t *aki_len,
			  unsigned char **serial, size_t *serial_len);
/* The content octets of one DER TLV (definite length): 0 with *off and *clen, -EINVAL. */
int crypto_der_content(const unsigned char *der, size_t n, size_t *off, size_t *clen);

#endif
