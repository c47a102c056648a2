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
 *     SASL on, AUTH only over TLS, and only authenticated clients accepted.
 *     TLS being enforced there (encrypt, wrapper mode), Postfix applies
 *     main.cf's smtpd_tls_mandatory_protocols (TLS 1.2+);
 *   - SASL is enabled only on those two: main.cf says
 *     smtpd_sasl_auth_enable = no, and an `-o smtpd_sasl_auth_enable=yes`
 *     found on the port-25 smtpd is turned to no.
 *
 * Listeners are found by their endpoint, not by the name "smtp": every inet
 * entry on port 25 (`smtp`, `25`, `203.0.113.10:smtp`, `[2001:db8::1]:25`),
 * 587 (`submission`, `587`, ADDR:...) and 465 (`smtps`, `submissions`,
 * `465`, ADDR:...).  Each of them is edited; a wildcard entry is added only
 * for a port that has no listener at all (a wildcard beside an address-bound
 * listener makes master fail with EADDRINUSE).  Two entries for one endpoint
 * (duplicate names, or `smtp` and `25`) keep the first.
 *
 * postscreen(8) on port 25 (`smtp inet n - y - 1 postscreen`): postscreen
 * only screens and hands each client to the `pass` service named by its
 * smtpd_service_name (default smtpd), so the limits and the SASL correction
 * go on `smtpd pass` (POSTSCREEN_README: the smtpd -o options move there);
 * the managed limits found on the postscreen entry (an earlier mailstage
 * wrote them there) are removed, postscreen's own options are kept, and a
 * missing pass service is added.  New submission/smtps entries take their
 * unpriv, chroot and maxproc from the port-25 smtpd (the listener itself, or
 * the pass service behind postscreen), else Postfix's stock `n - CHROOT - -`
 * with the platform's chroot; never postscreen's maxproc 1.  A listener on
 * these ports that runs anything else (postscreen on 587...) is an error.
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

/* The managed port-25 limits (their values come from mailstage.conf). */
static const char *const limit_names[] = {
	"smtpd_client_connection_count_limit",
	"smtpd_client_connection_rate_limit",
	"smtpd_client_message_rate_limit",
	"smtpd_error_sleep_time",
};

enum { PORT_SMTP, PORT_SUBMISSION, PORT_SMTPS, NPORTS };

/* The canonical service name of each port, then the names and the number
 * an inet entry may use for it: the names Postfix's packaged master.cf
 * files use (465 is "smtps" in EL7's and up to Postfix 3.4, "submissions"
 * in Debian 12's).  Other /etc/services aliases (Debian's "mail" for 25,
 * "ssmtp" for 465) are not recognised. */
static const char *const port_words[NPORTS][4] = {
	{ "smtp", "25", NULL },
	{ "submission", "587", NULL },
	{ "smtps", "submissions", "465", NULL },
};
static const char *const port_numbers[NPORTS] = { "25", "587", "465" };

/* One inet entry listening on a managed port. */
struct listener {
	char *name;		/* the entry's service field, e.g. "203.0.113.10:smtp" */
	char *host;		/* "" = every address */
	char *command;
	int port;
};

struct listeners {
	struct listener *v;
	size_t n;
};

static void listeners_free(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++) {
		free(ls->v[i].name);
		free(ls->v[i].host);
		free(ls->v[i].command);
	}
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

/* Which managed port an inet service name is on (-1: none); *host gets its address. */
static int port_of(const char *service, char **host)
{
	char *port = NULL;
	int k = -1, i, j;

	*host = NULL;
	if (mastercf_inet_endpoint(service, host, &port) < 0)
		goto out;
	for (i = 0; i < NPORTS && k < 0; i++)
		for (j = 0; port_words[i][j]; j++)
			if (strcasecmp(port, port_words[i][j]) == 0)
				k = i;
out:
	if (k < 0) {
		free(*host);
		*host = NULL;
	}
	free(port);
	return k;
}

/* The inet entries on the managed ports, in file order. */
static void find_listeners(const struct mastercf *mf, struct listeners *ls)
{
	struct mastercf_service s;
	size_t i;

	ls->v = NULL;
	ls->n = 0;
	for (i = 0; mastercf_service_at(mf, i, &s) == 0; i++) {
		char *host;
		int port;

		if (strcmp(s.type, "inet") != 0 || (port = port_of(s.name, &host)) < 0)
			continue;
		ls->v = xrealloc(ls->v, (ls->n + 1) * sizeof(*ls->v));
		ls->v[ls->n].name = xstrdup(s.name);
		ls->v[ls->n].host = host;
		ls->v[ls->n].command = xstrdup(s.field[7]);
		ls->v[ls->n].port = port;
		ls->n++;
	}
}

