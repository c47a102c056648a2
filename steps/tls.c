/*
 * tls.c - stage "tls": the certificate and key Postfix presents.
 *
 * Check: the configured pair (tls_cert/tls_key) must exist, match and name
 * the hostname; otherwise mailstage keeps a self-signed RSA-2048/SHA-256
 * certificate for the hostname (subjectAltName included), its key 0600 root
 * from the first byte.  A valid key is kept; the certificate is remade
 * when it no longer matches the key or hostname or expires within 30 days.
 *
 * With tls_acme = yes the certificate comes from an ACME CA instead
 * (installer/acme.c): an ES256 account key is kept 0600 in
 * /var/lib/mailstage/acme, and when the certificate is missing, self-issued,
 * not for the key or hostname, or has fewer than 30 days left, apply makes
 * a new RSA-2048 key and obtains its certificate (both written through the
 * journal: a failed apply puts the previous pair back byte for byte).  A
 * failed renewal keeps the old pair and warns, and fails the run only within
 * 7 days of expiry.  Test builds take "now" from MAILSTAGE_TEST_NOW.
 */
#include "i18n.h"
#include "steps.h"
#include "crypto.h"
#include "fpcache.h"
#include "acme.h"
#include "root.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RENEW_DAYS 30
#define CERT_DAYS 3650
#define URGENT_DAYS 7
#define ACME_DIR "/var/lib/mailstage/acme"
#define ACME_ACCOUNT_KEY ACME_DIR "/account.key"
#define ACME_TIMEOUT_S 30
#define ACME_MAX_WAIT_S 120

static time_t tls_now(void)
{
#ifdef MAILSTAGE_TEST_HOOKS
	const char *t = getenv("MAILSTAGE_TEST_NOW");
	if (t && *t)
		return (time_t)atoll(t);
#endif
	return time(NULL);
}


char *tls_cert_path(const struct config *cfg, const struct profile *p)
{
	return cfg->tls_cert ? xstrdup(cfg->tls_cert) : xasprintf("%s/%s.crt", p->tls_cert_dir, cfg->hostname);
}

char *tls_key_path(const struct config *cfg, const struct profile *p)
{
	return cfg->tls_key ? xstrdup(cfg->tls_key) : xasprintf("%s/%s.key", p->tls_key_dir, cfg->hostname);
}

static int produce_key(struct ctx *c, struct change *ch)
{
	(void)c;
	return crypto_rsa_generate(2048, &ch->data, &ch->len);
}

static int produce_cert(struct ctx *c, struct change *ch)
{
	char *kp = tls_key_path(c->cfg, c->prof), *key = NULL;
	size_t klen = 0;
	int r = read_target(c, kp, &key, &klen);
	if (r == 0)
		r = crypto_selfsigned_cert(key, klen, c->cfg->hostname, CERT_DAYS, &ch->data, &ch->len);
	if (key)
		crypto_free_secret(key, klen);
	free(kp);
	return r;
}

/*
 * The administrator's own certificate: check it, never replace it.  A
 * symlink that stays inside the root (certbot's live/NAME/ -> ../../archive/)
 * is followed there.  A key readable by others, or writable by its group, is
 * drift: its mode is repaired (owner and group kept, on the file the link
 * leads to), as a careful admin would.
 */
#define TLS_FILE_MAX (1u << 20)
static int check_configured(struct ctx *c, const char *cp, const char *kp)
{
	char *cert = NULL, *key = NULL, *why = NULL, *khost = NULL, *u = NULL, *g = NULL;
	size_t cl = 0, kl = 0;
	struct stat sb;
	time_t na = 0;
	int r;

	if ((r = root_read(c->root, cp, TLS_FILE_MAX, &cert, &cl, &why)) < 0 ||
	    (r = root_read(c->root, kp, TLS_FILE_MAX, &key, &kl, &why)) < 0) {
		r = stage_fail(c, _("tls_cert/tls_key: %s cannot be read (%s); fix the path in mailstage.conf or "
			       "remove both keys to let mailstage make a self-signed certificate"),
			       cert ? kp : cp, why);
		goto out;
	}
	if (fp_cert_check(c->root, cp, cert, cl, kp, key, kl, c->cfg->hostname, &na, &why) < 0) {
		r = stage_fail(c, _("tls_cert %s: %s"), cp, why);
		goto out;
	}
	if (na < time(NULL) + RENEW_DAYS * 86400)
		stage_note(c, _("certificate %s expires within %d days: renew it"), cp, RENEW_DAYS);
	free(why);
	why = NULL;
	if (root_resolve(c->root, kp, &khost, &why) == 0 && lstat(khost, &sb) == 0 && (sb.st_mode & 027)) {
		const char *real = khost + strlen(c->root->dir);
		u = root_user_name(c->root, sb.st_uid);
		g = root_group_name(c->root, sb.st_gid);
		stage_note(c, _("TLS key %s is %04o: readable by others or writable by its group; it is made %04o"),
			   real, (unsigned)(sb.st_mode & 07777), (unsigned)(sb.st_mode & 0740));
		r = want_attr(c, real, u, g, sb.st_mode & 0740);
	}
out:
	if (key)
		crypto_free_secret(key, kl);
	free(cert);
	free(why);
	free(khost);
	free(u);
	free(g);
	return r;
}

