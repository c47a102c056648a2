/*
 * dpkgstatus.h - which packages dpkg has installed in a root, read from
 * dpkg's own database instead of asking `dpkg-query -W` (issue 11: one
 * subprocess less in every check of the packages stage).
 *
 * The database is <root>/var/lib/dpkg/status, then the journal of changes
 * dpkg has not merged into it yet, <root>/var/lib/dpkg/updates/NNNN in
 * order (an interrupted dpkg leaves some), each stanza of an update
 * replacing that package's record, as dpkg-query reads them.  Both are
 * deb822 text: stanzas separated by empty lines, "Field: value" lines,
 * continuation lines starting with a blank; field names match without
 * regard to case.  The target's files are untrusted input: each is read
 * through the confined root (a regular file only, bounded in size), and
 * what dpkg itself would refuse to parse is refused ("line N: reason"): a
 * NUL byte, a last line without its newline (a file cut short), a line that
 * is no field and no continuation, a continuation before the first field,
 * Package, Status, Architecture, Multi-Arch or Version twice in one
 * stanza, a stanza without Package or with a name dpkg does not allow, a
 * Status that is not the three words WANT FLAG STATE of dpkg's own
 * vocabulary, a Version missing where the state needs one, and one
 * package and architecture twice in the status file.  A CRLF line end is
 * taken as dpkg takes it: the "\r" is trailing blank of the value, and a
 * "\r" alone is a continuation line, not the end of a stanza.
 *
 * Installed means what `dpkg-query -W -f='${db:Status-Abbrev}'` shows as
 * "?i?": the third word of Status is "installed" (whatever the want and
 * the error flag: "deinstall ok installed" and "install reinstreq
 * installed" count, "half-configured", "config-files", "triggers-pending"
 * do not).  A wanted name is a dpkg-query pattern: NAME matches every
 * architecture's instance of the package, NAME:ARCH only the one whose
 * Architecture field is ARCH (fnmatch(3) on both parts, as dpkg-query);
 * names are matched against the database's name folded to lower case.
 * What is reported is the database's name without an architecture, once.
 */
#ifndef MAILSTAGE_DPKGSTATUS_H
#define MAILSTAGE_DPKGSTATUS_H

#include <stddef.h>

#include "root.h"
#include "util.h"

#define DPKG_STATUS_FILE "/var/lib/dpkg/status"
#define DPKG_UPDATES_DIR "/var/lib/dpkg/updates"

/* The instances of the wanted packages, as read so far. */
struct dpkg_db;

/* A database of nothing read yet, for the patterns names[0..n). */
struct dpkg_db *dpkg_db_new(char *const *names, size_t n);
void dpkg_db_free(struct dpkg_db *db);

/*
 * Parse one file of the database, text[0..len) (need not be
 * NUL-terminated): the status file (is_update 0) or one of updates/
 * (is_update 1, read after the status file, in order).  0, or -EBADMSG
 * with *err = "line N: reason" (malloc'd) for the first error; the
 * stanzas before it are kept, the one in error changes nothing.
 */
int dpkg_db_parse(struct dpkg_db *db, const char *text, size_t len, int is_update, char **err);

/* Push onto out the database names of the wanted packages installed (never twice). */
void dpkg_db_installed(const struct dpkg_db *db, struct strv *out);

/*
 * All of it on a root: the status file (none: nothing is installed, as
 * dpkg-query says) and updates/.  0, or a negative errno (never -ENOENT)
 * with *why (malloc'd): the file that could not be read or parsed, why,
 * and what to do.
 */
int dpkg_installed(const struct root *r, char *const *names, size_t n, struct strv *installed, char **why);

#endif
