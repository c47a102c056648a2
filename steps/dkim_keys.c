/*
 * dkim_keys.c - stage "dkim-keys": the DKIM signing key and its DNS record.
 *
 * Check: /etc/opendkim/keys/DOMAIN/SELECTOR.private is a readable RSA key,
 * owned by opendkim with mode 0600 (opendkim re-reads it on reload after
 * dropping privileges), and SELECTOR.txt holds the record of that very key.
 * An existing valid key is never replaced; a missing or unreadable one is
 * made anew with libcrypto.  With dkim_algorithms = rsa-sha256, ed25519-sha256
 * a second key, Ed25519 (RFC 8463), lives beside it under the selector
 * SELECTOR-ed25519, with its own record (k=ed25519, 44 characters of p=).
 */
#include "i18n.h"
#include "steps.h"
#include "crypto.h"
#include "fpcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *dkim_key_dir(const struct config *cfg, const struct profile *p)
{
	return xasprintf("%s/%s", p->opendkim_keydir, cfg->domain);
}

char *dkim_key_path(const struct config *cfg, const struct profile *p)
{
	return xasprintf("%s/%s/%s.private", p->opendkim_keydir, cfg->domain, cfg->dkim_selector);
}

char *dkim_record_path(const struct config *cfg, const struct profile *p)
{
	return xasprintf("%s/%s/%s.txt", p->opendkim_keydir, cfg->domain, cfg->dkim_selector);
}

char *dkim_ed25519_selector(const char *selector)
{
	return xasprintf("%s-ed25519", selector);
}

char *dkim_sel_key_path(const struct config *cfg, const struct profile *p, const char *selector)
{
	return xasprintf("%s/%s/%s.private", p->opendkim_keydir, cfg->domain, selector);
}

char *dkim_sel_record_path(const struct config *cfg, const struct profile *p, const char *selector)
{
	return xasprintf("%s/%s/%s.txt", p->opendkim_keydir, cfg->domain, selector);
}

char *dkim_txt_value(const char *p_b64)
{
	return dkim_txt_value_k("rsa", p_b64);
}

char *dkim_txt_value_k(const char *k, const char *p_b64)
{
	return xasprintf("v=DKIM1; k=%s; p=%s", k, p_b64);
}

char *dkim_record_text(const char *selector, const char *domain, const char *p_b64)
{
	return dkim_record_text_k(selector, domain, "rsa", p_b64);
}

char *dkim_record_text_k(const char *selector, const char *domain, const char *k, const char *p_b64)
{
	struct buf b = { 0 };
	size_t off = 0, len = strlen(p_b64);

	buf_printf(&b, "%s._domainkey\tIN\tTXT\t( \"v=DKIM1; k=%s; \"\n", selector, k);
	/* TXT character-strings hold at most 255 bytes: split p= well under that. */
	while (off < len || off == 0) {
		size_t n = len - off > 250 ? 250 : len - off;
		buf_printf(&b, "\t  \"%s%.*s\"\n", off == 0 ? "p=" : "", (int)n, p_b64 + off);
		off += n;
		if (n == 0)
			break;
	}
	b.len--;	/* join the closing parenthesis to the last string */
	buf_printf(&b, " )  ; ----- DKIM key %s for %s%s\n", selector, domain,
		   strcmp(k, "rsa") ? " (Ed25519)" : "");
	return buf_steal(&b);
}

static int produce_key(struct ctx *c, struct change *ch)
{
	return crypto_rsa_generate((int)c->cfg->dkim_bits, &ch->data, &ch->len);
}

/* The record of the key now on disk (written by the change before this one). */
static int produce_record(struct ctx *c, struct change *ch)
{
	char *kp = dkim_key_path(c->cfg, c->prof), *key = NULL, *p = NULL;
	size_t kl = 0;
	int r = read_target(c, kp, &key, &kl);
	if (r == 0)
		r = crypto_dkim_public(key, kl, &p);
	if (r == 0) {
		ch->data = dkim_record_text(c->cfg->dkim_selector, c->cfg->domain, p);
		ch->len = strlen(ch->data);
	}
	if (key)
		crypto_free_secret(key, kl);
	free(p);
	free(kp);
	return r;
}

static int produce_ed25519_key(struct ctx *c, struct change *ch)
{
	(void)c;
	return crypto_ed25519_generate(&ch->data, &ch->len);
}

/* The record of the Ed25519 key now on disk: SELECTOR.txt beside SELECTOR.private. */
static int produce_ed25519_record(struct ctx *c, struct change *ch)
{
	char *sel = dkim_ed25519_selector(c->cfg->dkim_selector);
	char *kp = dkim_sel_key_path(c->cfg, c->prof, sel), *key = NULL, *p = NULL;
	size_t kl = 0;
	int r = read_target(c, kp, &key, &kl);
	if (r == 0)
		r = crypto_ed25519_public(key, kl, &p, NULL);
	if (r == 0) {
		ch->data = dkim_record_text_k(sel, c->cfg->domain, "ed25519", p);
		ch->len = strlen(ch->data);
	}
	if (key)
		crypto_free_secret(key, kl);
	free(p);
	free(kp);
	free(sel);
	return r;
}

