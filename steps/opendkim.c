/*
 * opendkim.c - stage "opendkim": /etc/opendkim.conf edited in place so the
 * daemon really signs, and its KeyTable, SigningTable and TrustedHosts.
 *
 * What it corrects in the seed guide and the packaged files:
 *   - `Mode v` (EPEL's default) only verifies: Mode sv;
 *   - the socket Postfix's milter setting points at (inet:8891@localhost;
 *     Debian's package listens on a Unix socket outside Postfix's chroot, and
 *     its legacy /etc/default/opendkim SOCKET= would override the conf when
 *     the init script or opendkim.service.generate is used: set there too;
 *     a generated systemd drop-in passing its own -p is refused);
 *   - the single-key Domain/KeyFile/Selector lines (EPEL's KeyFile names a key
 *     that does not exist) are replaced by KeyTable + SigningTable (refile:),
 *     with the dkim-keys stage's key;
 *   - with dkim_algorithms = rsa-sha256, ed25519-sha256, a second OpenDKIM
 *     signs with the Ed25519 key: OpenDKIM 2.11 has one SignatureAlgorithm
 *     per instance (an Ed25519 key in the RSA instance's KeyTable fails with
 *     "expecting an rsa key"), so /etc/opendkim/ed25519.conf (whole file,
 *     ours), its own KeyTable.ed25519 and SigningTable.ed25519, a socket of
 *     its own (inet:8892@localhost, the second milter of postfix-main) and
 *     the unit opendkim-ed25519.service that starts it;
 *   - InternalHosts/ExternalIgnoreList so local and authenticated mail is
 *     signed rather than verified; relaxed/relaxed; From oversigned;
 *   - the tables are root:opendkim 0640: readable after opendkim drops its
 *     privileges, so `systemctl reload` does not fail with Permission denied.
 */
#include "i18n.h"
#include "mailconf.h"
#include "steps.h"
#include "dkimconf.h"
#include "kvfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DKIM_SOCKET "inet:" OPENDKIM_PORT "@localhost"	/* = smtpd_milters inet:127.0.0.1:8891 */
#define DKIM_ED25519_SOCKET "inet:" OPENDKIM_ED25519_PORT "@localhost"	/* = the second of smtpd_milters */

size_t opendkim_milter_ports(const struct config *cfg, int ports[2])
{
	ports[0] = atoi(OPENDKIM_PORT);
	ports[1] = atoi(OPENDKIM_ED25519_PORT);
	return config_dkim_ed25519(cfg) ? 2 : 1;
}

char *opendkim_keytable_path(const struct profile *p)
{
	return xasprintf("%s/KeyTable", p->opendkim_dir);
}

char *opendkim_signingtable_path(const struct profile *p)
{
	return xasprintf("%s/SigningTable", p->opendkim_dir);
}

char *opendkim_trustedhosts_path(const struct profile *p)
{
	return xasprintf("%s/TrustedHosts", p->opendkim_dir);
}

char *opendkim_keytable(const struct config *cfg, const struct profile *p)
{
	return opendkim_keytable_sel(cfg, p, cfg->dkim_selector);
}

char *opendkim_keytable_sel(const struct config *cfg, const struct profile *p, const char *sel)
{
	char *kp = dkim_sel_key_path(cfg, p, sel);
	/* no comment lines: plain "key value" lines, as opendkim.conf(5) describes the tables */
	char *s = xasprintf("%s._domainkey.%s %s:%s:%s\n", sel, cfg->domain, cfg->domain, sel, kp);
	free(kp);
	return s;
}

char *opendkim_signingtable(const struct config *cfg)
{
	return opendkim_signingtable_sel(cfg, cfg->dkim_selector);
}

char *opendkim_signingtable_sel(const struct config *cfg, const char *sel)
{
	/* refile: one regular expression per line; *@domain signs every sender of the domain */
	return xasprintf("*@%s %s._domainkey.%s\n", cfg->domain, sel, cfg->domain);
}

char *opendkim_ed25519_conf_path(const struct profile *p)
{
	return xasprintf("%s/ed25519.conf", p->opendkim_dir);
}

/* The second instance's whole configuration: the first one's signing settings, Ed25519. */
char *opendkim_ed25519_conf(const struct profile *p)
{
	char *th = opendkim_trustedhosts_path(p);
	char *s = xasprintf("# %s/ed25519.conf - made by mailstage (dkim_algorithms): the OpenDKIM that adds\n"
			    "# the Ed25519 signature (RFC 8463) beside the RSA one of %s.\n"
			    "Syslog\t\t\tyes\n"
			    "Mode\t\t\ts\n"
			    "SignatureAlgorithm\ted25519-sha256\n"
			    "Socket\t\t\t%s\n"
			    "PidFile\t\t\t/run/opendkim/opendkim-ed25519.pid\n"
			    "UserID\t\t\t%s\n"
			    "UMask\t\t\t007\n"
			    "Canonicalization\trelaxed/relaxed\n"
			    "OversignHeaders\t\tFrom\n"
			    "KeyTable\t\t%s/KeyTable.ed25519\n"
			    "SigningTable\t\trefile:%s/SigningTable.ed25519\n"
			    "ExternalIgnoreList\trefile:%s\n"
			    "InternalHosts\t\trefile:%s\n",
			    p->opendkim_dir, p->opendkim_conf, DKIM_ED25519_SOCKET, p->opendkim_userid, p->opendkim_dir,
			    p->opendkim_dir, th, th);
	free(th);
	return s;
}

