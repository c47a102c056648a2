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
 * not for the key or hostname, or due for renewal, apply makes a new
 * RSA-2048 key and obtains its certificate (both written through the
 * journal: a failed apply puts the previous pair back byte for byte).  Due:
 * when the CA's directory offers renewalInfo (RFC 9773), once the point of
 * its suggested window chosen for this certificate (acme_ari_point) has
 * come, the new order saying which certificate it replaces; otherwise, or
 * when that answer cannot be had (with a note), when fewer than 30 days are
 * left; in any case within 7 days of expiry, without asking.  The renewal
 * information is asked for only then: tls_acme = yes, a certificate from
 * the CA that is valid for the key and hostname, not renewed by this run;
 * each request within ARI_TIMEOUT_S (check() runs in plan too), and once a
 * process per certificate (the CA's Retry-After is at least a minute).  A
 * failed renewal keeps the old pair and warns, and fails the run only
 * within 7 days of expiry.  Test builds take "now" from MAILSTAGE_TEST_NOW.
 *
 * The http-01 window: the CA fetches the challenge from port 80 of this
 * host, where mailstage answers it for the duration of the order.  On the
 * running host (--root /) with firewalld running, when the zone the firewall
 * stage uses has neither the http service nor 80/tcp open at runtime, the
 * order is framed by two typed actions: "acme-window-open" opens http in the
 * runtime configuration only (with a firewalld timeout of WINDOW_TIMEOUT_S,
 * so that firewalld closes it by itself should mailstage die), journaled
 * with the undo that closes it, before the key whose producer runs the
 * order; "acme-window-close" closes it after the certificate is written.  An
 * order that fails stops the apply, whose rollback closes it (the open's
 * undo); a rollback of a successful run closes what is closed already.
 * firewalld that does not answer is a failed renewal (kept, a warning) or a
 * failure, with its fix.
 */
#include "i18n.h"
#include "steps.h"
#include "crypto.h"
#include "fpcache.h"
#include "acme.h"
#include "msg.h"
#include "root.h"

#include <errno.h>
#include <stdio.h>
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
#define WINDOW_SERVICE "http"
#define WINDOW_TIMEOUT_S 600	/* longer than an order can take (ACME_MAX_WAIT_S per object) */
#define WINDOW_REPLY_MS 10000	/* firewalld answers in milliseconds; a stopped one must not hold the run */
#define ARI_TIMEOUT_S 10

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
	int window;		/* this apply opened the http-01 window */
	struct timespec opened;	/* when */
	char *replaces;		/* its ARI CertID, for the new order */
} acme_run;

/* The renewal information of this process, per certificate (asked once). */
static struct {
	char *cert_id;
	int rc;
	struct acme_ari ari;
	char *why;
} ari_seen;

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

	if (acme_run.kept)	/* firewalld refused the window: a failed renewal, no order */
		return 1;
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
	o.replaces = acme_run.renewing ? acme_run.replaces : NULL;
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

/* ---- the http-01 window in firewalld ---- */

/* "firewalld does not answer" with its fix, for a note or the run's failure. */
static char *window_error(const char *why)
{
	return xasprintf(_("firewalld does not answer (%s), so port 80 cannot be opened for the ACME http-01 "
			   "challenge: restart it (`systemctl restart firewalld`) and run again, or open it yourself "
			   "for the order (`firewall-cmd --add-service=%s`)"), why, WINDOW_SERVICE);
}

/*
 * Must the order open port 80 in firewalld?  0 with *zone = the zone (the
 * window is needed) or NULL (it is not: not the running host, no firewalld,
 * firewalld stopped, http or 80/tcp open already).  firewalld that does not
 * answer: a renewal that can wait keeps the pair (a note, acme_run.kept,
 * 1 with *zone NULL); otherwise the check fails with the fix.
 */
