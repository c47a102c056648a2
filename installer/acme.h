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
#include <time.h>

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
	const char *replaces;		/* the ARI CertID of the certificate this one replaces, or NULL */
};

/*
 * Obtain a certificate: newNonce, newAccount (or the existing account of the
 * key), newOrder for hostname (with "replaces": o->replaces when the
 * directory offers renewalInfo, RFC 9773 5; asked again without it when the
 * server answers alreadyReplaced), the http-01 challenge answered on
 * http_port, finalize with a CSR of cert_key, download the chain.  0 with
 * the PEM chain (leaf first, NUL-terminated) in *chain; negative errno with
 * *why (caller frees): -ETIMEDOUT, -EPROTO (the server refused: the ACME
 * error and a fix), -EADDRINUSE (port 80 is taken), -EIO.
 */
int acme_obtain(const struct acme_opts *o, char **chain, size_t *len, char **why);

/*
 * ACME Renewal Information (RFC 9773): when the CA suggests the certificate
 * be renewed.  acme_renewal_info() GETs the directory, then
 * {renewalInfo}/{CertID} (unauthenticated, each within o->timeout_s; only
 * directory, ca_file and timeout_s of o are used).  0 with *ari; -ENOTSUP
 * when the directory offers no renewalInfo; -ETIMEDOUT, -EIO, -EPROTO with
 * *why otherwise (an invalid window, end not after start, is -EPROTO: RFC
 * 9773 4.2 treats it as no answer).
 */
struct acme_ari {
	time_t start, end;	/* suggestedWindow */
	time_t point;		/* when in it this certificate renews: acme_ari_point() */
	long retry_after;	/* seconds until the CA wants to be asked again, in [60, 86400]; -1: not said */
	char *explanation;	/* explanationURL, or NULL */
};
int acme_renewal_info(const struct acme_opts *o, const char *cert_id, struct acme_ari *ari, char **why);
void acme_ari_free(struct acme_ari *ari);
/* The CertID of a PEM certificate (crypto_cert_ari_parts): 0 with *id, -ENOENT (no AKI), -EINVAL. */
int acme_cert_id_of(const char *cert_pem, size_t len, char **id);

/* ---- the pure parts (tests/unit/test_acme.c) ---- */

/* The ARI CertID (RFC 9773 4.1): base64url(AKI keyIdentifier) "." base64url(serial's DER content octets). */
char *acme_cert_id(const unsigned char *aki, size_t aki_len, const unsigned char *serial, size_t serial_len);
/* An RFC 3339 date-time (fractions ignored, any offset) as a time_t: 0 or -EINVAL. */
int acme_rfc3339(const char *s, time_t *t);
/* A RenewalInfo object: 0 with the window (end after start) and *explanation (NULL or caller frees), -EPROTO. */
int acme_renewal_info_parse(const char *body, size_t n, time_t *start, time_t *end, char **explanation);
/*
 * Where in [start, end) the certificate cert_id renews.  RFC 9773 4.2 asks
 * for a uniformly random time in the window so that the CA's clients spread
 * out; mailstage runs now and then (an admin, a daily timer), and one run's
 * plan and apply and the next run must agree, so the point is drawn once
 * per certificate: start + SHA-256(cert_id) mod (end - start).  Across
 * certificates it is as uniform as the hash; for one it never moves.
 */
time_t acme_ari_point(const char *cert_id, time_t start, time_t end);
/* The directory's renewalInfo URL (https://), or NULL. */
char *acme_directory_renewal_info(const char *body, size_t n);

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
