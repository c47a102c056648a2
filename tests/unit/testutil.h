/*
 * testutil.h - helpers shared by the cmocka unit tests (tests/unit/test_*.c;
 * the Makefile links testutil.c into every one): running a program and
 * capturing its output, finding an installed tool, reading and writing
 * test files, removing a temporary tree.  Failures to read or write end the
 * test with fail_msg().
 */
#ifndef MAILSTAGE_TESTUTIL_H
#define MAILSTAGE_TESTUTIL_H

#include <stddef.h>

#include "util.h"

/* Run argv (argv[0] searched in PATH) with stdin from /dev/null; its
 * stdout is appended to out; its stderr to err, into out as well when
 * err == out, discarded when err is NULL.  Its exit status, or -1 (not
 * started, or killed by a signal). */
int tu_run(char *const argv[], struct buf *out, struct buf *err);
/* The same with stdout and stderr as malloc'd strings (never NULL). */
int tu_run_str(char *const argv[], char **out, char **err);

/* name in /usr/sbin, /usr/bin, /sbin or /bin (static buffer), or NULL. */
const char *tu_find_tool(const char *name);

/* dir/name := text[0..len) (created 0644 or truncated). */
void tu_write_file(const char *dir, const char *name, const char *text, size_t len);
/* The whole file, malloc'd and NUL-terminated; *len (optional) its size. */
char *tu_read_file(const char *path, size_t *len);
/* tests/cases/<set>/<file>: the tests run from the repository root. */
char *tu_read_case(const char *set, const char *file, size_t *len);

/* rm -rf path (a test's temporary tree). */
void tu_rm_rf(const char *path);

#endif