static int window_needed(struct ctx *c, char **zone)
{
	char *svc = NULL, *ports = NULL, *why = NULL, *msg;
	int running = 0, r;

	*zone = NULL;
	if (!c->root->is_host || !firewalld_installed(c))
		return 0;
	*zone = firewalld_zone(c);
	r = firewalld_query(*zone, "services", WINDOW_REPLY_MS, &running, &svc, &why);
	if (r == 0 && running && !firewalld_word_in(svc, WINDOW_SERVICE))
		r = firewalld_query(*zone, "ports", WINDOW_REPLY_MS, &running, &ports, &why);
	if (r < 0) {
		free(*zone);
		*zone = NULL;
		msg = window_error(why);
		if (acme_run.renewing) {
			stage_note(c, _("renewing the certificate for %s waits, the current one is kept: %s"),
				   c->cfg->hostname, msg);
			acme_run.kept = 1;
			r = 1;
		} else {
			r = stage_fail(c, _("no certificate for %s: %s"), c->cfg->hostname, msg);
		}
		free(msg);
		goto out;
	}
	if (!running || firewalld_word_in(svc, WINDOW_SERVICE) || firewalld_port_in(ports ? ports : "", 80, "tcp")) {
		free(*zone);
		*zone = NULL;
	}
out:
	free(svc);
	free(ports);
	free(why);
	return r;
}

/* "ZONE SERVICE", both firewalld names. */
static int window_arg(const char *arg, char zone[128], char service[128])
{
	char extra;
	if (strlen(arg) >= 200 || sscanf(arg, "%127s %127s %c", zone, service, &extra) != 2 ||
	    !firewalld_name_ok(zone) || !firewalld_name_ok(service))
		return -EINVAL;
	return 0;
}

static int window_prepare(struct ctx *c, const char *arg, char **undo)
{
	char z[128], s[128];
	(void)c;
	if (window_arg(arg, z, s) < 0)
		return -EINVAL;
	/* The check found it closed: undoing the window closes it. */
	*undo = xstrdup(arg);
	return 0;
}

static int window_open(struct ctx *c, const char *arg)
{
	char z[128], s[128], *why = NULL, *msg;
	int r = window_arg(arg, z, s);
	if (r < 0)
		return r;
	r = firewalld_runtime_service(z, s, 1, WINDOW_TIMEOUT_S, &why);
	if (r == 0) {
		acme_run.window = 1;
		clock_gettime(CLOCK_MONOTONIC, &acme_run.opened);
	} else if (acme_run.renewing) {
		/* A failed renewal: the old pair stays, the order is not attempted. */
		msg = window_error(why);
		stage_note(c, _("renewing the certificate for %s waits, the current one is kept: %s"),
			   c->cfg->hostname, msg);
		free(msg);
		acme_run.kept = 1;
		r = 0;
	} else {
		msg = window_error(why);
		stage_set_error(c, xasprintf(_("no certificate for %s: %s"), c->cfg->hostname, msg));
		free(msg);
	}
	free(why);
	return r;
}

static int window_close(struct ctx *c, const char *arg)
{
	char z[128], s[128], *why = NULL;
	struct timespec now;
	int r = window_arg(arg, z, s);
	if (r < 0 || !acme_run.window)
		return r;
	r = firewalld_runtime_service(z, s, 0, 0, &why);
	if (r < 0) {
		stage_set_error(c, xasprintf(_("closing firewalld service %s after the ACME order: %s; close it with "
					       "`firewall-cmd --zone=%s --remove-service=%s`"), s, why, z, s));
		free(why);
		return r;
	}
	acme_run.window = 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	msg_info(_("tls: firewalld service %s was open for %ld ms for the ACME http-01 challenge"), s,
		 (long)((now.tv_sec - acme_run.opened.tv_sec) * 1000 + (now.tv_nsec - acme_run.opened.tv_nsec) / 1000000));
	return 0;
}

