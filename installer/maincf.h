/*
 * maincf.h - in-memory parser and editor for Postfix main.cf.
 *
 * Syntax handled as Postfix's readllines()/split_nameval() do:
 *   - `name = value`; blanks around '=' and at the end of a line are ignored;
 *   - a line whose first non-blank is '#' is a comment, a blank line is
 *     blank; neither ends a logical line;
 *   - no trailing comments: a '#' after a value is part of the value;
 *   - a line starting with a blank continues the previous parameter (even
 *     across comment and blank lines); the last definition wins.
 * LF and CRLF line ends are both accepted and kept per line.
 *
 * Parse errors (returned in *err as "line N: reason", the caller prefixes
 * the file name): NUL bytes and other control characters, a carriage return
 * not before a newline, a continuation line before any parameter (Postfix
 * warns and ignores it), a line without '=' (Postfix: fatal), an empty name.
 *
 * Edits never touch lines that do not belong to the edited parameter, so a
 * parse + render without edits is byte-identical.  Later duplicates are
 * disabled by prefixing each of their lines with MAINCF_DISABLED_PREFIX.
 */
#ifndef MAILSTAGE_MAINCF_H
#define MAILSTAGE_MAINCF_H

#include <stddef.h>

#define MAINCF_DISABLED_PREFIX "#mailstage: "

struct maincf;

/* Parse text[0..len).  0 and *out, or -EINVAL with *err = "line N: reason"
 * (malloc'd, caller frees).  text need not be NUL-terminated. */
int maincf_parse(const char *text, size_t len, struct maincf **out, char **err);
void maincf_free(struct maincf *mc);

/* The whole file; malloc'd, NUL-terminated; *len (optional) gets its size. */
char *maincf_render(const struct maincf *mc, size_t *len);

/* Effective value (last definition; continuation lines joined with single
 * spaces), or NULL when not defined.  Valid until the next edit. */
const char *maincf_get(const struct maincf *mc, const char *name);
/* Number of active definitions of name. */
size_t maincf_count(const struct maincf *mc, const char *name);

/* Replace the first definition in place by "name = value" (its continuation
 * lines are removed, its line end kept), disable later definitions; append
 * "name = value" at the end when absent.  -EINVAL for a bad name (empty,
 * blanks, '=', control characters, leading '#') or value (control
 * characters other than tab, leading or trailing blanks). */
int maincf_set(struct maincf *mc, const char *name, const char *value);
/* Disable every definition of name (0 also when there is none). */
int maincf_unset(struct maincf *mc, const char *name);

/* Introspection (tests, fuzzing): physical line i with its line end; *owner
 * gets the name of the parameter the line belongs to (definition or
 * continuation line), or NULL for comments and blank lines. */
size_t maincf_line_count(const struct maincf *mc);
const char *maincf_line(const struct maincf *mc, size_t i, size_t *len, const char **owner);

#endif
