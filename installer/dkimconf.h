/*
 * dkimconf.h - in-memory parser and editor for opendkim.conf.
 *
 * Syntax handled as OpenDKIM's config.c does: a '#' anywhere starts a
 * comment (to the end of the line); what is left is `Key value` with the key
 * matched case-insensitively, separated by blanks; the value is the rest of
 * the line without surrounding blanks; blank lines are ignored; the last
 * definition wins.  LF and CRLF line ends are accepted and kept per line.
 *
 * Parse errors ("line N: reason"): binary junk (NUL, control characters, a
 * carriage return not before a newline) and a key without a value (OpenDKIM
 * refuses to start: "required value missing").  Unknown keys are accepted
 * (OpenDKIM's list differs between versions; `opendkim -n` checks them).
 *
 * Untouched lines stay byte-identical.  Disabled lines get
 * DKIMCONF_DISABLED_PREFIX.
 */
#ifndef MAILSTAGE_DKIMCONF_H
#define MAILSTAGE_DKIMCONF_H

#include <stddef.h>

#define DKIMCONF_DISABLED_PREFIX "#mailstage: "

struct dkimconf;

int dkimconf_parse(const char *text, size_t len, struct dkimconf **out, char **err);
void dkimconf_free(struct dkimconf *dc);
char *dkimconf_render(const struct dkimconf *dc, size_t *len);

/* Effective value (last definition) or NULL; valid until the next edit. */
const char *dkimconf_get(const struct dkimconf *dc, const char *key);
size_t dkimconf_count(const struct dkimconf *dc, const char *key);

/* Replace the value of the first definition in place (the key as written,
 * the blanks after it and any trailing comment are kept), disable later
 * definitions.  When absent: insert `Key<blanks>value` right after the
 * commented-out example of the key (a comment line "#Key value" or
 * "# Key value", e.g. "#Mode sv" in Debian's file; the blanks are copied
 * from the example, and a run of such example lines is kept together),
 * else append `Key<TAB>value` at the end.  -EINVAL for a bad key (empty,
 * blanks, '#', control characters) or value (empty, '#', control
 * characters, leading or trailing blanks). */
int dkimconf_set(struct dkimconf *dc, const char *key, const char *value);
/* Disable every definition of key (0 also when there is none). */
int dkimconf_unset(struct dkimconf *dc, const char *key);

/* Introspection: physical line i; *owner gets the key as written on a
 * definition line, or NULL. */
size_t dkimconf_line_count(const struct dkimconf *dc);
const char *dkimconf_line(const struct dkimconf *dc, size_t i, size_t *len, const char **owner);

#endif