/*
 * One listener per endpoint.  Postfix uses the last of two entries with the
 * same service name; two names for one endpoint ("smtp" and "25",
 * "smtps" and "submissions", "[::1]:smtp" and "[::1]:25") make master fail
 * to bind the second.  The first entry of an endpoint is kept (for the
 * guide's appended smtp: the package's, with the platform's chroot), the
 * later ones are commented out.
 */
static int one_per_endpoint(struct mastercf *mf)
{
	struct listeners ls = { 0 };
	size_t i, j;
	int r = 0, again = 1;

	while (again && r == 0) {
		again = 0;
		listeners_free(&ls);
		find_listeners(mf, &ls);
		for (i = 0; i < ls.n && !again; i++) {
			if (mastercf_count(mf, ls.v[i].name, "inet") > 1) {
				r = mastercf_dedupe(mf, ls.v[i].name, "inet", 0);
				again = 1;
				break;
			}
			for (j = i + 1; j < ls.n; j++) {
				if (ls.v[j].port != ls.v[i].port || strcasecmp(ls.v[j].host, ls.v[i].host) != 0)
					continue;
				r = mastercf_disable(mf, ls.v[j].name, "inet");
				again = 1;
				break;
			}
		}
	}
	listeners_free(&ls);
	return r;
}

/* Set name=value on the effective (service, type) entry unless it already says so. */
static int ensure_option(struct mastercf *mf, const char *svc, const char *type, const char *opt, char **err)
{
	const char *eq = strchr(opt, '='), *have = NULL;
	char *name = xstrndup(opt, (size_t)(eq - opt));
	int r = mastercf_get_option(mf, svc, type, name, &have);

	if (r == 0 && (!have || strcmp(have, eq + 1) != 0))
		r = mastercf_set_option(mf, svc, type, name, eq + 1);
	if (r < 0)
		*err = xasprintf(_("cannot set -o %s on the `%s %s` service: %s"), opt, svc, type,
				 r == -ENOTSUP ? _("its options are not plain `-o name=value` lines (edit it by hand)")
					       : strerror(-r));
	free(name);
	return r;
}

static int not_smtpd(const struct listener *l, char **err)
{
	if (l->port == PORT_SMTP)
		*err = xasprintf(_("the `%s inet` service in master.cf (port %s) runs %s, not smtpd or postscreen: "
				   "mailstage cannot put its smtpd options there; make it an smtpd or postscreen "
				   "service, or remove it"), l->name, port_numbers[l->port], l->command);
	else
		*err = xasprintf(_("the `%s inet` service in master.cf (port %s) runs %s, not smtpd: mailstage "
				   "cannot put its smtpd options there; make it an smtpd service, or remove it"),
				 l->name, port_numbers[l->port], l->command);
	return -EINVAL;
}

/* An smtpd entry that receives port 25's connections: (name, type). */
struct target {
	char *name;
	const char *type;	/* "inet" (smtpd listens itself) or "pass" (behind postscreen) */
};

