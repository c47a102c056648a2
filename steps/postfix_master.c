/*
 * postfix_master.c - stage "postfix-master": /etc/postfix/master.cf edited
 * in place (Postfix 2.10's postconf cannot edit master.cf: no -M/-P/-F edits).
 *
 * What it corrects in the seed guide:
 *   - the guide appends a second `smtp inet` entry; Postfix warns "duplicate
 *     master.cf entry", uses the last one, so chroot is switched off (Debian)
 *     and its -o values override main.cf.  mailstage keeps the FIRST entry
 *     (the package's, with the platform's chroot) and comments the later ones
 *     out, then puts the guide's limits as -o options on it (from
 *     mailstage.conf, so they agree with main.cf);
 *   - there is no submission service: `submission inet` (587, STARTTLS
 *     required) and `smtps inet` (465, TLS wrapper mode) are enabled with
 *     SASL on, AUTH only over TLS, and only authenticated clients accepted;
 *     their fields (chroot...) are copied from the smtp inet entry, so they
 *     match the platform.  TLS being enforced there (encrypt, wrapper mode),
 *     Postfix applies main.cf's smtpd_tls_mandatory_protocols (TLS 1.2+);
 *   - SASL is enabled only on those two: main.cf says
 *     smtpd_sasl_auth_enable = no, and an `-o smtpd_sasl_auth_enable=yes`
 *     found on the smtp inet entry (port 25) is turned to no.
 * Options are written as `-o name=value` (no `{ }`: Postfix 2.10).  Comments
 * and the other services are left as they are.
 */
#include "i18n.h"
#include "mailconf.h"
#include "steps.h"
#include "mastercf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* submission and smtps: the options after syslog_name (smtps adds the wrapper mode). */
static const char *const client_opts[] = {
	"smtpd_tls_security_level=encrypt",
	"smtpd_sasl_auth_enable=yes",
	"smtpd_tls_auth_only=yes",
	"smtpd_client_restrictions=permit_sasl_authenticated,reject",
	"smtpd_relay_restrictions=permit_sasl_authenticated,reject",
	"milter_macro_daemon_name=ORIGINATING",
	NULL,
};

/* Set name=value on the effective (service, type) entry unless it already says so. */
static int ensure_option(struct mastercf *mf, const char *svc, const char *opt, char **err)
{
	const char *eq = strchr(opt, '='), *have = NULL;
	char *name = xstrndup(opt, (size_t)(eq - opt));
	int r = mastercf_get_option(mf, svc, "inet", name, &have);

	if (r == 0 && (!have || strcmp(have, eq + 1) != 0))
		r = mastercf_set_option(mf, svc, "inet", name, eq + 1);
	if (r < 0)
		*err = xasprintf(_("cannot set -o %s on the `%s inet` service: %s"), opt, svc,
				 r == -ENOTSUP ? _("its options are not plain `-o name=value` lines (edit it by hand)")
					       : strerror(-r));
	free(name);
	return r;
}

static int ensure_client_service(struct mastercf *mf, const char *svc, const char *const *extra, char **err)
{
	const char *opts[16];
	char *syslog = xasprintf("syslog_name=postfix/%s", svc);
	size_t n = 0, i;
	int r = 0;

	opts[n++] = syslog;
	for (i = 0; extra && extra[i]; i++)
		opts[n++] = extra[i];
	for (i = 0; client_opts[i]; i++)
		opts[n++] = client_opts[i];
	opts[n] = NULL;
	if (mastercf_count(mf, svc, "inet") == 0) {
		struct mastercf_new_service ns;
		memset(&ns, 0, sizeof(ns));
		ns.name = svc;
		ns.type = "inet";
		ns.template_name = "smtp";
		ns.template_type = "inet";
		ns.command = "smtpd";
		ns.options = opts;
		r = mastercf_add_service(mf, &ns);
		if (r < 0)
			*err = xasprintf(_("cannot add the `%s inet` service: %s"), svc, strerror(-r));
	} else {
		if (mastercf_count(mf, svc, "inet") > 1)
			r = mastercf_dedupe(mf, svc, "inet", 0);
		for (i = 0; opts[i] && r == 0; i++)
			r = ensure_option(mf, svc, opts[i], err);
	}
	free(syslog);
	return r;
}

