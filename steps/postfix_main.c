/*
 * postfix_main.c - stage "postfix-main": /etc/postfix/main.cf edited in
 * place, and the DMARC report alias in /etc/aliases.
 *
 * main.cf keeps the package's comments and order: a managed parameter is
 * replaced where it is first defined (continuation lines included), later
 * duplicates are commented out, missing ones are appended (installer/maincf.h).
 * What it corrects in the seed guide:
 *   - the OpenDKIM milter is wired (smtpd_milters, non_smtpd_milters:
 *     without them nothing is ever signed);
 *   - mynetworks is explicit (else a 3.x-less or compatibility-less Postfix
 *     trusts the provider's whole subnet: an open relay for neighbours);
 *   - inet_protocols = ipv4 when no IPv6 address is configured (the SPF
 *     record then lists every address Postfix can send from);
 *   - TLS protocol lists that Postfix 2.10 accepts.  Postfix's smtpd uses
 *     smtpd_tls_mandatory_protocols when TLS is enforced (security level
 *     encrypt, or wrapper mode) and smtpd_tls_protocols otherwise: so port 25
 *     (level may, opportunistic) excludes only SSLv2/SSLv3 (a peer refused
 *     TLS 1.0 there sends in plaintext instead), and submission/smtps, which
 *     master.cf sets to encrypt/wrapper mode, get TLS 1.2 and later.  AUTH
 *     only after STARTTLS, the current *_helo_hostname restriction names;
 *   - SASL with a backend (type cyrus, path smtpd: the sasl stage's file),
 *     but not enabled here: smtpd_sasl_auth_enable = no (the guide's yes
 *     offered AUTH on port 25 too), master.cf enables it on submission and
 *     smtps only;
 *   - VRFY disabled (no address harvesting on port 25);
 *   - a parameter the profile's Postfix does not know is never written;
 *   - the DMARC report address gets an alias when its domain is local
 *     (else reports bounce "User unknown"), and the alias database is
 *     rebuilt through the primitives.
 */
#include "i18n.h"
#include "mailconf.h"
#include "steps.h"
#include "maincf.h"
#include "kvfile.h"
#include "fpcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MILTER "inet:127.0.0.1:" OPENDKIM_PORT
/* A new /etc/aliases: what postfix's postinst writes when there is none (RFC 5321 wants a postmaster) */
#define ALIASES_NEW "# See man 5 aliases for format\npostmaster:    root\n"
/* Every token known to 2.10 (TLSv1.2, TLSv1.3 or >=TLSv1.2 would disable its TLS). */
#define TLS_PROTOCOLS_MAY "!SSLv2, !SSLv3"			/* port 25: opportunistic */
#define TLS_PROTOCOLS_MANDATORY "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"	/* 587, 465: TLS 1.2+ */