/* Undo of the open: close it (already closed after a successful order: firewalld only warns NOT_ENABLED). */
static int window_undo_open(struct root *root, const char *undo, char **why)
{
	char z[128], s[128];
	(void)root;
	if (window_arg(undo, z, s) < 0) {
		*why = xasprintf(_("bad undo record \"%s\""), undo);
		return -EINVAL;
	}
	return firewalld_runtime_service(z, s, 0, 0, why);
}

/* Undo of the close: nothing to put back, the window stays shut (the open's undo closes it again). */
static int window_undo_close(struct root *root, const char *undo, char **why)
{
	(void)root;
	(void)undo;
	(void)why;
	return 0;
}

static int window_undo_check(const struct root *root, const char *undo, char **why)
{
	char z[128], s[128];
	(void)root;
	if (window_arg(undo, z, s) < 0) {
		*why = xstrdup(_("an acme-window undo is \"ZONE SERVICE\", firewalld names"));
		return -EINVAL;
	}
	return 0;
}

const struct action_type action_acme_window_open = {
	.name = "acme-window-open",
	.prepare = window_prepare,
	.apply = window_open,
	.undo = window_undo_open,
	.undo_check = window_undo_check,
};

const struct action_type action_acme_window_close = {
	.name = "acme-window-close",
	.prepare = window_prepare,
	.apply = window_close,
	.undo = window_undo_close,
	.undo_check = window_undo_check,
};