static void targets_free(struct target *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

/*
 * Port 25.  A listener that runs smtpd gets the limits itself.  One that
 * runs postscreen(8) does not speak SMTP beyond its tests: it hands the
 * connection to the `pass` service named by its smtpd_service_name (default
 * "smtpd"), and that smtpd gets the limits (POSTSCREEN_README: the -o
 * options of the smtpd service go to "smtpd pass"); the managed limits are
 * removed from the postscreen entry, where an earlier mailstage put them
 * (postscreen takes its own postscreen_* parameters).  A missing pass
 * service is added (without it postscreen cannot hand off any client).
 */
static int port25_targets(struct mastercf *mf, const struct profile *p, struct target **out, size_t *nout,
			  char **err)
{
	struct listeners ls = { 0 };
	struct target *t = NULL;
	size_t i, j, n = 0, k;
	int r = 0;

	find_listeners(mf, &ls);
	for (i = 0; i < ls.n && r == 0; i++) {
		const struct listener *l = &ls.v[i];
		const char *svc = NULL;
		char *name;
		const char *type;

		if (l->port != PORT_SMTP)
			continue;
		if (strcmp(l->command, "smtpd") == 0) {
			name = xstrdup(l->name);
			type = "inet";
		} else if (strcmp(l->command, "postscreen") == 0) {
			r = mastercf_get_option(mf, l->name, "inet", "smtpd_service_name", &svc);
			name = xstrdup(r == 0 && svc && *svc ? svc : "smtpd");
			type = "pass";
			for (k = 0; k < ARRAY_SIZE(limit_names) && r == 0; k++)
				r = mastercf_unset_option(mf, l->name, "inet", limit_names[k]);
			if (r < 0) {
				*err = xasprintf(_("cannot repair the `%s inet` service: %s"), l->name,
						 r == -ENOTSUP ? _("its options are not plain `-o name=value` lines (edit it by hand)")
							       : strerror(-r));
				free(name);
				break;
			}
			if (mastercf_count(mf, name, "pass") == 0) {
				struct mastercf_new_service ns;

				memset(&ns, 0, sizeof(ns));
				ns.name = name;
				ns.type = "pass";
				ns.fields[2] = p->postfix_chroot ? "y" : "n";
				ns.command = "smtpd";
				r = mastercf_add_service(mf, &ns);
				if (r < 0) {
					*err = xasprintf(_("cannot add the `%s pass` service: %s"), name, strerror(-r));
					free(name);
					break;
				}
			}
		} else {
			r = not_smtpd(l, err);
			break;
		}
		for (j = 0; j < n; j++)
			if (strcmp(t[j].name, name) == 0 && strcmp(t[j].type, type) == 0)
				break;
		if (j < n) {
			free(name);
			continue;
		}
		t = xrealloc(t, (n + 1) * sizeof(*t));
		t[n].name = name;
		t[n].type = type;
		n++;
	}
	listeners_free(&ls);
	if (r < 0) {
		targets_free(t, n);
		t = NULL;
		n = 0;
	}
	*out = t;
	*nout = n;
	return r;
}

/*
 * The fields of a new submission/smtps entry: those of a port-25 smtpd
 * (inet first, else the pass service behind postscreen), never postscreen's
 * own (maxproc 1); else the stock `n - CHROOT - -`.  An inet service is
 * never private, and smtpd has no wakeup.
 */
static void client_fields(const struct mastercf *mf, const struct profile *p, const struct target *t, size_t n,
			  char *fields[5])
{
	struct mastercf_service s;
	size_t i, pick = n;
	int found;

	for (i = 0; i < n && pick == n; i++)
		if (strcmp(t[i].type, "inet") == 0)
			pick = i;
	if (pick == n && n > 0)
		pick = 0;
	found = pick < n && mastercf_find(mf, t[pick].name, t[pick].type, &s) == 0;
	fields[0] = xstrdup("n");
	fields[1] = xstrdup(found ? s.field[MASTERCF_UNPRIV] : "-");
	fields[2] = xstrdup(p->sasl_unchrooted ? "n" : found ? s.field[MASTERCF_CHROOT] : p->postfix_chroot ? "y" : "n");
	fields[3] = xstrdup("-");
	fields[4] = xstrdup(found ? s.field[MASTERCF_MAXPROC] : "-");
}

/*
 * submission (587) and smtps (465): every listener on the port (bound to an
 * address or not) gets the options; only when there is none is a wildcard
 * entry added (a second one on a bound port would not start).
 */
static int ensure_client_service(struct mastercf *mf, const struct profile *p, int port, char *const fields[5],
				 const char *const *extra, char **err)
{
	const char *svc = port_words[port][0], *opts[16];
	char *syslog = xasprintf("syslog_name=postfix/%s", svc);
	struct listeners ls = { 0 };
	size_t n = 0, i, j, found = 0;
	int r = 0;

	opts[n++] = syslog;
	for (i = 0; extra && extra[i]; i++)
		opts[n++] = extra[i];
	for (i = 0; client_opts[i]; i++)
		opts[n++] = client_opts[i];
	opts[n] = NULL;
	find_listeners(mf, &ls);
	for (i = 0; i < ls.n && r == 0; i++) {
		if (ls.v[i].port != port)
			continue;
		found++;
		if (strcmp(ls.v[i].command, "smtpd") != 0) {
			r = not_smtpd(&ls.v[i], err);
			break;
		}
		for (j = 0; opts[j] && r == 0; j++)
			r = ensure_option(mf, ls.v[i].name, "inet", opts[j], err);
		/* the SASL socket outside the chroot (the profile's SELinux variant): so is this smtpd */
		if (r == 0 && p->sasl_unchrooted && (r = mastercf_set_field(mf, ls.v[i].name, "inet", MASTERCF_CHROOT, "n")) < 0)
			*err = xasprintf(_("cannot repair the `%s inet` service: %s"), ls.v[i].name, strerror(-r));
	}
	if (r == 0 && !found) {
		struct mastercf_new_service ns;

		memset(&ns, 0, sizeof(ns));
		ns.name = svc;
		ns.type = "inet";
		for (i = 0; i < 5; i++)
			ns.fields[i] = fields[i];
		ns.command = "smtpd";
		ns.options = opts;
		r = mastercf_add_service(mf, &ns);
		if (r < 0)
			*err = xasprintf(_("cannot add the `%s inet` service: %s"), svc, strerror(-r));
	}
	listeners_free(&ls);
	free(syslog);
	return r;
}

int postfix_master_edit(const struct config *cfg, const struct profile *p, const char *in, size_t len,
			char **out, size_t *outlen, char **err)
{
	static const char *const smtps_extra[] = { "smtpd_tls_wrappermode=yes", NULL };
	struct mastercf *mf = NULL;
	struct listeners ls = { 0 };
	struct target *t = NULL;
	char *fields[5] = { NULL, NULL, NULL, NULL, NULL };
	char *lim[4] = { NULL, NULL, NULL, NULL };
	size_t i, k, nt = 0, n25 = 0;
	int r;

	*out = NULL;
	*err = NULL;
	r = mastercf_parse(in, len, &mf, err);
	if (r < 0)
		return r;
	r = one_per_endpoint(mf);
	if (r < 0) {
		*err = xasprintf(_("cannot repair the `smtp inet` service: %s"), strerror(-r));
		goto out;
	}
	find_listeners(mf, &ls);
	for (i = 0; i < ls.n; i++)
		n25 += ls.v[i].port == PORT_SMTP;
	if (n25 == 0) {
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
		if (r < 0) {
			*err = xasprintf(_("cannot repair the `smtp inet` service: %s"), strerror(-r));
			goto out;
		}
	}
	r = port25_targets(mf, p, &t, &nt, err);
	if (r < 0)
		goto out;
	lim[0] = xasprintf("%s=%ld", limit_names[0], cfg->smtpd_client_connection_count_limit);
	lim[1] = xasprintf("%s=%ld", limit_names[1], cfg->smtpd_client_connection_rate_limit);
	lim[2] = xasprintf("%s=%ld", limit_names[2], cfg->smtpd_client_message_rate_limit);
	lim[3] = xasprintf("%s=%s", limit_names[3], cfg->smtpd_error_sleep_time);
	for (k = 0; k < nt && r == 0; k++) {
		const char *sasl = NULL;

		for (i = 0; i < 4 && r == 0; i++)
			r = ensure_option(mf, t[k].name, t[k].type, lim[i], err);
		if (r < 0)
			break;
		/* No AUTH on port 25: only an explicit override there is corrected. */
		r = mastercf_get_option(mf, t[k].name, t[k].type, "smtpd_sasl_auth_enable", &sasl);
		if (r == 0 && sasl && strcasecmp(sasl, "no") != 0)
			r = ensure_option(mf, t[k].name, t[k].type, "smtpd_sasl_auth_enable=no", err);
		else if (r < 0)
			*err = xasprintf(_("cannot repair the `smtp inet` service: %s"), strerror(-r));
	}
	if (r < 0)
		goto out;
	client_fields(mf, p, t, nt, fields);
	r = ensure_client_service(mf, p, PORT_SUBMISSION, fields, NULL, err);
	if (r == 0)
		r = ensure_client_service(mf, p, PORT_SMTPS, fields, smtps_extra, err);
	if (r == 0)
		*out = mastercf_render(mf, outlen);
out:
	for (i = 0; i < 4; i++)
		free(lim[i]);
	for (i = 0; i < 5; i++)
		free(fields[i]);
	targets_free(t, nt);
	listeners_free(&ls);
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
	.summary = N_("master.cf edited in place: the guide's limits on port 25's smtpd (behind postscreen too), "
		   "submission (587) and smtps (465) with TLS required and SASL"),
	.check = check,
};
STAGE_REGISTER(stage_postfix_master);