/* Every managed parameter with the first Postfix version that knows it. */
static const struct pf_param params[] = {
	/* identity (the guide's) */
	{ "myhostname", 0, 0 },
	{ "mydomain", 0, 0 },
	{ "myorigin", 0, 0 },
	{ "inet_interfaces", 0, 0 },
	{ "inet_protocols", 200, 0 },
	{ "mydestination", 0, 0 },
	{ "mynetworks", 0, 0 },
	/* 3.x only: the 2.x defaults (mynetworks_style = subnet...) are all
	 * overridden explicitly here; level 2 silences the fallback warnings.
	 * Never replaces a level the file already sets (Debian: 3.6). */
	{ "compatibility_level", 300, 1 },
	/* TLS */
	{ "smtpd_tls_cert_file", 200, 0 },
	{ "smtpd_tls_key_file", 200, 0 },
	{ "smtpd_tls_security_level", 203, 0 },
	{ "smtpd_tls_protocols", 206, 0 },
	{ "smtpd_tls_mandatory_protocols", 203, 0 },
	{ "smtpd_tls_mandatory_ciphers", 203, 0 },
	{ "smtpd_tls_exclude_ciphers", 203, 0 },
	{ "smtpd_tls_auth_only", 200, 0 },
	{ "smtp_tls_security_level", 203, 0 },
	{ "smtp_tls_loglevel", 200, 0 },
	/* SASL */
	{ "smtpd_sasl_auth_enable", 0, 0 },
	{ "smtpd_sasl_type", 203, 0 },
	{ "smtpd_sasl_path", 203, 0 },
	{ "smtpd_sasl_security_options", 0, 0 },
	{ "broken_sasl_auth_clients", 0, 0 },
	/* restrictions */
	{ "disable_vrfy_command", 0, 0 },
	{ "smtpd_relay_restrictions", 210, 0 },
	{ "smtpd_recipient_restrictions", 0, 0 },
	/* the guide's limits and queue lifetimes */
	{ "smtpd_client_connection_rate_limit", 202, 0 },
	{ "smtpd_client_message_rate_limit", 202, 0 },
	{ "initial_destination_concurrency", 0, 0 },
	{ "default_destination_rate_delay", 205, 0 },
	{ "default_destination_concurrency_limit", 0, 0 },
	{ "message_size_limit", 0, 0 },
	{ "mailbox_size_limit", 0, 0 },
	{ "maximal_queue_lifetime", 0, 0 },
	{ "bounce_queue_lifetime", 201, 0 },
	/* OpenDKIM */
	{ "smtpd_milters", 203, 0 },
	{ "non_smtpd_milters", 203, 0 },
	{ "milter_default_action", 203, 0 },
	{ NULL, 0, 0 },
};

const struct pf_param *postfix_main_params(void)
{
	return params;
}

static char *restrictions(const struct config *cfg, const struct profile *p)
{
	struct buf b = { 0 };
	size_t i;
	buf_puts(&b, "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, "
		 "reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname, reject_non_fqdn_sender, "
		 "reject_non_fqdn_recipient, reject_unknown_sender_domain, reject_unknown_recipient_domain");
	for (i = 0; i < cfg->rbl.n; i++)
		buf_printf(&b, ", reject_rbl_client %s", cfg->rbl.v[i]);
	(void)p;
	return buf_steal(&b);
}

