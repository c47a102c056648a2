/*
 * cmd_dns.h - `mailstage dns [--format FMT]` (installer/cmd_dns.c).
 */
#ifndef MAILSTAGE_CMD_DNS_H
#define MAILSTAGE_CMD_DNS_H

struct run_opts;

/* Print the records for the configured root.  Returns an exit code. */
int cmd_dns(const struct run_opts *o, const char *format);

#endif