/* ---- ACME ---- */

/*
 * What the apply of this run learned, shared by the producers of the key and
 * of the certificate (they run in that order) and by the check after apply.
 */
static struct {
	char *chain;		/* the CA's chain for the new key */
	size_t len;
	int kept;		/* the renewal failed: the old pair stays */
	int issued;		/* this run wrote a certificate from the CA: it is current */
	int renewing;		/* check(): a usable certificate is there, not yet urgent */
	time_t not_after;	/* its expiry */
} acme_run;

static int produce_account_key(struct ctx *c, struct change *ch)
{
	(void)c;
	return crypto_ec_generate(&ch->data, &ch->len);
}

static const char *acme_directory(const struct config *cfg)
{
	return cfg->acme_directory ? cfg->acme_directory : ACME_LETSENCRYPT;
}

/* The new key, and its certificate from the CA into acme_run (the certificate's producer writes it). */
static int produce_acme_key(struct ctx *c, struct change *ch)
{
	struct acme_opts o;
	char *acct = NULL, *ca = NULL, *why = NULL;
	size_t al = 0;
	int r;

	memset(&o, 0, sizeof(o));
	if ((r = crypto_rsa_generate(2048, &ch->data, &ch->len)) < 0)
		return r;
	if ((r = read_target(c, ACME_ACCOUNT_KEY, &acct, &al)) < 0)
		goto out;
	if (c->cfg->acme_ca_file && root_resolve(c->root, c->cfg->acme_ca_file, &ca, &why) < 0) {
		r = -ENOENT;
		stage_set_error(c, xasprintf(_("acme_ca_file %s: %s"), c->cfg->acme_ca_file, why));
		goto out;
	}
	o.directory = acme_directory(c->cfg);
	o.ca_file = ca;
	o.email = c->cfg->acme_email;
	o.account_key = acct;
	o.account_key_len = al;
	o.cert_key = ch->data;
	o.cert_key_len = ch->len;
	o.hostname = c->cfg->hostname;
	o.http_port = 80;
	o.timeout_s = ACME_TIMEOUT_S;
	o.max_wait_s = ACME_MAX_WAIT_S;
	free(why);
	why = NULL;
	r = acme_obtain(&o, &acme_run.chain, &acme_run.len, &why);
	if (r < 0 && acme_run.renewing) {
		char when[32];
		struct tm tm;
		gmtime_r(&acme_run.not_after, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
		stage_note(c, _("renewing the certificate for %s failed, the current one (valid until %s) is kept: %s"),
			   c->cfg->hostname, when, why);
		acme_run.kept = 1;
		crypto_free_secret(ch->data, ch->len);
		ch->data = NULL;
		ch->len = 0;
		r = 1;
	} else if (r < 0) {
		stage_set_error(c, xasprintf(_("no certificate for %s from %s: %s"), c->cfg->hostname,
					     acme_directory(c->cfg), why));
	}
out:
	if (r < 0) {
		crypto_free_secret(ch->data, ch->len);
		ch->data = NULL;
		ch->len = 0;
	}
	if (acct)
		crypto_free_secret(acct, al);
	free(ca);
	free(why);
	return r;
}

static int produce_acme_cert(struct ctx *c, struct change *ch)
{
	(void)c;
	if (acme_run.kept)
		return 1;
	if (!acme_run.chain)
		return -EPROTO;
	ch->data = acme_run.chain;
	ch->len = acme_run.len;
	acme_run.chain = NULL;
	acme_run.issued = 1;
	return 0;
}

static int check_acme(struct ctx *c, const char *cp, const char *kp)
{
	char *acct = NULL, *key = NULL, *cert = NULL, *why = NULL, *what = NULL;
	size_t al = 0, kl = 0, cl = 0;
	time_t na = 0, now = tls_now();
	int r, usable = 0, fresh = 0;
	unsigned char x[32], y[32];

	if ((r = want_dir_exists(c, c->prof->tls_cert_dir, "root", "root", 0755)) < 0 ||
	    (r = want_dir_exists(c, c->prof->tls_key_dir, "root", "root", 0700)) < 0 ||
	    (r = want_dir(c, ACME_DIR, "root", "root", 0700)) < 0)
		goto out;
	/* the account key */
	r = read_target(c, ACME_ACCOUNT_KEY, &acct, &al);
	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0 && crypto_ec_public(acct, al, x, y) == 0) {
		r = want_attr(c, ACME_ACCOUNT_KEY, "root", "root", 0600);
	} else {
		if (r == 0)
			stage_note(c, _("ACME account key %s is not an EC P-256 key: a new one replaces it"),
				   ACME_ACCOUNT_KEY);
		r = want_new_file(c, ACME_ACCOUNT_KEY, produce_account_key, _("new ES256 ACME account key"), 1, "root",
				  "root", 0600);
	}
	if (r < 0)
		goto out;
	/* the pair */
	if (read_target(c, kp, &key, &kl) == 0 && read_target(c, cp, &cert, &cl) == 0 &&
	    fp_cert_check(c->root, cp, cert, cl, kp, key, kl, c->cfg->hostname, &na, &why) == 0 && na > now &&
	    crypto_cert_self_issued(cert, cl) == 0) {
		usable = 1;
		fresh = na >= now + RENEW_DAYS * 86400;
	}
	if (fresh || (usable && acme_run.issued) || (usable && acme_run.kept && na >= now + URGENT_DAYS * 86400)) {
		r = want_attr(c, kp, "root", "root", 0600);
		if (r == 0)
			r = want_attr(c, cp, "root", "root", 0644);
		goto out;
	}
	acme_run.renewing = usable && na >= now + URGENT_DAYS * 86400;
	acme_run.not_after = na;
	what = xasprintf(usable ? _("renew certificate for %s from %s") : _("obtain certificate for %s from %s"),
			 c->cfg->hostname, acme_directory(c->cfg));
	r = want_new_file(c, kp, produce_acme_key, _("new RSA-2048 key for the ACME certificate"), 1, "root", "root",
			  0600);
	if (r == 0)
		r = want_new_file(c, cp, produce_acme_cert, what, 0, "root", "root", 0644);
out:
	if (acct)
		crypto_free_secret(acct, al);
	if (key)
		crypto_free_secret(key, kl);
	free(cert);
	free(why);
	free(what);
	return r;
}