char *postfix_main_value(const struct config *cfg, const struct profile *p, const char *n)
{
#define IS(x) (strcmp(n, x) == 0)
	if (IS("myhostname"))
		return xstrdup(cfg->hostname);
	if (IS("mydomain"))
		return xstrdup(cfg->domain);
	if (IS("myorigin"))
		return xstrdup("$mydomain");
	if (IS("inet_interfaces"))
		return xstrdup("all");
	if (IS("inet_protocols"))
		return xstrdup(cfg->ipv6 && *cfg->ipv6 ? "all" : "ipv4");
	if (IS("mydestination"))
		return xstrdup("$myhostname, localhost.$mydomain, localhost, $mydomain");
	if (IS("mynetworks"))
		return xstrdup("127.0.0.0/8 [::1]/128");
	if (IS("compatibility_level"))
		return xstrdup("2");
	if (IS("smtpd_tls_cert_file"))
		return tls_cert_path(cfg, p);
	if (IS("smtpd_tls_key_file"))
		return tls_key_path(cfg, p);
	if (IS("smtpd_tls_security_level") || IS("smtp_tls_security_level"))
		return xstrdup("may");
	if (IS("smtpd_tls_protocols"))
		return xstrdup(TLS_PROTOCOLS_MAY);
	if (IS("smtpd_tls_mandatory_protocols"))
		return xstrdup(TLS_PROTOCOLS_MANDATORY);
	if (IS("smtpd_tls_mandatory_ciphers"))
		return xstrdup("high");
	if (IS("smtpd_tls_exclude_ciphers"))
		return xstrdup("aNULL, eNULL, EXPORT, DES, RC4, MD5, PSK, aECDH, EDH-DSS-DES-CBC3-SHA, "
			       "EDH-RSA-DES-CBC3-SHA, KRB5-DES, CBC3-SHA");
	if (IS("smtpd_tls_auth_only") || IS("broken_sasl_auth_clients") || IS("disable_vrfy_command"))
		return xstrdup("yes");
	if (IS("smtpd_sasl_auth_enable"))
		return xstrdup("no");	/* on 25; master.cf turns it on for submission and smtps */
	if (IS("smtp_tls_loglevel"))
		return xstrdup("1");
	if (IS("smtpd_sasl_type"))
		return xstrdup("cyrus");
	if (IS("smtpd_sasl_path"))
		return xstrdup("smtpd");	/* smtpd.conf: the sasl stage's file */
	if (IS("smtpd_sasl_security_options"))
		return xstrdup("noanonymous");
	if (IS("smtpd_relay_restrictions"))
		return xstrdup("permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination");
	if (IS("smtpd_recipient_restrictions"))
		return restrictions(cfg, p);
	if (IS("smtpd_client_connection_rate_limit"))
		return xasprintf("%ld", cfg->smtpd_client_connection_rate_limit);
	if (IS("smtpd_client_message_rate_limit"))
		return xasprintf("%ld", cfg->smtpd_client_message_rate_limit);
	if (IS("initial_destination_concurrency"))
		return xasprintf("%ld", cfg->initial_destination_concurrency);
	if (IS("default_destination_rate_delay"))
		return xstrdup(cfg->default_destination_rate_delay);
	if (IS("default_destination_concurrency_limit"))
		return xasprintf("%ld", cfg->default_destination_concurrency_limit);
	if (IS("message_size_limit"))
		return xasprintf("%ld", cfg->message_size_limit);
	if (IS("mailbox_size_limit"))
		return xasprintf("%ld", cfg->mailbox_size_limit);
	if (IS("maximal_queue_lifetime"))
		return xstrdup(cfg->maximal_queue_lifetime);
	if (IS("bounce_queue_lifetime"))
		return xstrdup(cfg->bounce_queue_lifetime);
	if (IS("smtpd_milters"))	/* RSA, then Ed25519 (a second OpenDKIM, steps/opendkim.c) */
		return config_dkim_ed25519(cfg) ? xstrdup(MILTER ", " OPENDKIM_ED25519_MILTER) : xstrdup(MILTER);
	if (IS("non_smtpd_milters"))
		return xstrdup("$smtpd_milters");	/* signs sendmail(1) mail: cron, PHP mail() */
	if (IS("milter_default_action"))
		return xstrdup("accept");
	return NULL;
#undef IS
}

int postfix_main_edit(const struct config *cfg, const struct profile *p, const char *in, size_t len,
		      char **out, size_t *outlen, char **err)
{
	struct maincf *mc = NULL;
	size_t i;
	int r;

	*out = NULL;
	*err = NULL;
	r = maincf_parse(in, len, &mc, err);
	if (r < 0)
		return r;
	for (i = 0; params[i].name && r == 0; i++) {
		const char *have = maincf_get(mc, params[i].name);
		char *want;
		if (params[i].since > p->postfix_version)
			continue;	/* this Postfix does not know it: never written */
		if (params[i].if_absent && have)
			continue;
		want = postfix_main_value(cfg, p, params[i].name);
		if (!have || maincf_count(mc, params[i].name) != 1 || !mc_same_list(have, want)) {
			r = maincf_set(mc, params[i].name, want);
			if (r < 0)
				*err = xasprintf(_("cannot set %s = %s"), params[i].name, want);
		}
		free(want);
	}
	if (r == 0)
		*out = maincf_render(mc, outlen);
	maincf_free(mc);
	return r;
}

/* ---- the DMARC report alias ---- */

int postfix_local_domain(const struct config *cfg, const char *d)
{
	char *lh = xasprintf("localhost.%s", cfg->domain);
	int local = strcasecmp(d, cfg->domain) == 0 || strcasecmp(d, cfg->hostname) == 0 ||
		    strcasecmp(d, lh) == 0 || strcasecmp(d, "localhost") == 0;
	free(lh);
	return local;
}

