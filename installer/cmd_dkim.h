/*
 * cmd_dkim.h - `mailstage dkim status [--json] [--resolver ADDR:PORT]` (installer/cmd_dkim.c).
 */
#ifndef MAILSTAGE_CMD_DKIM_H
#define MAILSTAGE_CMD_DKIM_H

#include <stddef.h>

struct run_opts;

/* args: the words after "dkim" ("status").  resolver: --resolver or NULL.  Returns an exit code. */
int cmd_dkim(const struct run_opts *o, const char *resolver, char **args, size_t nargs);

#endif
