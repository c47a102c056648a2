/*
 * mastercf.h - in-memory parser and editor for Postfix master.cf.
 *
 * Syntax handled as Postfix's master_ent.c/readllines() do: an entry is
 *   service type private unpriv chroot wakeup maxproc command [args...]
 * on one logical line; a line starting with a blank continues the entry,
 * comment lines ('#' as first non-blank) and blank lines inside an entry are
 * skipped and do not end it.  Fields are separated by blanks; Postfix 3's
 * `{ ... }` grouping of arguments is understood when reading options.
 * An entry is identified by (service, type): ("smtp","inet") differs from
 * ("smtp","unix").  Postfix uses the LAST of duplicated entries; so do
 * mastercf_find() and the option functions (see mastercf_dedupe()).
 *
 * Parse errors ("line N: reason"): binary junk (as maincf), a continuation
 * line before any entry, an entry with fewer than 8 fields, an unknown type,
 * a bad private/unpriv/chroot (y, n, -), wakeup (N, N?, -) or maxproc (N, -).
 *
 * Options are written as `-o name=value` (no blanks: Postfix 2.10 has no
 * `{ }` form).  Disabled lines get MASTERCF_DISABLED_PREFIX.  Untouched lines
 * stay byte-identical.
 */
#ifndef MAILSTAGE_MASTERCF_H
#define MAILSTAGE_MASTERCF_H

#include <stddef.h>

#define MASTERCF_DISABLED_PREFIX "#mailstage: "

struct mastercf;

enum mastercf_field {
	MASTERCF_PRIVATE = 2,
	MASTERCF_UNPRIV,
	MASTERCF_CHROOT,
	MASTERCF_WAKEUP,
	MASTERCF_MAXPROC,
	MASTERCF_COMMAND
};

/* A read-only view of one entry; pointers valid until the next edit. */
struct mastercf_service {
	const char *name, *type;
	const char *field[8];		/* [0]=name .. [7]=command, as written */
	size_t nargs;			/* words after the command ({ } kept) */
	const char *const *args;
	size_t first_line, last_line;	/* 1-based physical lines */
};

/* What mastercf_add_service() creates. */
struct mastercf_new_service {
	const char *name, *type;
	/* private..maxproc copied from this entry when template_name is set
	 * (-ENOENT when it does not exist); a non-NULL fields[i] overrides,
	 * a field still unset is "-".  fields[0] = private .. [4] = maxproc. */
	const char *template_name, *template_type;
	const char *fields[5];
	const char *command;
	const char *const *args;	/* NULL-terminated words on the service line, or NULL */
	const char *const *options;	/* NULL-terminated "name=value", one `  -o` line each */
};

int mastercf_parse(const char *text, size_t len, struct mastercf **out, char **err);
void mastercf_free(struct mastercf *mf);
char *mastercf_render(const struct mastercf *mf, size_t *len);

/* Number of entries for (name, type). */
size_t mastercf_count(const struct mastercf *mf, const char *name, const char *type);
/* The effective (last) entry: 0, or -ENOENT. */
int mastercf_find(const struct mastercf *mf, const char *name, const char *type,
		  struct mastercf_service *out);
/* Effective value of `-o opt=...` of the effective entry (the last -o wins):
 * 0 with *value (NULL when the option is not given), or -ENOENT (no entry). */
int mastercf_get_option(const struct mastercf *mf, const char *name, const char *type,
			const char *opt, const char **value);
/* Set an option of the effective entry: every `-o opt=` of the entry gets
 * the new value in place; when there is none, a line `  -o opt=value` is
 * inserted right after the entry's last line.  -ENOENT (no entry), -EINVAL
 * (bad opt or value: blanks, control characters, '{', '}'), -ENOTSUP (the
 * entry's options end before its last word, e.g. pipe(8) `flags=... argv=`,
 * or an option spans lines). */
int mastercf_set_option(struct mastercf *mf, const char *name, const char *type,
			const char *opt, const char *value);
/* Remove every `-o opt=...` of the effective entry; lines left empty are
 * dropped.  0 also when absent; -ENOENT without entry; -ENOTSUP as above. */
int mastercf_unset_option(struct mastercf *mf, const char *name, const char *type,
			  const char *opt);
/* Replace field f (private..command) of the effective entry. -EINVAL for a
 * value the field does not accept. */
int mastercf_set_field(struct mastercf *mf, const char *name, const char *type,
		       enum mastercf_field f, const char *value);
/* Add an entry; -EEXIST when (name, type) exists.  Placed right after a
 * commented-out template of the same service and type (`#submission inet ...`
 * and its `#  -o ...` lines, as in the packaged master.cf) when that is safe,
 * else at the end.  The service line uses upstream's column layout. */
int mastercf_add_service(struct mastercf *mf, const struct mastercf_new_service *ns);
/* Disable all entries of (name, type) but the first (keep_last = 0) or the
 * last (keep_last = 1).  0 also when there is at most one. */
int mastercf_dedupe(struct mastercf *mf, const char *name, const char *type, int keep_last);

/* Disable every entry of (name, type) (MASTERCF_DISABLED_PREFIX on each of
 * its lines).  0 also when there is none. */
int mastercf_disable(struct mastercf *mf, const char *name, const char *type);

/* The endpoint of an inet service name as master(8) reads it (host_port()):
 * "[2001:db8::1]:smtp" -> host "2001:db8::1", port "smtp"; "192.0.2.1:25"
 * -> "192.0.2.1", "25"; "smtp" or ":smtp" -> host "" (every address of
 * inet_interfaces), port "smtp".  0 with malloc'd *host and *port, or
 * -EINVAL (an unclosed '[', text between ']' and ':', an empty port). */
int mastercf_inet_endpoint(const char *service, char **host, char **port);

/* Introspection: physical line i; *owner_index gets the index (0-based, in
 * file order) of the entry it belongs to, or (size_t)-1. */
size_t mastercf_line_count(const struct mastercf *mf);
const char *mastercf_line(const struct mastercf *mf, size_t i, size_t *len, size_t *owner_index);
size_t mastercf_service_count(const struct mastercf *mf);
int mastercf_service_at(const struct mastercf *mf, size_t idx, struct mastercf_service *out);

#endif
