/*
 * acme.h - an ACME (RFC 8555) client: one certificate for one host name by
 * the http-01 challenge, answered by mailstage itself on port 80 for the
 * duration of the order only.
 *
 * HTTPS through libcurl (dlopen()ed, lazylib.h), ES256 JWS and the CSR
 * through libcrypto (crypto.h), the server's JSON through json.h (the
 * answers are untrusted input).  Every request is bounded in time,
 * Retry-After is honoured within the bounds, a badNonce is retried with the
 * fresh nonce.  Errors from the server (urn:ietf:params:acme:error:*) come
 * back as one line with their detail and a fix.
 *
 * A library: it knows nothing of runs, stages or the journal; the tls stage
 * (steps/tls.c) gives it the keys and writes what it returns.
 */
#ifndef MAILSTAGE_ACME_H
#define MAILSTAGE_ACME_H

#include <stddef.h>

#define ACME_LETSENCRYPT "https://acme-v02.api.letsencrypt.org/directory"

struct acme_opts {
	const char *directory;		/* the directory URL (https://) */
	const char *ca_file;		/* host path of a CA bundle trusting the server, or NULL: the system's */
	const char *email;		/* contact (mailto:), or NULL/"" */
	const char *account_key;	/* PEM, EC P-256 */
	size_t account_key_len;
	const char *cert_key;		/* PEM: the key the certificate is for */
	size_t cert_key_len;
	const char *hostname;
	int http_port;			/* where the challenge is answered: 80 */
	int timeout_s;			/* per request, connect included */
	int max_wait_s;			/* the whole polling of one object (authorization, order) */
};

/*
 * Obtain a certificate: newNonce, newAccount (or the existing account of the
 * key), newOrder for hostname, the http-01 challenge answered on
 * http_port, finalize with a CSR of cert_key, download the chain.  0 with
 * the PEM chain (leaf first, NUL-terminated) in *chain; negative errno with
 * *why (caller frees): -ETIMEDOUT, -EPROTO (the server refused: the ACME
 * error and a fix), -EADDRINUSE (port 80 is taken), -EIO.
 */
int acme_obtain(const struct acme_opts *o, char **chain, size_t *len, char **why);

/* ---- the pure parts (tests/unit/test_acme.c) ---- */

/* base64url without padding (RFC 7515 2). */
char *acme_b64url(const void *data, size_t n);
/* The JWK of a P-256 public key, members in the order of RFC 7638 (crv, kty, x, y). */
char *acme_jwk(const unsigned char x[32], const unsigned char y[32]);
/* RFC 7638 thumbprint: base64url(SHA-256(jwk)); NULL when libcrypto is missing. */
char *acme_thumbprint(const char *jwk);
/*
 * A problem document (RFC 7807) as one line: "TYPE: DETAIL" with the
 * "urn:ietf:params:acme:error:" prefix dropped, and the subproblems'
 * details; NULL when body is not one.
 */
char *acme_problem(const char *body, size_t n);
/* What to do about an ACME error type (the short name, e.g. "connection"), or NULL. */
const char *acme_problem_fix(const char *problem_line);
/* Retry-After (delta-seconds; an HTTP date is taken as `bound`), clamped to [0, bound]; -1 when absent/bad. */
long acme_retry_after(const char *value, long bound);
/* The directory's URLs: 0 with each (caller frees), -EPROTO when one is missing. */
int acme_directory_parse(const char *body, size_t n, char **new_nonce, char **new_account, char **new_order);

#endif