size_t postfix_dmarc_locals(const struct config *cfg, char *out[2])
{
	const char *addr[2] = { cfg->dmarc_rua, cfg->dmarc_ruf };
	size_t i, n = 0;

	for (i = 0; i < 2; i++) {
		const char *at = addr[i] ? strrchr(addr[i], '@') : NULL;
		char *lp;
		if (!at || at == addr[i] || !postfix_local_domain(cfg, at + 1))
			continue;
		lp = xstrndup(addr[i], (size_t)(at - addr[i]));
		if (n == 1 && strcasecmp(out[0], lp) == 0) {
			free(lp);
			continue;
		}
		out[n++] = lp;
	}
	return n;
}

int postfix_aliases_edit(const struct config *cfg, const char *in, size_t len, char **out, size_t *outlen,
			 char **err)
{
	struct kvfile *kv = NULL;
	char *lp[2];
	size_t n = postfix_dmarc_locals(cfg, lp), i;
	int r;

	*out = NULL;
	r = kvfile_parse(in, len, KV_COLON, &kv, err);
	for (i = 0; i < n; i++) {
		if (r == 0 && kvfile_set(kv, lp[i], cfg->dmarc_alias_to) < 0) {
			*err = xasprintf(_("cannot write the alias %s: %s"), lp[i], cfg->dmarc_alias_to);
			r = -EINVAL;
		}
		free(lp[i]);
	}
	if (r == 0)
		*out = kvfile_render(kv, outlen);
	kvfile_free(kv);
	return r;
}

/* "hash:/etc/aliases" → type "hash"; the database file it makes. NULL: not a file-backed type. */
static char *db_file(const char *type, const char *path)
{
	if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
		return xasprintf("%s.db", path);
	if (strcmp(type, "cdb") == 0)
		return xasprintf("%s.cdb", path);
	if (strcmp(type, "lmdb") == 0)
		return xasprintf("%s.lmdb", path);
	return NULL;
}

/*
 * alias_database as main.cf's text sets it: "=VALUE", or "-" when it does
 * not (Postfix's default applies); NULL when the text does not parse.  A
 * function of the bytes: remembered in the fingerprints, so an unchanged
 * main.cf is not parsed again only for this (a record of another shape is
 * doubt: the text is parsed).
 */
static char *alias_database_setting(const char *maincf_text, size_t len)
{
	static const char kind[] = "maincf:alias_database";
	struct maincf *mc = NULL;
	char *err = NULL, *set = fp_derived_get(kind, maincf_text, len);
	const char *v;

	if (set && (*set == '=' || strcmp(set, "-") == 0))
		return set;
	free(set);
	if (maincf_parse(maincf_text, len, &mc, &err) < 0) {
		free(err);
		return NULL;
	}
	v = maincf_get(mc, "alias_database");
	set = v ? xconcat("=", v) : xstrdup("-");
	fp_derived_put(kind, maincf_text, len, set);
	maincf_free(mc);
	return set;
}

/* The alias_database entry for the profile's aliases file: its type, or NULL. */
static char *alias_db_type(const char *maincf_text, size_t len, const char *aliases)
{
	char *set = alias_database_setting(maincf_text, len), *type = NULL;
	const char *w;
	size_t wl, al = strlen(aliases);

	if (!set)
		return NULL;
	/* Postfix's default: $default_database_type:/etc/aliases, hash on these platforms */
	for (w = *set == '=' ? set + 1 : "hash:/etc/aliases"; *w; w += wl) {
		const char *colon;
		w += strspn(w, " \t,");
		wl = strcspn(w, " \t,");
		colon = memchr(w, ':', wl);
		if (wl && colon && (size_t)(w + wl - colon - 1) == al && memcmp(colon + 1, aliases, al) == 0) {
			type = xstrndup(w, (size_t)(colon - w));
			break;
		}
	}
	free(set);
	return type;
}

/* mtime of a target file, or -1. */
static long long target_mtime(struct ctx *c, const char *path)
{
	char *host = NULL, *why = NULL;
	struct stat sb;
	long long t = -1;
	if (root_path(c->root, path, &host, &why) == 0 && stat(host, &sb) == 0)
		t = (long long)sb.st_mtime;
	free(host);
	free(why);
	return t;
}

