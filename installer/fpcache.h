/*
 * fpcache.h - what the crypto checks found in files that have not changed.
 *
 * A converged apply parsed the DKIM key, the TLS key and the certificate on
 * every run (OpenSSL initialised, PEM decoded: most of a no-op's time).
 * These functions give the answer of crypto_key_info(), crypto_dkim_public()
 * and crypto_cert_check() without that work when every file involved is the
 * one a converged apply last recorded: same device, inode, size, mtime,
 * ctime and SHA-256 of the bytes just read.  Anything different, a missing
 * or unreadable record, a certificate close to expiry: the full check runs.
 * Only successes are remembered, so every failure and its message come from
 * a real check.  The records live in the trusted state directory
 * (/var/lib/mailstage/fingerprints, 0600 root); the runner loads them when
 * an apply takes the lock and saves them after every stage converged.
 */
#ifndef MAILSTAGE_FPCACHE_H
#define MAILSTAGE_FPCACHE_H

#include <stddef.h>
#include <time.h>
#include "root.h"

/* As crypto_key_info() for the key at path (inside root) whose bytes are pem/len. */
int fp_key_info(const struct root *root, const char *path, const char *pem, size_t len, int *bits, char **why);
/* As crypto_dkim_public(). */
int fp_dkim_public(const struct root *root, const char *path, const char *pem, size_t len, char **b64);
/* As crypto_cert_check(). */
int fp_cert_check(const struct root *root, const char *cert_path, const char *cert, size_t cl,
		  const char *key_path, const char *key, size_t kl, const char *hostname, time_t *not_after,
		  char **why);

/* Load the records of STATE_DIR/fingerprints (a missing or untrusted file: none). */
void fpcache_load(const char *state_dir);
/*
 * Write the records when they differ from what was loaded; 0 or -errno.
 * prune (a run of every stage): only what this run used is kept; otherwise
 * (--only, --skip) the records of the stages that did not run stay too.
 */
int fpcache_save(const char *state_dir, int prune);
/* Forget everything (tests; a failed apply). */
void fpcache_reset(void);

/* SHA-256 of data as 64 lowercase hex digits and a NUL (out holds 65). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
