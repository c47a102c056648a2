/*
 * mailconf.c - helpers shared by the mail configuration stages (opendkim,
 * sasl, postfix-main, postfix-master): reading a packaged file, editing it
 * with its owner and mode kept, parse errors as FILE:LINE, list compare.
 */
#include "i18n.h"
#include "mailconf.h"
#include "atomic.h"
#include "fpcache.h"
#include "steps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The command that puts a package's files back (a missing conffile too). */
static char *reinstall_command(const struct profile *p, const char *package)
{
	if (p->pkg_tool == PKG_APT)
		return xasprintf("apt-get install --reinstall -o Dpkg::Options::=--force-confmiss %s", package);
	return xasprintf("%s reinstall %s", p->pkg_tool == PKG_YUM ? "yum" : "dnf", package);
}

int mc_read_packaged(struct ctx *c, const char *path, const char *tmpl, const char *package, char **data,
		     size_t *len)
{
	char *fix = NULL;
	int r = read_target(c, path, data, len), installed;

	if (r != -ENOENT)
		return r;
	/* Installed without a configuration (Debian's "No configuration"): start from the package's template. */
	if (tmpl && (r = read_target(c, tmpl, data, len)) != -ENOENT) {
		if (r == 0)
			stage_note(c, _("%s does not exist (package %s installed without a configuration): it is "
				   "made from the package's template %s"), path, package, tmpl);
		return r;
	}
	installed = packages_installed(c->prof, c->root, package);
	if (installed > 0) {
		fix = reinstall_command(c->prof, package);
		if (tmpl)
			stage_fail(c, _("%s does not exist, nor the package's template %s, although the package %s "
				   "is installed: restore its files with `%s` and run again"), path, tmpl,
				   package, fix);
		else
			stage_fail(c, _("%s does not exist although the package %s, which ships it, is installed: "
				   "restore it with `%s` and run again"), path, package, fix);
		free(fix);
		return -ENOENT;
	}
	if (stage_dry(c)) {
		stage_note(c, _("%s does not exist yet (package %s, installed by the packages stage): its "
			   "changes are shown once it is installed"), path, package);
		return 1;
	}
	stage_fail(c, _("%s does not exist: install the package %s (the packages stage does) and run again"),
		   path, package);
	return -ENOENT;
}

int mc_edit_known(struct ctx *c, const char *path, const char *old, size_t oldlen, char inputs[65])
{
	struct stat sb;

	if (fp_edit_inputs(c->cfg->source, c->cfg->source_len, c->prof->name, c->prof->variant, inputs) < 0) {
		*inputs = '\0';
		return 0;
	}
	/* the status of what read_target() just read */
	return target_lstat(c, path, &sb) == 0 && fp_edit_unchanged(c->root, path, &sb, old, oldlen, inputs, 0);
}

void mc_edit_note(struct ctx *c, const char *path, const char *old, size_t oldlen, const char *want, size_t wantlen,
		  const char *inputs)
{
	struct stat sb;

	if (*inputs && wantlen == oldlen && memcmp(want, old, oldlen) == 0 && target_lstat(c, path, &sb) == 0)
		(void)fp_edit_unchanged(c->root, path, &sb, old, oldlen, inputs, 1);
}

int mc_check_packaged(struct ctx *c, const char *path, const char *tmpl, const char *package, mc_edit_fn edit,
		      char **want, size_t *wantlen)
{
	char *old = NULL, *err = NULL, inputs[65];
	size_t oldlen = 0;
	int r = mc_read_packaged(c, path, tmpl, package, &old, &oldlen);

	*want = NULL;
	*wantlen = 0;
	if (r != 0)
		goto out;
	if (mc_edit_known(c, path, old, oldlen, inputs)) {
		*want = old;
		*wantlen = oldlen;
		old = NULL;
	} else {
		r = edit(c->cfg, c->prof, old, oldlen, want, wantlen, &err);
		if (r < 0) {
			r = mc_parse_error(c, path, err);
			goto out;
		}
		mc_edit_note(c, path, old, oldlen, *want, *wantlen, inputs);
	}
	r = mc_want_edit(c, path, *want, *wantlen, "root", "root", 0644);
out:
	if (r < 0) {
		free(*want);
		*want = NULL;
	}
	free(old);
	free(err);
	return r;
}

int mc_want_edit(struct ctx *c, const char *path, const char *data, size_t len, const char *owner,
		 const char *group, mode_t mode)
{
	char *u = NULL, *g = NULL;
	struct stat sb;
	int r;

	if (target_lstat(c, path, &sb) == 0 && S_ISREG(sb.st_mode)) {
		u = root_user_name(c->root, sb.st_uid);
		g = root_group_name(c->root, sb.st_gid);
		owner = u;
		group = g;
		/* Owner and mode as found, but never writable by group or others (that is drift). */
		mode = sb.st_mode & 07755;
	}
	r = want_file(c, path, data, len, owner, group, mode);
	/* Nor its directory (/etc/postfix at 0777: anyone could replace main.cf). */
	if (r == 0) {
		char *dir = path_dirname(path);
		r = want_not_writable_by_others(c, dir);
		free(dir);
	}
	free(u);
	free(g);
	return r;
}

int mc_parse_error(struct ctx *c, const char *path, const char *err)
{
	unsigned long ln;
	int n = 0;
	if (err && sscanf(err, "line %lu: %n", &ln, &n) == 1 && n > 0)
		return stage_fail(c, _("%s:%lu: %s; mailstage edits this file in place and cannot do it safely: "
				  "correct that line (or restore the packaged file) and run again; the file was "
				  "not changed"), path, ln, err + n);
	return stage_fail(c, _("%s: %s; correct the file and run again; the file was not changed"), path,
			  err ? err : _("cannot be parsed"));
}

int mc_have_program(const char *prog)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin", NULL };
	size_t i;
	for (i = 0; dirs[i]; i++) {
		char *p = xasprintf("%s/%s", dirs[i], prog);
		int ok = access(p, X_OK) == 0;
		free(p);
		if (ok)
			return 1;
	}
	return 0;
}

/* Next word of a Postfix list (blanks and commas separate). */
static const char *next_word(const char *s, size_t *n)
{
	while (*s && strchr(" \t,", *s))
		s++;
	*n = strcspn(s, " \t,");
	return *s ? s : NULL;
}

int mc_same_list(const char *a, const char *b)
{
	size_t na, nb;
	for (;;) {
		a = next_word(a, &na);
		b = next_word(b, &nb);
		if (!a || !b)
			return !a && !b;
		if (na != nb || memcmp(a, b, na) != 0)
			return 0;
		a += na;
		b += nb;
	}
}
