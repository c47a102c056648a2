/*
 * kvfile.h - in-place editor for the small line-oriented key/value files the
 * mail stages touch besides main.cf, master.cf and opendkim.conf:
 *
 *   KV_SHELL  shell variable files sourced by init scripts and units
 *             (/etc/default/saslauthd, /etc/sysconfig/saslauthd,
 *             /etc/default/opendkim): `NAME=value`, `NAME="value"`;
 *   KV_COLON  `key: value` files: Cyrus SASL's smtpd.conf and aliases(5)
 *             (/etc/aliases), where a line starting with a blank continues
 *             the entry above it.
 *
 * In both, a line whose first non-blank is '#' is a comment and blank lines
 * are blank.  A KV_SHELL line that is not a plain assignment (shell code,
 * `export`, a value with $ or backquotes) is kept as it is and never edited;
 * KV_COLON keys match case-insensitively (aliases(5) folds case).  LF and
 * CRLF line ends are kept per line; untouched lines stay byte-identical.
 *
 * Parse errors ("line N: reason"): NUL bytes and other control characters,
 * a carriage return not before a newline, and for KV_COLON a non-comment line
 * without ':' or a continuation line before any entry.
 */
#ifndef MAILSTAGE_KVFILE_H
#define MAILSTAGE_KVFILE_H

#include <stddef.h>

#define KVFILE_DISABLED_PREFIX "#mailstage: "

enum kv_style { KV_SHELL, KV_COLON };

struct kvfile;

int kvfile_parse(const char *text, size_t len, enum kv_style style, struct kvfile **out, char **err);
void kvfile_free(struct kvfile *kv);
char *kvfile_render(const struct kvfile *kv, size_t *len);

/* Effective value (last definition; KV_SHELL unquoted, KV_COLON with its
 * continuation lines joined by single spaces) or NULL; valid until the next
 * edit. */
const char *kvfile_get(const struct kvfile *kv, const char *key);
size_t kvfile_count(const struct kvfile *kv, const char *key);

/* Make value the only definition of key.  Nothing changes when there is
 * exactly one definition with that value.  Otherwise the first definition is
 * replaced in place (its continuation lines dropped), later ones are disabled
 * with KVFILE_DISABLED_PREFIX, and an absent key is appended.  KV_SHELL writes
 * NAME=value, or NAME="value" when value holds anything but letters, digits
 * and _ . / : @ , + -.  -EINVAL for a bad key or a value with control
 * characters, leading or trailing blanks, or (KV_SHELL) " $ ` \. */
int kvfile_set(struct kvfile *kv, const char *key, const char *value);

#endif
