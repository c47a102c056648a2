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
 * The same records say which mail configuration files an edit (steps/
 * mailconf.c) left as they were, for the same configuration bytes, profile
 * and build: such a file is not parsed and edited again.
 * Only successes are remembered, so every failure and its message come from
 * a real check.  The records live in the trusted state directory
 * (/var/lib/mailstage/fingerprints, 0600 root); the runner loads them when
 * an apply takes the lock and saves them after every stage converged.
 */
#ifndef MAILSTAGE_FPCACHE_H
#define MAILSTAGE_FPCACHE_H

#include <stddef.h>
#include <time.h>
#include <sys/stat.h>
#include "root.h"

/*
 * The status of path (inside root) as a stage just took it from the
 * descriptor it read the file through: the fingerprints of this file ask no
 * stat() again while root_epoch() stays the same.
 */
void fp_seen(const struct root *root, const char *path, const struct stat *sb);
/* As crypto_key_info() for the key at path (inside root) whose bytes are pem/len. */
int fp_key_info(const struct root *root, const char *path, const char *pem, size_t len, int *bits, char **why);
/* As crypto_dkim_public(). */
int fp_dkim_public(const struct root *root, const char *path, const char *pem, size_t len, char **b64);
/* As crypto_cert_check(). */
int fp_cert_check(const struct root *root, const char *cert_path, const char *cert, size_t cl,
		  const char *key_path, const char *key, size_t kl, const char *hostname, time_t *not_after,
		  char **why);

/*
 * The edits of the mail configuration files (steps/mailconf.c) are
 * functions of the configuration, the profile, this build and the file's
 * bytes, nothing else.  fp_edit_inputs() digests all but the file into out:
 * 0, or -1 when no edit may be remembered (no configuration bytes, a
 * program without a build ID, SHA-256 in software, where hashing costs
 * about what it would save).  fp_edit_unchanged() with remember=0: 1 when a
 * converged apply recorded that the edit, with these inputs, left this very
 * file (same device, inode, size, mtime, ctime and SHA-256 of data) as it
 * was; with remember=1 it records that (the caller found it so).  sb: the
 * fstat() of the descriptor data was read from, or NULL (stat() here).
 */
int fp_edit_inputs(const char *source, size_t len, const char *profile, const char *variant, char out[65]);
int fp_edit_unchanged(const struct root *root, const char *path, const struct stat *sb, const char *data, size_t len,
		      const char *inputs, int remember);

/*
 * A value derived from a file's bytes alone (kind names the derivation, e.g.
 * "maincf:alias_database"): fp_derived_get() gives, malloc'd, what
 * fp_derived_put() recorded for bytes with the same SHA-256 and this same
 * build, or NULL (nothing recorded, SHA-256 in software).  A value with a
 * tab or a newline is not recorded.
 */
char *fp_derived_get(const char *kind, const char *data, size_t len);
void fp_derived_put(const char *kind, const char *data, size_t len, const char *value);

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
/* 1 when sha256_hex() uses the CPU's SHA instructions (x86-64 SHA-NI), else 0. */
int sha256_accelerated(void);
#ifdef MAILSTAGE_TEST_HOOKS
extern int sha256_portable_only;	/* tests: the portable code even where SHA-NI is */
#endif

#endif