char *opendkim_ed25519_unit(const struct profile *p)
{
	return xasprintf("# made by mailstage (dkim_algorithms): the OpenDKIM that signs with Ed25519\n"
			 "[Unit]\n"
			 "Description=OpenDKIM, Ed25519 signatures (%s/ed25519.conf)\n"
			 "After=network-online.target nss-lookup.target\n"
			 "Before=%s.service\n"
			 "\n"
			 "[Service]\n"
			 "Type=forking\n"
			 "PIDFile=/run/opendkim/opendkim-ed25519.pid\n"
			 "ExecStartPre=/bin/mkdir -p /run/opendkim\n"
			 "ExecStartPre=/bin/chown %s /run/opendkim\n"
			 "ExecStart=/usr/sbin/opendkim -x %s/ed25519.conf\n"
			 "ExecReload=/bin/kill -USR1 $MAINPID\n"
			 "Restart=on-failure\n"
			 "\n"
			 "[Install]\n"
			 "WantedBy=multi-user.target\n",
			 p->opendkim_dir, p->svc_postfix, p->opendkim_userid, p->opendkim_dir);
}

char *opendkim_trustedhosts(const struct config *cfg)
{
	struct buf b = { 0 };
	/* hosts whose mail is signed (InternalHosts) and never verified (ExternalIgnoreList) */
	buf_puts(&b, "127.0.0.1\n::1\nlocalhost\n");
	buf_printf(&b, "%s\n", cfg->ipv4);
	if (cfg->ipv6 && *cfg->ipv6)
		buf_printf(&b, "%s\n", cfg->ipv6);
	return buf_steal(&b);
}

int opendkim_conf_edit(const struct config *cfg, const struct profile *p, const char *in, size_t len,
		       char **out, size_t *outlen, char **err)
{
	char *kt = opendkim_keytable_path(p), *st = opendkim_signingtable_path(p);
	char *th = opendkim_trustedhosts_path(p);
	char *v_st = xasprintf("refile:%s", st), *v_th = xasprintf("refile:%s", th);
	const char *set[][2] = {
		{ "Mode", "sv" },
		{ "Socket", DKIM_SOCKET },
		{ "Canonicalization", "relaxed/relaxed" },
		{ "OversignHeaders", "From" },
		{ "UserID", p->opendkim_userid },
		{ "KeyTable", kt },
		{ "SigningTable", v_st },
		{ "ExternalIgnoreList", v_th },
		{ "InternalHosts", v_th },
		{ NULL, NULL },
	};
	/* The single-key form; with KeyTable it is ignored at best, a key that does not exist at worst. */
	static const char *const unset[] = { "Domain", "KeyFile", "Selector", NULL };
	(void)cfg;
	struct dkimconf *dc = NULL;
	size_t i;
	int r;

	*out = NULL;
	*err = NULL;
	r = dkimconf_parse(in, len, &dc, err);
	for (i = 0; r == 0 && set[i][0]; i++) {
		const char *have = dkimconf_get(dc, set[i][0]);
		if (have && dkimconf_count(dc, set[i][0]) == 1 && strcmp(have, set[i][1]) == 0)
			continue;
		r = dkimconf_set(dc, set[i][0], set[i][1]);
		if (r < 0)
			*err = xasprintf(_("cannot set %s %s"), set[i][0], set[i][1]);
	}
	for (i = 0; r == 0 && unset[i]; i++)
		r = dkimconf_unset(dc, unset[i]);
	if (r == 0)
		*out = dkimconf_render(dc, outlen);
	dkimconf_free(dc);
	free(kt);
	free(st);
	free(th);
	free(v_st);
	free(v_th);
	return r;
}

/* Debian's legacy defaults file: SOCKET= there overrides opendkim.conf. */
static int check_defaults(struct ctx *c)
{
	const char *path = c->prof->opendkim_defaults;
	struct kvfile *kv = NULL;
	char *old = NULL, *err = NULL, *want = NULL;
	size_t oldlen = 0, wantlen = 0;
	int r;

	if (!path)
		return 0;
	r = read_target(c, path, &old, &oldlen);
	if (r == -ENOENT)
		return 0;	/* nothing overrides the conf */
	if (r < 0)
		return r;
	r = kvfile_parse(old, oldlen, KV_SHELL, &kv, &err);
	if (r < 0) {
		r = mc_parse_error(c, path, err);
		goto out;
	}
	if (kvfile_count(kv, "SOCKET") == 0)
		goto out;	/* commented out: the conf's Socket is used */
	if ((r = kvfile_set(kv, "SOCKET", DKIM_SOCKET)) < 0) {
		r = stage_fail(c, _("%s: cannot set SOCKET"), path);
		goto out;
	}
	want = kvfile_render(kv, &wantlen);
	r = mc_want_edit(c, path, want, wantlen, "root", "root", 0644);
out:
	kvfile_free(kv);
	free(old);
	free(err);
	free(want);
	return r;
}