/* The Ed25519 key and its record, as for RSA below: a valid key is kept, a missing one made. */
static int check_ed25519(struct ctx *c)
{
	const char *user = c->prof->opendkim_user, *group = c->prof->opendkim_group;
	char *sel = dkim_ed25519_selector(c->cfg->dkim_selector);
	char *kp = dkim_sel_key_path(c->cfg, c->prof, sel), *rp = dkim_sel_record_path(c->cfg, c->prof, sel);
	char *key = NULL, *why = NULL, *p = NULL, *rec = NULL, *what = NULL;
	size_t kl = 0;
	int r = read_target(c, kp, &key, &kl);

	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0 && crypto_ed25519_public(key, kl, &p, &why) == 0) {
		if ((r = want_attr(c, kp, user, group, 0600)) < 0)
			goto out;
		rec = dkim_record_text_k(sel, c->cfg->domain, "ed25519", p);
		r = want_file(c, rp, rec, strlen(rec), user, group, 0644);
		goto out;
	}
	if (key)
		stage_note(c, _("DKIM key %s is unreadable (%s): a new key replaces it and its DNS record "
			   "must be published again"), kp, why ? why : _("not an Ed25519 key"));
	r = want_new_file(c, kp, produce_ed25519_key, _("new DKIM Ed25519 key"), 1, user, group, 0600);
	if (r == 0) {
		what = xasprintf(_("DNS record of the new key, selector %s"), sel);
		r = want_new_file(c, rp, produce_ed25519_record, what, 0, user, group, 0644);
	}
out:
	if (key)
		crypto_free_secret(key, kl);
	free(sel);
	free(kp);
	free(rp);
	free(why);
	free(p);
	free(rec);
	free(what);
	return r;
}

static int check_rsa(struct ctx *c)
{
	const char *user = c->prof->opendkim_user, *group = c->prof->opendkim_group;
	char *dir = dkim_key_dir(c->cfg, c->prof), *kp = dkim_key_path(c->cfg, c->prof);
	char *rp = dkim_record_path(c->cfg, c->prof), *key = NULL, *why = NULL, *p = NULL, *rec = NULL;
	size_t kl = 0;
	int bits = 0, r;

	if ((r = want_dir_exists(c, c->prof->opendkim_dir, "root", group, 0750)) < 0 ||
	    (r = want_dir(c, c->prof->opendkim_keydir, user, group, 0750)) < 0 ||
	    (r = want_dir(c, dir, user, group, 0750)) < 0)
		goto out;
	r = read_target(c, kp, &key, &kl);
	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0 && fp_key_info(c->root, kp, key, kl, &bits, &why) == 0 &&
	    fp_dkim_public(c->root, kp, key, kl, &p) == 0) {
		if (bits < c->cfg->dkim_bits)
			stage_note(c, _("the existing %d-bit DKIM key %s is kept (dkim_bits = %ld): a valid key is "
				   "never replaced; move it away to get a new one, then publish the new record"),
				   bits, kp, c->cfg->dkim_bits);
		if ((r = want_attr(c, kp, user, group, 0600)) < 0)
			goto out;
		rec = dkim_record_text(c->cfg->dkim_selector, c->cfg->domain, p);
		r = want_file(c, rp, rec, strlen(rec), user, group, 0644);
		goto out;
	}
	if (key)
		stage_note(c, _("DKIM key %s is unreadable (%s): a new key replaces it and its DNS record "
			   "must be published again"), kp, why ? why : _("not an RSA key"));
	r = want_new_file(c, kp, produce_key, _("new DKIM RSA key"), 1, user, group, 0600);
	if (r == 0) {
		char *what = xasprintf(_("DNS record of the new key, selector %s"), c->cfg->dkim_selector);
		r = want_new_file(c, rp, produce_record, what, 0, user, group, 0644);
		free(what);
	}
out:
	if (key)
		crypto_free_secret(key, kl);
	free(dir);
	free(kp);
	free(rp);
	free(why);
	free(p);
	free(rec);
	return r;
}

static int check(struct ctx *c)
{
	int r = check_rsa(c);
	if (r == 0 && config_dkim_ed25519(c->cfg))
		r = check_ed25519(c);
	return r;
}

const struct stage stage_dkim_keys = {
	.name = "dkim-keys",
	.summary = N_("DKIM RSA key for the domain and selector (opendkim, 0600) and its DNS record text"),
	.check = check,
};
STAGE_REGISTER(stage_dkim_keys);