static void day_of(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The CA's renewal information for cert_id: 0 with *ari (kept by ari_seen), or negative with *why. */
static int renewal_info(struct ctx *c, const char *cert_id, const struct acme_ari **ari, const char **why)
{
	struct acme_opts o;
	char *ca = NULL, *w = NULL;

	if (!ari_seen.cert_id || strcmp(ari_seen.cert_id, cert_id) != 0) {
		free(ari_seen.cert_id);
		free(ari_seen.why);
		acme_ari_free(&ari_seen.ari);
		ari_seen.why = NULL;
		ari_seen.cert_id = xstrdup(cert_id);
		memset(&o, 0, sizeof(o));
		if (c->cfg->acme_ca_file && root_resolve(c->root, c->cfg->acme_ca_file, &ca, &w) < 0) {
			ari_seen.rc = -ENOENT;
			ari_seen.why = xasprintf(_("acme_ca_file %s: %s"), c->cfg->acme_ca_file, w);
		} else {
			o.directory = acme_directory(c->cfg);
			o.ca_file = ca;
			o.hostname = c->cfg->hostname;
			o.timeout_s = ARI_TIMEOUT_S;
			ari_seen.rc = acme_renewal_info(&o, cert_id, &ari_seen.ari, &ari_seen.why);
		}
		free(ca);
		free(w);
	}
	*ari = &ari_seen.ari;
	*why = ari_seen.why;
	return ari_seen.rc;
}

/*
 * Is the CA's certificate cert (valid until na) due for renewal?  1 with
 * *reason (caller frees), 0, never an error: what cannot be learnt falls
 * back to the 30-day rule.
 */
static int renewal_due(struct ctx *c, const char *cert, size_t cl, time_t na, time_t now, char **reason)
{
	const struct acme_ari *ari = NULL;
	const char *why = NULL;
	char *id = NULL, a[32], b[32], p[32];
	int r, left30 = na < now + RENEW_DAYS * 86400, due;

	*reason = NULL;
	if (na < now + URGENT_DAYS * 86400) {
		*reason = xasprintf(_("it expires within %d days"), URGENT_DAYS);
		return 1;
	}
	r = acme_cert_id_of(cert, cl, &id);
	if (r == 0)
		r = renewal_info(c, id, &ari, &why);
	else
		stage_note(c, _("the certificate has no Authority Key Identifier, so the CA cannot be asked when to "
				"renew it (RFC 9773): renewal when fewer than %d days remain"), RENEW_DAYS);
	free(acme_run.replaces);
	acme_run.replaces = id;
	if (r == -ENOTSUP || (r < 0 && !why)) {
		due = left30;	/* the CA has no renewal information: the usual rule */
	} else if (r < 0) {
		stage_note(c, _("the renewal information of %s could not be read (%s): renewal when fewer than %d "
				"days remain"), acme_directory(c->cfg), why, RENEW_DAYS);
		due = left30;
	} else {
		day_of(ari->start, a);
		day_of(ari->end, b);
		day_of(ari->point, p);
		if (now >= ari->point) {
			*reason = ari->explanation
					  ? xasprintf(_("the CA's renewal window (ARI) opened: %s to %s, this certificate's "
							"time %s; the CA explains: %s"), a, b, p, ari->explanation)
					  : xasprintf(_("the CA's renewal window (ARI) opened: %s to %s, this certificate's "
							"time %s"), a, b, p);
			return 1;
		}
		if (left30)
			stage_note(c, _("the certificate has fewer than %d days left, but the CA's renewal window (ARI) is "
					"%s to %s: it is renewed from %s"), RENEW_DAYS, a, b, p);
		return 0;
	}
	if (due)
		*reason = xasprintf(_("fewer than %d days left"), RENEW_DAYS);
	return due;
}

static int check_acme(struct ctx *c, const char *cp, const char *kp)
{
	char *acct = NULL, *key = NULL, *cert = NULL, *why = NULL, *what = NULL, *zone = NULL, *reason = NULL;
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
	    crypto_cert_self_issued(cert, cl) == 0)
		usable = 1;
	/* this run's own certificate, or its failed renewal's kept one: no question to the CA */
	if (usable && !acme_run.issued && !(acme_run.kept && na >= now + URGENT_DAYS * 86400))
		fresh = !renewal_due(c, cert, cl, na, now, &reason);
	if (fresh || (usable && acme_run.issued) || (usable && acme_run.kept && na >= now + URGENT_DAYS * 86400)) {
		r = want_attr(c, kp, "root", "root", 0600);
		if (r == 0)
			r = want_attr(c, cp, "root", "root", 0644);
		goto out;
	}
	acme_run.renewing = usable && na >= now + URGENT_DAYS * 86400;
	acme_run.not_after = na;
	if ((r = window_needed(c, &zone)) < 0)
		goto out;
	if (r == 1 && !zone) {	/* firewalld does not answer, a renewal that can wait: the pair is kept */
		r = want_attr(c, kp, "root", "root", 0600);
		if (r == 0)
			r = want_attr(c, cp, "root", "root", 0644);
		goto out;
	}
	if (usable)
		what = xasprintf(_("renew certificate for %s from %s: %s"), c->cfg->hostname, acme_directory(c->cfg),
				 reason);
	else
		what = xasprintf(_("obtain certificate for %s from %s"), c->cfg->hostname, acme_directory(c->cfg));
	if (zone) {
		char *w = xasprintf(_("open firewalld service %s in zone %s (runtime) for the ACME http-01 challenge, "
				      "closed after the order"), WINDOW_SERVICE, zone);
		char *arg = xasprintf("%s %s", zone, WINDOW_SERVICE);
		r = want_action(c, w, &action_acme_window_open, arg);
		free(w);
		free(arg);
	}
	if (r == 0)
		r = want_new_file(c, kp, produce_acme_key, _("new RSA-2048 key for the ACME certificate"), 1, "root",
				  "root", 0600);
	if (r == 0)
		r = want_new_file(c, cp, produce_acme_cert, what, 0, "root", "root", 0644);
	if (r == 0 && zone) {
		char *w = xasprintf(_("close firewalld service %s in zone %s (runtime): the http-01 challenge is over"),
				    WINDOW_SERVICE, zone);
		char *arg = xasprintf("%s %s", zone, WINDOW_SERVICE);
		r = want_action(c, w, &action_acme_window_close, arg);
		free(w);
		free(arg);
	}
out:
	if (acct)
		crypto_free_secret(acct, al);
	if (key)
		crypto_free_secret(key, kl);
	free(cert);
	free(why);
	free(what);
	free(zone);
	free(reason);
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
