/*
 * sasl.c - stage "sasl": the Cyrus SASL backend of Postfix's SMTP AUTH.
 *
 * The seed guide turns smtpd_sasl_auth_enable on and never configures a
 * backend: every AUTH gets "454 4.7.0 Temporary authentication failure".
 * Here:
 *   - Postfix's smtpd.conf (the profile's path: /etc/sasl2/smtpd.conf on EL,
 *     /etc/postfix/sasl/smtpd.conf on Debian) says pwcheck_method: saslauthd
 *     and mech_list: plain login (edited in place, other keys kept);
 *   - saslauthd's defaults file uses PAM (MECH= on EL, MECHANISMS= on
 *     Debian); on Debian also START=yes (its init script does nothing
 *     without it) and OPTIONS with -m /var/spool/postfix/var/run/saslauthd,
 *     because smtpd runs chrooted in /var/spool/postfix and looks for the
 *     socket at /var/run/saslauthd/mux inside it;
 *     where SELinux is on in the target, the profile's SELinux variant keeps
 *     the package's /var/run/saslauthd instead (Debian's policy lets
 *     saslauthd make its socket there only) and postfix-master runs
 *     submission and smtps, the services with AUTH, unchrooted;
 *   - Debian's init script makes that directory root:sasl 0710, so the
 *     postfix user joins the sasl group: /etc/group (and /etc/gshadow, as
 *     usermod -aG does) edited through the primitives, so rollback undoes it.
 */
#include "i18n.h"
#include "mailconf.h"
#include "steps.h"
#include "kvfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sasl_smtpd_conf_edit(const char *in, size_t len, char **out, size_t *outlen, char **err)
{
	struct kvfile *kv = NULL;
	int r = kvfile_parse(in, len, KV_COLON, &kv, err);

	*out = NULL;
	if (r == 0 && ((r = kvfile_set(kv, "pwcheck_method", "saslauthd")) < 0 ||
		       (r = kvfile_set(kv, "mech_list", "plain login")) < 0))
		*err = xstrdup("cannot set pwcheck_method and mech_list");
	if (r == 0)
		*out = kvfile_render(kv, outlen);
	kvfile_free(kv);
	return r;
}

int sasl_defaults_edit(const struct profile *p, const char *in, size_t len, char **out, size_t *outlen,
		       char **err)
{
	struct kvfile *kv = NULL;
	int r = kvfile_parse(in, len, KV_SHELL, &kv, err);

	*out = NULL;
	if (r == 0 && p->saslauthd_start_var && (r = kvfile_set(kv, p->saslauthd_start_var, "yes")) < 0)
		*err = xasprintf(_("cannot set %s"), p->saslauthd_start_var);
	if (r == 0 && (r = kvfile_set(kv, p->saslauthd_mech_var, "pam")) < 0)
		*err = xasprintf(_("cannot set %s"), p->saslauthd_mech_var);
	if (r == 0 && p->saslauthd_options && (r = kvfile_set(kv, "OPTIONS", p->saslauthd_options)) < 0)
		*err = xstrdup("cannot set OPTIONS");
	if (r == 0)
		*out = kvfile_render(kv, outlen);
	kvfile_free(kv);
	return r;
}

int sasl_group_add(const char *in, size_t len, const char *group, const char *user, char **out, size_t *outlen)
{
	struct buf b = { 0 };
	size_t off = 0, gl = strlen(group), ul = strlen(user);
	int found = 0, r = 0;

	while (off < len) {
		const char *s = in + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) + 1 : len - off, c = nl ? n - 1 : n;
		if (!found && c > gl && memcmp(s, group, gl) == 0 && s[gl] == ':') {
			/* name:password:gid-or-admins:members */
			const char *f = s, *end = s + c, *m;
			int colons = 0, member = 0;
			found = 1;
			for (m = s; m < end && colons < 3; m++)
				if (*m == ':')
					colons++;
			if (colons < 3 || memchr(m, ':', (size_t)(end - m))) {
				r = -EINVAL;
				break;
			}
			for (f = m; f < end;) {
				const char *comma = memchr(f, ',', (size_t)(end - f));
				size_t wl = comma ? (size_t)(comma - f) : (size_t)(end - f);
				if (wl == ul && memcmp(f, user, ul) == 0)
					member = 1;
				f += wl + (comma ? 1 : 0);
			}
			buf_append(&b, s, c);
			if (!member)
				buf_printf(&b, "%s%s", m < end ? "," : "", user);
			buf_append(&b, s + c, n - c);
		} else {
			buf_append(&b, s, n);
		}
		off += n;
	}
	if (r == 0 && !found)
		r = -ENOENT;
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	*outlen = b.len;
	*out = buf_steal(&b);
	return 0;
}