/*
 * The alias for DMARC reports, and the database rebuilt when the file
 * changes or the database is older than it (what Postfix warns about).
 * newaliases is postalias over alias_database: mailstage runs postalias on
 * the root's own files (-c ROOT/etc/postfix, TYPE:ROOT/etc/aliases), so a
 * --root run never touches the host's aliases.
 */
static int check_aliases(struct ctx *c, const char *maincf_text, size_t maincf_len)
{
	const char *ap = c->prof->aliases;
	char *old = NULL, *want = NULL, *err = NULL, *type = NULL, *db = NULL, *lp[2];
	char *hconf = NULL, *halias = NULL, *why = NULL, *map = NULL;
	size_t oldlen = 0, wantlen = 0, n = postfix_dmarc_locals(c->cfg, lp), i;
	int r = 0, changed;

	for (i = 0; i < n; i++)
		free(lp[i]);
	if (n == 0)
		return 0;	/* no report address delivered here: nothing to alias */
	r = read_target(c, ap, &old, &oldlen);
	if (r < 0 && r != -ENOENT)
		goto out;
	/* Absent (removed by hand, or not made yet): start as postfix's postinst does when there is none. */
	r = postfix_aliases_edit(c->cfg, old ? old : ALIASES_NEW, old ? oldlen : strlen(ALIASES_NEW), &want,
				 &wantlen, &err);
	if (r < 0) {
		r = mc_parse_error(c, ap, err);
		goto out;
	}
	changed = !old || wantlen != oldlen || memcmp(want, old, oldlen) != 0;
	if ((r = mc_want_edit(c, ap, want, wantlen, "root", "root", 0644)) < 0)
		goto out;
	type = alias_db_type(maincf_text, maincf_len, ap);
	db = type ? db_file(type, ap) : NULL;
	if (!db) {
		stage_note(c, _("alias_database in main.cf does not name %s as a hash, btree, cdb or lmdb file: "
			   "run newaliases yourself after the alias is added"), ap);
		goto out;
	}
	if (!changed && target_mtime(c, db) >= target_mtime(c, ap))
		goto out;	/* database present and not older than the file */
	if (!mc_have_program("postalias")) {
		stage_note(c, _("postalias (Postfix) is not installed on this host: %s is not rebuilt; run "
			   "newaliases on the target after installing Postfix"), db);
		goto out;
	}
	if ((r = root_path(c->root, c->prof->postfix_dir, &hconf, &why)) < 0 ||
	    (r = root_path(c->root, ap, &halias, &why)) < 0) {
		r = stage_fail(c, _("refusing %s: %s"), ap, why);
		goto out;
	}
	map = xasprintf("%s:%s", type, halias);
	{
		char *argv[] = { "postalias", "-c", hconf, map, NULL };
		char *touches[] = { db, NULL };
		r = want_command(c, _("rebuild the alias database, as newaliases does"), argv, touches, 60000);
	}
out:
	free(old);
	free(want);
	free(err);
	free(type);
	free(db);
	free(hconf);
	free(halias);
	free(why);
	free(map);
	return r;
}

static int check(struct ctx *c)
{
	char *path = xasprintf("%s/main.cf", c->prof->postfix_dir), *want = NULL;
	size_t wantlen = 0;
	int r = mc_check_packaged(c, path, c->prof->postfix_main_template, "postfix", postfix_main_edit, &want,
				  &wantlen);

	if (r == 0)
		r = check_aliases(c, want, wantlen);
	free(path);
	free(want);
	return r > 0 ? 0 : r;
}

const struct stage stage_postfix_main = {
	.name = "postfix-main",
	.summary = N_("main.cf edited in place: identity, explicit mynetworks, TLS, SASL, restrictions, limits, "
		   "OpenDKIM milter; DMARC report alias"),
	.check = check,
};
STAGE_REGISTER(stage_postfix_main);
