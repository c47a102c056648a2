/*
 * mailconf.h - what the mail configuration stages (opendkim, sasl,
 * postfix-main, postfix-master) share, and their pure edit functions: each
 * takes the current text of a file and returns the wanted text, so unit
 * tests can run them on any input and profile without a root.
 */
#ifndef MAILSTAGE_MAILCONF_H
#define MAILSTAGE_MAILCONF_H

#include "stage.h"

/* ---- helpers for check() (mailconf.c) ---- */

/*
 * Read a file the distribution's package installs (main.cf, opendkim.conf).
 * 0 with *data; when it is absent, the package's template tmpl (NULL: none)
 * if that exists (a note says so; the file is then created).  Else 1 when
 * it is absent during a plan and the package is not installed (a note says
 * the packages stage installs it: nothing to compare yet); -ENOENT with
 * stage_fail when it is absent during an apply, or the package is installed
 * without it (the message gives the command that restores it); other -errno.
 */
int mc_read_packaged(struct ctx *c, const char *path, const char *tmpl, const char *package, char **data,
		     size_t *len);
/* want_file() keeping an existing file's owner, group and mode; a new file
 * gets the given ones. */
int mc_want_edit(struct ctx *c, const char *path, const char *data, size_t len, const char *owner,
		 const char *group, mode_t mode);
/* An editor of a packaged file: the wanted text from the current one, or -EINVAL with *err. */
typedef int (*mc_edit_fn)(const struct config *cfg, const struct profile *p, const char *in, size_t len,
			  char **out, size_t *outlen, char **err);
/*
 * The check of a packaged configuration file edited in place (main.cf,
 * master.cf, opendkim.conf): read it (mc_read_packaged, tmpl: the package's
 * template when the file is absent, or NULL), edit it, and want
 * the result root:root 0644 (mc_want_edit).  0 with the wanted text in
 * *want (caller frees); 1 when the file is absent during a plan (nothing
 * to compare yet, *want NULL); negative on failure (parse errors named
 * with file and line, nothing wanted).
 */
/*
 * The edit records (fpcache.h): mc_edit_known() is 1 when a converged apply
 * found this very file as the edit leaves it, with this configuration,
 * profile and build: the edit need not run, the file is what is wanted.
 * inputs (65 bytes) is filled for mc_edit_note(), which records it when
 * the edit just made left the file as it was.
 */
int mc_edit_known(struct ctx *c, const char *path, const char *old, size_t oldlen, char inputs[65]);
void mc_edit_note(struct ctx *c, const char *path, const char *old, size_t oldlen, const char *want, size_t wantlen,
		  const char *inputs);
int mc_check_packaged(struct ctx *c, const char *path, const char *tmpl, const char *package, mc_edit_fn edit,
		      char **want, size_t *wantlen);
/* stage_fail() for an editor's parse error "line N: reason": "PATH:N: reason ..." */
int mc_parse_error(struct ctx *c, const char *path, const char *err);
/* Is prog (e.g. "postalias") in exec_run()'s PATH on this host? */
int mc_have_program(const char *prog);
/* Compare two Postfix values as lists: blanks and commas separate words. */
int mc_same_list(const char *a, const char *b);

/* ---- opendkim.c ---- */
/* Paths of the tables (inside the profile's opendkim_dir). */
char *opendkim_keytable_path(const struct profile *p);
char *opendkim_signingtable_path(const struct profile *p);
char *opendkim_trustedhosts_path(const struct profile *p);
/* The wanted opendkim.conf from the current one: 0, or -EINVAL with *err. */
int opendkim_conf_edit(const struct config *cfg, const struct profile *p, const char *in, size_t len,
		       char **out, size_t *outlen, char **err);
/* The three tables' contents. */
char *opendkim_keytable(const struct config *cfg, const struct profile *p);
/* The same for a selector (the DKIM rotation's active key). */
char *opendkim_keytable_sel(const struct config *cfg, const struct profile *p, const char *sel);
char *opendkim_signingtable_sel(const struct config *cfg, const char *sel);
char *opendkim_signingtable(const struct config *cfg);
char *opendkim_trustedhosts(const struct config *cfg);

/* ---- sasl.c ---- */
int sasl_smtpd_conf_edit(const char *in, size_t len, char **out, size_t *outlen, char **err);
int sasl_defaults_edit(const struct profile *p, const char *in, size_t len, char **out, size_t *outlen,
		       char **err);
/* /etc/group or /etc/gshadow (members are the 4th field of both) with user
 * added to group: 0 with *out (a copy of in when already a member), -ENOENT
 * when the group has no line, -EINVAL for a malformed line of that group. */
int sasl_group_add(const char *in, size_t len, const char *group, const char *user, char **out,
		   size_t *outlen);

/* ---- postfix_main.c ---- */
struct pf_param {
	const char *name;
	int since;		/* first Postfix version that knows it, major*100+minor */
	int if_absent;		/* only written when the file does not set it */
};
/* The managed parameters, NULL-name terminated (for tests and docs). */
const struct pf_param *postfix_main_params(void);
/* Wanted value of a managed parameter (malloc'd), NULL for an unknown name. */
char *postfix_main_value(const struct config *cfg, const struct profile *p, const char *name);
/* The wanted main.cf from the current one: 0, or -EINVAL with *err. */
int postfix_main_edit(const struct config *cfg, const struct profile *p, const char *in, size_t len,
		      char **out, size_t *outlen, char **err);
/* DMARC report aliases needed: local parts of dmarc_rua/dmarc_ruf in a
 * domain this server delivers locally (mydestination); 0..2 entries. */
/* Does the server deliver mail for domain d itself (mydestination as postfix-main sets it)? */
int postfix_local_domain(const struct config *cfg, const char *d);
size_t postfix_dmarc_locals(const struct config *cfg, char *out[2]);
/* /etc/aliases with "local: target" for each; 0, or -EINVAL with *err. */
int postfix_aliases_edit(const struct config *cfg, const char *in, size_t len, char **out, size_t *outlen,
			 char **err);

/* ---- postfix_master.c ---- */
int postfix_master_edit(const struct config *cfg, const struct profile *p, const char *in, size_t len,
			char **out, size_t *outlen, char **err);

#endif