static int check(struct ctx *c)
{
	char *cp = tls_cert_path(c->cfg, c->prof), *kp = tls_key_path(c->cfg, c->prof);
	char *key = NULL, *cert = NULL, *why = NULL;
	size_t kl = 0, cl = 0;
	int bits = 0, key_ok, cert_ok = 0, r;
	time_t na = 0;

	if (c->cfg->tls_cert) {
		r = check_configured(c, cp, kp);
		goto out;
	}
	if (config_tls_acme(c->cfg)) {
		r = check_acme(c, cp, kp);
		goto out;
	}
	if ((r = want_dir_exists(c, c->prof->tls_cert_dir, "root", "root", 0755)) < 0 ||
	    (r = want_dir_exists(c, c->prof->tls_key_dir, "root", "root", 0700)) < 0)
		goto out;
	r = read_target(c, kp, &key, &kl);
	if (r < 0 && r != -ENOENT)
		goto out;
	key_ok = r == 0 && fp_key_info(c->root, kp, key, kl, &bits, &why) == 0 && bits >= 2048;
	if (key_ok) {
		r = want_attr(c, kp, "root", "root", 0600);
	} else {
		if (key)
			stage_note(c, _("TLS key %s is not usable (%s): a new one replaces it"), kp,
				   why ? why : _("shorter than 2048 bits"));
		r = want_new_file(c, kp, produce_key, _("new RSA-2048 key"), 1, "root", "root", 0600);
	}
	if (r < 0)
		goto out;
	free(why);
	why = NULL;
	r = read_target(c, cp, &cert, &cl);
	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0 && key_ok)
		cert_ok = fp_cert_check(c->root, cp, cert, cl, kp, key, kl, c->cfg->hostname, &na, &why) == 0 &&
		    na >= time(NULL) + RENEW_DAYS * 86400;
	if (cert_ok)
		r = want_attr(c, cp, "root", "root", 0644);
	else
		r = want_new_file(c, cp, produce_cert, _("self-signed certificate for the hostname, SHA-256"), 0,
				  "root", "root", 0644);
out:
	if (key)
		crypto_free_secret(key, kl);
	free(cert);
	free(why);
	free(cp);
	free(kp);
	return r;
}

const struct stage stage_tls = {
	.name = "tls",
	.summary = N_("TLS certificate and key for the hostname: the configured pair, one from an ACME CA, or a self-signed one"),
	.check = check,
};
STAGE_REGISTER(stage_tls);