/* Add the postfix user to the profile's sasl group in FILE (group or gshadow). */
static int check_group_file(struct ctx *c, const char *file, int required)
{
	const char *grp = c->prof->sasl_group;
	char *old = NULL, *want = NULL;
	size_t oldlen = 0, wantlen = 0;
	int r = read_target(c, file, &old, &oldlen);

	if (r == -ENOENT && !required)
		return 0;
	if (r < 0)
		return r;
	r = sasl_group_add(old, oldlen, grp, "postfix", &want, &wantlen);
	if (r == -ENOENT && !required) {
		r = 0;
	} else if (r == -ENOENT && stage_dry(c)) {
		stage_note(c, _("group %s does not exist yet (package %s, installed by the packages stage): "
			   "postfix is added to it then"), grp, c->prof->sasl_package);
		r = 0;
	} else if (r == -ENOENT) {
		r = stage_fail(c, _("group %s does not exist in %s: install %s (the packages stage does) and run "
			       "again"), grp, file, c->prof->sasl_package);
	} else if (r < 0) {
		r = stage_fail(c, _("%s: the line of group %s is malformed (want name:x:gid:members); correct it and "
			       "run again"), file, grp);
	} else {
		r = mc_want_edit(c, file, want, wantlen, "root", "root", 0644);
	}
	free(old);
	free(want);
	return r;
}

static int check(struct ctx *c)
{
	const struct profile *p = c->prof;
	char *old = NULL, *want = NULL, *err = NULL, *dir = NULL;
	size_t oldlen = 0, wantlen = 0;
	int r;

	/* Postfix's smtpd.conf: created when absent (Debian ships only the directory). */
	dir = xstrndup(p->sasl_smtpd_conf, (size_t)(strrchr(p->sasl_smtpd_conf, '/') - p->sasl_smtpd_conf));
	if ((r = want_dir_exists(c, dir, "root", "root", 0755)) < 0)
		goto out;
	r = read_target(c, p->sasl_smtpd_conf, &old, &oldlen);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = sasl_smtpd_conf_edit(old ? old : "", oldlen, &want, &wantlen, &err);
	if (r < 0) {
		r = mc_parse_error(c, p->sasl_smtpd_conf, err);
		goto out;
	}
	if ((r = mc_want_edit(c, p->sasl_smtpd_conf, want, wantlen, "root", "root", 0644)) < 0)
		goto out;
	free(old);
	free(want);
	old = want = NULL;
	/* saslauthd's defaults, from its package */
	r = mc_read_packaged(c, p->saslauthd_defaults, NULL, p->sasl_package, &old, &oldlen);
	if (r < 0)
		goto out;
	if (r == 0) {
		char inputs[65];
		if (mc_edit_known(c, p->saslauthd_defaults, old, oldlen, inputs)) {
			want = old;
			wantlen = oldlen;
			old = NULL;
		} else {
			r = sasl_defaults_edit(p, old, oldlen, &want, &wantlen, &err);
			if (r < 0) {
				r = mc_parse_error(c, p->saslauthd_defaults, err);
				goto out;
			}
			mc_edit_note(c, p->saslauthd_defaults, old, oldlen, want, wantlen, inputs);
		}
		if ((r = mc_want_edit(c, p->saslauthd_defaults, want, wantlen, "root", "root", 0644)) < 0)
			goto out;
	}
	r = 0;
	if (p->sasl_group && (r = check_group_file(c, "/etc/group", 1)) == 0)
		r = check_group_file(c, "/etc/gshadow", 0);
out:
	free(old);
	free(want);
	free(err);
	free(dir);
	return r;
}

const struct stage stage_sasl = {
	.name = "sasl",
	.summary = N_("Cyrus SASL for Postfix: smtpd.conf (saslauthd; plain login), saslauthd with PAM, its "
		   "socket reachable from Postfix's chroot"),
	.check = check,
};
STAGE_REGISTER(stage_sasl);