/* A drop-in made by Debian's opendkim.service.generate passes -p SOCKET itself. */
static int check_unit_override(struct ctx *c)
{
	const char *path = c->prof->opendkim_unit_override;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (!path)
		return 0;
	r = read_target(c, path, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (memmem(data, len, " -p ", 4) && !memmem(data, len, DKIM_SOCKET, strlen(DKIM_SOCKET)))
		r = stage_fail(c, _("%s starts opendkim with its own socket (-p), so Postfix's milter at %s would "
			       "reach nothing and no mail would be signed: remove that file (it was made by "
			       "opendkim.service.generate from /etc/default/opendkim) and run again"),
			       path, DKIM_SOCKET);
	free(data);
	return r;
}

/* KeyTable and SigningTable (each with suffix: "" or ".ed25519") naming selector sel, root:opendkim 0640. */
static int want_tables(struct ctx *c, const char *suffix, const char *sel)
{
	const struct profile *p = c->prof;
	char *path = xasprintf("%s/KeyTable%s", p->opendkim_dir, suffix);
	char *data = opendkim_keytable_sel(c->cfg, p, sel);
	int r = want_file(c, path, data, strlen(data), "root", p->opendkim_group, 0640);

	free(path);
	free(data);
	if (r < 0)
		return r;
	path = xasprintf("%s/SigningTable%s", p->opendkim_dir, suffix);
	data = opendkim_signingtable_sel(c->cfg, sel);
	r = want_file(c, path, data, strlen(data), "root", p->opendkim_group, 0640);
	free(path);
	free(data);
	return r;
}

static int check(struct ctx *c)
{
	const struct profile *p = c->prof;
	const char *conf = p->opendkim_conf, *grp = p->opendkim_group;
	char *want = NULL, *path = NULL, *data = NULL, *sel = NULL;
	size_t wantlen = 0;
	int r = mc_check_packaged(c, conf, NULL, "opendkim", opendkim_conf_edit, &want, &wantlen);

	if (r != 0) {
		r = r > 0 ? 0 : r;
		goto out;
	}
	if ((r = check_defaults(c)) < 0 || (r = check_unit_override(c)) < 0)
		goto out;
	/* the directory the dkim-keys stage keeps (root:opendkim 0750) */
	if ((r = want_dir_exists(c, p->opendkim_dir, "root", grp, 0750)) < 0)
		goto out;
	/* the rotation's active key (dkim-keys switches it only once DNS serves its record) */
	sel = dkim_active_selector(c->root, c->cfg, p, DKIM_RSA);
	if ((r = want_tables(c, "", sel)) < 0)
		goto out;
	path = opendkim_trustedhosts_path(p);
	data = opendkim_trustedhosts(c->cfg);
	if ((r = want_file(c, path, data, strlen(data), "root", grp, 0640)) < 0 || !config_dkim_ed25519(c->cfg))
		goto out;
	free(path);
	free(data);
	path = opendkim_ed25519_conf_path(p);
	data = opendkim_ed25519_conf(p);
	if ((r = want_file(c, path, data, strlen(data), "root", grp, 0640)) < 0)
		goto out;
	free(path);
	free(data);
	path = data = NULL;
	/* the Ed25519 key rotates on its own: the second instance's tables name its active key */
	free(sel);
	sel = dkim_active_selector(c->root, c->cfg, p, DKIM_ED25519);
	if ((r = want_tables(c, ".ed25519", sel)) < 0)
		goto out;
	path = xstrdup("/etc/systemd/system/" OPENDKIM_ED25519_UNIT);
	data = opendkim_ed25519_unit(p);
	if ((r = want_dir_exists(c, "/etc/systemd", "root", "root", 0755)) < 0 ||
	    (r = want_dir_exists(c, "/etc/systemd/system", "root", "root", 0755)) < 0)
		goto out;
	r = want_file(c, path, data, strlen(data), "root", "root", 0644);
out:
	free(want);
	free(path);
	free(data);
	free(sel);
	return r;
}

const struct stage stage_opendkim = {
	.name = "opendkim",
	.summary = N_("opendkim.conf edited in place (Mode sv, inet:8891@localhost, KeyTable, SigningTable, "
		   "TrustedHosts) and those tables, root:opendkim 0640"),
	.check = check,
};
STAGE_REGISTER(stage_opendkim);