int postfix_master_edit(const struct config *cfg, const struct profile *p, const char *in, size_t len,
			char **out, size_t *outlen, char **err)
{
	static const char *const smtps_extra[] = { "smtpd_tls_wrappermode=yes", NULL };
	struct mastercf *mf = NULL;
	char *lim[4] = { NULL, NULL, NULL, NULL };
	size_t i;
	int r;

	*out = NULL;
	*err = NULL;
	r = mastercf_parse(in, len, &mf, err);
	if (r < 0)
		return r;
	if (mastercf_count(mf, "smtp", "inet") == 0) {
		/* No port 25 listener at all: restore the packaged entry. */
		struct mastercf_new_service ns;
		memset(&ns, 0, sizeof(ns));
		ns.name = "smtp";
		ns.type = "inet";
		ns.fields[0] = "n";
		ns.fields[1] = "-";
		ns.fields[2] = p->postfix_chroot ? "y" : "n";
		ns.command = "smtpd";
		r = mastercf_add_service(mf, &ns);
	} else if (mastercf_count(mf, "smtp", "inet") > 1) {
		/* The guide's appended duplicate: keep the package's entry. */
		r = mastercf_dedupe(mf, "smtp", "inet", 0);
	}
	if (r < 0) {
		*err = xasprintf(_("cannot repair the `smtp inet` service: %s"), strerror(-r));
		goto out;
	}
	lim[0] = xasprintf("smtpd_client_connection_count_limit=%ld", cfg->smtpd_client_connection_count_limit);
	lim[1] = xasprintf("smtpd_client_connection_rate_limit=%ld", cfg->smtpd_client_connection_rate_limit);
	lim[2] = xasprintf("smtpd_client_message_rate_limit=%ld", cfg->smtpd_client_message_rate_limit);
	lim[3] = xasprintf("smtpd_error_sleep_time=%s", cfg->smtpd_error_sleep_time);
	for (i = 0; i < 4 && r == 0; i++)
		r = ensure_option(mf, "smtp", lim[i], err);
	if (r == 0) {
		/* No AUTH on port 25: only an explicit override there is corrected. */
		const char *sasl = NULL;
		r = mastercf_get_option(mf, "smtp", "inet", "smtpd_sasl_auth_enable", &sasl);
		if (r == 0 && sasl && strcasecmp(sasl, "no") != 0)
			r = ensure_option(mf, "smtp", "smtpd_sasl_auth_enable=no", err);
		else if (r < 0)
			*err = xasprintf(_("cannot repair the `smtp inet` service: %s"), strerror(-r));
	}
	if (r == 0)
		r = ensure_client_service(mf, "submission", NULL, err);
	if (r == 0)
		r = ensure_client_service(mf, "smtps", smtps_extra, err);
	if (r == 0)
		*out = mastercf_render(mf, outlen);
out:
	for (i = 0; i < 4; i++)
		free(lim[i]);
	mastercf_free(mf);
	return r;
}

static int check(struct ctx *c)
{
	char *path = xasprintf("%s/master.cf", c->prof->postfix_dir), *want = NULL;
	size_t wantlen = 0;
	int r = mc_check_packaged(c, path, NULL, "postfix", postfix_master_edit, &want, &wantlen);

	free(path);
	free(want);
	return r > 0 ? 0 : r;
}

const struct stage stage_postfix_master = {
	.name = "postfix-master",
	.summary = N_("master.cf edited in place: the guide's limits on the one smtp service, submission (587) "
		   "and smtps (465) with TLS required and SASL"),
	.check = check,
};
STAGE_REGISTER(stage_postfix_master);
