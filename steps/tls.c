/*
 * tls.c - stage "tls": the certificate and key Postfix presents.
 *
 * Check: the configured pair (tls_cert/tls_key) must exist, match and name
 * the hostname; otherwise mailstage keeps a self-signed RSA-2048/SHA-256
 * certificate for the hostname (subjectAltName included), its key 0600 root
 * from the first byte.  A valid key is kept; the certificate is remade
 * when it no longer matches the key or hostname or expires within 30 days.
 */
#include "i18n.h"
#include "steps.h"
#include "crypto.h"
#include "fpcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RENEW_DAYS 30
#define CERT_DAYS 3650

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
	.summary = N_("TLS certificate and key for the hostname: the configured pair, or a self-signed one"),
	.check = check,
};
STAGE_REGISTER(stage_tls);
