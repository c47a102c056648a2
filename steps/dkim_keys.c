/*
 * dkim_keys.c - stage "dkim-keys": the DKIM signing keys and their DNS records.
 *
 * Check: /etc/opendkim/keys/DOMAIN/SELECTOR.private is a readable RSA key,
 * owned by opendkim with mode 0600 (opendkim re-reads it on reload after
 * dropping privileges), and SELECTOR.txt holds the record of that very key.
 * An existing valid key is never replaced; a missing or unreadable one is
 * made anew with libcrypto.  With dkim_algorithms = rsa-sha256, ed25519-sha256
 * a second key, Ed25519 (RFC 8463), lives beside it under the selector
 * SELECTOR-ed25519, with its own record (k=ed25519, 44 characters of p=).
 * With dkim_rotate_days each algorithm's key rotates on its own, gated by
 * what live DNS serves (dkim_rotation_step; the state is rotation.state).
 */
#include "i18n.h"
#include "steps.h"
#include "crypto.h"
#include "fpcache.h"
#include "dnsq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/*
 * The algorithms of dkim_algorithms, one row each: how a key is made, how
 * its public half is read (0 with *p when the key is valid), the record's k=.
 */
struct dkim_alg {
	const char *k;				/* the record's k=: "rsa", "ed25519" */
	const char *new_key;			/* the change's description */
	const char *not_key;			/* why an unreadable key is replaced */
	const char *next_key;			/* the rotation's next key, the change's description */
	int (*produce_key)(struct ctx *c, struct change *ch);
	int (*produce_record)(struct ctx *c, struct change *ch);
	int (*valid)(struct ctx *c, const char *kp, const char *key, size_t kl, char **p, char **why);
	int (*public_of)(const char *key, size_t kl, char **p);	/* the record's p=, 0 or -errno */
};

static int produce_rsa_key(struct ctx *c, struct change *ch)
{
	return crypto_rsa_generate((int)c->cfg->dkim_bits, &ch->data, &ch->len);
}

static int produce_ed25519_key(struct ctx *c, struct change *ch)
{
	(void)c;
	return crypto_ed25519_generate(&ch->data, &ch->len);
}

static int rsa_public(struct ctx *c, const char *kp, const char *key, size_t kl, char **p, char **why)
{
	int bits = 0, r;
	if ((r = fp_key_info(c->root, kp, key, kl, &bits, why)) < 0 || (r = fp_dkim_public(c->root, kp, key, kl, p)) < 0)
		return r;
	if (bits < c->cfg->dkim_bits)
		stage_note(c, _("the existing %d-bit DKIM key %s is kept (dkim_bits = %ld): a valid key is "
			   "never replaced; move it away to get a new one, then publish the new record"),
			   bits, kp, c->cfg->dkim_bits);
	return 0;
}

static int ed25519_public(struct ctx *c, const char *kp, const char *key, size_t kl, char **p, char **why)
{
	(void)c;
	(void)kp;
	return crypto_ed25519_public(key, kl, p, why);
}

static int ed25519_public_of(const char *key, size_t kl, char **p)
{
	return crypto_ed25519_public(key, kl, p, NULL);
}

static int produce_rsa_record(struct ctx *c, struct change *ch);
static int produce_ed25519_record(struct ctx *c, struct change *ch);

/* indexed by DKIM_RSA, DKIM_ED25519 */
static const struct dkim_alg algs[DKIM_NALG] = {
	{ "rsa", N_("new DKIM RSA key"), N_("not an RSA key"), N_("next DKIM RSA key (rotation)"), produce_rsa_key,
	  produce_rsa_record, rsa_public, crypto_dkim_public },
	{ "ed25519", N_("new DKIM Ed25519 key"), N_("not an Ed25519 key"), N_("next DKIM Ed25519 key (rotation)"),
	  produce_ed25519_key, produce_ed25519_record, ed25519_public, ed25519_public_of },
};

/* The record of the key now on disk (written by the change before this one): SEL.txt beside SEL.private. */
static int produce_record(struct ctx *c, struct change *ch, const struct dkim_alg *a)
{
	const char *base = strrchr(ch->path, '/') ? strrchr(ch->path, '/') + 1 : ch->path;
	size_t bl = strlen(base) > 4 ? strlen(base) - 4 : 0;	/* without ".txt" */
	char *sel = xstrndup(base, bl), *kp = xasprintf("%.*s.private", (int)(strlen(ch->path) - 4), ch->path);
	char *key = NULL, *p = NULL;
	size_t kl = 0;
	int r = read_target(c, kp, &key, &kl);
	if (r == 0)
		r = a->public_of(key, kl, &p);
	if (r == 0) {
		ch->data = dkim_record_text_k(sel, c->cfg->domain, a->k, p);
		ch->len = strlen(ch->data);
	}
	if (key)
		crypto_free_secret(key, kl);
	free(p);
	free(kp);
	free(sel);
	return r;
}

static int produce_rsa_record(struct ctx *c, struct change *ch)
{
	return produce_record(c, ch, &algs[DKIM_RSA]);
}

static int produce_ed25519_record(struct ctx *c, struct change *ch)
{
	return produce_record(c, ch, &algs[DKIM_ED25519]);
}

/* The key directories (root:opendkim 0750 and opendkim's), once before the keys. */
static int check_dirs(struct ctx *c)
{
	const char *user = c->prof->opendkim_user, *group = c->prof->opendkim_group;
	char *dir = dkim_key_dir(c->cfg, c->prof);
	int r;

	if ((r = want_dir_exists(c, c->prof->opendkim_dir, "root", group, 0750)) == 0 &&
	    (r = want_dir(c, c->prof->opendkim_keydir, user, group, 0750)) == 0)
		r = want_dir(c, dir, user, group, 0750);
	free(dir);
	return r;
}

/* The key of algorithm a under selector sel and its record: kept when valid, made when missing or unreadable. */
static int check_key(struct ctx *c, const struct dkim_alg *a, const char *sel)
{
	const char *user = c->prof->opendkim_user, *group = c->prof->opendkim_group;
	char *kp = dkim_sel_key_path(c->cfg, c->prof, sel), *rp = dkim_sel_record_path(c->cfg, c->prof, sel);
	char *key = NULL, *why = NULL, *p = NULL, *rec = NULL;
	size_t kl = 0;
	int r = read_target(c, kp, &key, &kl);

	if (r < 0 && r != -ENOENT)
		goto out;
	if (r == 0 && a->valid(c, kp, key, kl, &p, &why) == 0) {
		if ((r = want_attr(c, kp, user, group, 0600)) < 0)
			goto out;
		rec = dkim_record_text_k(sel, c->cfg->domain, a->k, p);
		r = want_file(c, rp, rec, strlen(rec), user, group, 0644);
		goto out;
	}
	if (key)
		stage_note(c, _("DKIM key %s is unreadable (%s): a new key replaces it and its DNS record "
			   "must be published again"), kp, why ? why : _(a->not_key));
	r = want_new_file(c, kp, a->produce_key, _(a->new_key), 1, user, group, 0600);
	if (r == 0) {
		char *what = xasprintf(_("DNS record of the new key, selector %s"), sel);
		r = want_new_file(c, rp, a->produce_record, what, 0, user, group, 0644);
		free(what);
	}
out:
	if (key)
		crypto_free_secret(key, kl);
	free(kp);
	free(rp);
	free(why);
	free(p);
	free(rec);
	return r;
}

/* ---- rotation ---- */

long long dkim_now(void)
{
#ifdef MAILSTAGE_TEST_HOOKS
	const char *t = getenv("MAILSTAGE_TEST_NOW");
	if (t && *t)
		return strtoll(t, NULL, 10);
#endif
	return (long long)time(NULL);
}

const char *dkim_alg_name(int alg)
{
	return alg == DKIM_ED25519 ? "ed25519-sha256" : "rsa-sha256";
}

void dkim_rotation_selector(long long t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	if (strftime(out, 16, "s%Y%m%d", &tm) == 0)
		snprintf(out, 16, "s0");
}

void dkim_rotation_selector_alg(int alg, long long t, char out[64])
{
	char d[16];
	dkim_rotation_selector(t, d);
	snprintf(out, 64, alg == DKIM_ED25519 ? "%s-ed25519" : "%s", d);
}

static int selector_ok(const char *s, size_t n)
{
	size_t i;
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* The state file's words: the RSA key's, then the Ed25519 key's ("ed25519-" before them). */
static const char *const kinds[] = { "active", "next", "retiring" };
#define ED_PREFIX "ed25519-"

static void slot_of(struct dkim_keyrot *k, size_t kind, char **sel, long long **at)
{
	*sel = kind == 0 ? k->active : kind == 1 ? k->next : k->retiring;
	*at = kind == 0 ? &k->active_at : kind == 1 ? &k->next_at : &k->retiring_at;
}

/* Which algorithm and slot the word w (n bytes) names; -1 when none. */
static int word_kind(const char *w, size_t n, int *alg)
{
	size_t i, pl = strlen(ED_PREFIX);

	*alg = DKIM_RSA;
	if (n > pl && !memcmp(w, ED_PREFIX, pl)) {
		*alg = DKIM_ED25519;
		w += pl;
		n -= pl;
	}
	for (i = 0; i < 3; i++)
		if (n == strlen(kinds[i]) && !memcmp(w, kinds[i], n))
			return (int)i;
	return -1;
}

int dkim_rotation_parse(const char *text, size_t len, struct dkim_rotation *st, char **why)
{
	const char *sels[DKIM_NALG * 3];
	size_t off = 0, line = 0, i, j, ns = 0;
	int a;

	memset(st, 0, sizeof(*st));
	*why = NULL;
	st->present = 1;
	if (memchr(text, 0, len)) {
		*why = xstrdup(_("it contains a NUL byte"));
		return -EINVAL;
	}
	while (off < len) {
		const char *l = text + off, *nl = memchr(l, '\n', len - off), *w2, *w3;
		size_t ll = nl ? (size_t)(nl - l) : len - off, n2, n3;
		char *slot;
		long long *at, v = 0;
		int kind;

		off += ll + (nl ? 1 : 0);
		line++;
		if (ll == 0 || l[0] == '#')
			continue;
		w2 = memchr(l, ' ', ll);
		w3 = w2 ? memchr(w2 + 1, ' ', ll - (size_t)(w2 + 1 - l)) : NULL;
		if (!w2 || !w3 || (kind = word_kind(l, (size_t)(w2 - l), &a)) < 0)
			goto bad;
		n2 = (size_t)(w3 - w2 - 1);
		n3 = ll - (size_t)(w3 + 1 - l);
		slot_of(&st->k[a], (size_t)kind, &slot, &at);
		if (*slot || !selector_ok(w2 + 1, n2) || n3 == 0 || n3 > 12)
			goto bad;
		for (i = 0; i < n3; i++) {
			if (w3[1 + i] < '0' || w3[1 + i] > '9')
				goto bad;
			v = v * 10 + (w3[1 + i] - '0');
		}
		memcpy(slot, w2 + 1, n2);
		slot[n2] = 0;
		*at = v;
		st->k[a].present = 1;
		continue;
bad:
		*why = xasprintf(_("line %zu is not \"[ed25519-]active|next|retiring SELECTOR SECONDS\" (once each)"), line);
		return -EINVAL;
	}
	if (!*st->k[DKIM_RSA].active) {
		*why = xstrdup(_("it names no active key"));
		return -EINVAL;
	}
	if (st->k[DKIM_ED25519].present && !*st->k[DKIM_ED25519].active) {
		*why = xstrdup(_("it names no ed25519-active key"));
		return -EINVAL;
	}
	for (a = 0; a < DKIM_NALG; a++) {
		const char *s3[3] = { st->k[a].active, st->k[a].next, st->k[a].retiring };
		for (i = 0; i < 3; i++)
			if (*s3[i])
				sels[ns++] = s3[i];
	}
	for (i = 0; i < ns; i++)
		for (j = i + 1; j < ns; j++)
			if (!strcmp(sels[i], sels[j])) {
				*why = xstrdup(_("it names one selector twice"));
				return -EINVAL;
			}
	return 0;
}

char *dkim_rotation_format(const struct dkim_rotation *st)
{
	struct buf b = { 0 };
	int a;
	size_t i;

	buf_puts(&b, "# DKIM key rotation, kept by mailstage apply (dkim_rotate_days): do not edit\n");
	for (a = 0; a < DKIM_NALG; a++) {
		struct dkim_keyrot k = st->k[a];
		if (a != DKIM_RSA && !k.present)
			continue;
		for (i = 0; i < 3; i++) {
			char *sel;
			long long *at;
			slot_of(&k, i, &sel, &at);
			if (*sel)
				buf_printf(&b, "%s%s %s %lld\n", a == DKIM_ED25519 ? ED_PREFIX : "", kinds[i], sel, *at);
		}
	}
	return buf_steal(&b);
}

static char *rotation_path(const struct config *cfg, const struct profile *p)
{
	return xasprintf("%s/%s/%s", p->opendkim_keydir, cfg->domain, DKIM_ROTATION_FILE);
}

/*
 * root_read() of the rotation state, which three stages of a run read:
 * the bytes (or the error) of the last read are used again while nothing
 * in the target changed (root_epoch()).
 */
static int read_rotation(struct root *root, const char *path, char **data, size_t *len, char **w)
{
	static struct {
		const struct root *root;
		unsigned epoch;
		char *path, *data, *w;
		size_t len;
		int r;
	} m;
	unsigned epoch = root_epoch(root);

	if (!m.path || m.root != root || m.epoch != epoch || strcmp(m.path, path) != 0) {
		free(m.path);
		free(m.data);
		free(m.w);
		m.data = m.w = NULL;
		m.len = 0;
		m.r = root_read(root, path, 4096, &m.data, &m.len, &m.w);
		m.root = root;
		m.epoch = epoch;
		m.path = xstrdup(path);
	}
	*data = m.data ? xstrndup(m.data, m.len) : NULL;
	*len = m.len;
	*w = m.w ? xstrdup(m.w) : NULL;
	return m.r;
}

int dkim_rotation_load(struct root *root, const struct config *cfg, const struct profile *p,
		       struct dkim_rotation *st, char **why)
{
	char *path = rotation_path(cfg, p), *data = NULL, *w = NULL, *ed;
	size_t len = 0;
	int r = read_rotation(root, path, &data, &len, &w);

	*why = NULL;
	if (r == -ENOENT) {
		memset(st, 0, sizeof(*st));
		snprintf(st->k[DKIM_RSA].active, sizeof(st->k[DKIM_RSA].active), "%s", cfg->dkim_selector);
		r = 0;
	} else if (r < 0) {
		*why = xasprintf(_("cannot read %s: %s"), path, w ? w : strerror(-r));
	} else if ((r = dkim_rotation_parse(data, len, st, &w)) < 0) {
		*why = xasprintf(_("%s is not a DKIM rotation state: %s; move it away (the keys beside it stay) "
				   "and run again"), path, w);
	}
	if (r == 0 && !st->k[DKIM_ED25519].present) {
		ed = dkim_ed25519_selector(cfg->dkim_selector);
		snprintf(st->k[DKIM_ED25519].active, sizeof(st->k[DKIM_ED25519].active), "%s", ed);
		free(ed);
	}
	free(w);
	free(data);
	free(path);
	return r;
}

char *dkim_active_selector(struct root *root, const struct config *cfg, const struct profile *p, int alg)
{
	struct dkim_rotation st;
	char *why = NULL;
	if (dkim_rotation_load(root, cfg, p, &st, &why) < 0) {
		free(why);
		return alg == DKIM_ED25519 ? dkim_ed25519_selector(cfg->dkim_selector) : xstrdup(cfg->dkim_selector);
	}
	return xstrdup(st.k[alg].active);
}

int dkim_rotation_step(int alg, const struct dkim_keyrot *st, long long now, long rotate_days, long retire_days,
		       dkim_live_fn live, void *arg, struct dkim_keyrot *want)
{
	long long day = 86400;
	int flags = 0, l;

	*want = *st;
	want->present = 1;
	if (!st->present)
		want->active_at = now;	/* the age of a key counts from when rotation began to watch it */
	if (*st->retiring && now - st->retiring_at >= retire_days * day) {
		if (live(arg, st->retiring, 0) == 0) {
			flags |= DKIM_STEP_DELETE;
			want->retiring[0] = 0;
			want->retiring_at = 0;
		} else {
			flags |= DKIM_STEP_TO_REMOVE;
		}
	}
	if (*st->next) {
		if ((l = live(arg, st->next, 1)) == -2) {
			flags |= DKIM_STEP_NOKEY;
		} else if (l == 1 && !*want->retiring) {
			flags |= DKIM_STEP_SWITCH;
			snprintf(want->retiring, sizeof(want->retiring), "%s", st->active);
			want->retiring_at = now;
			snprintf(want->active, sizeof(want->active), "%s", st->next);
			want->active_at = now;
			want->next[0] = 0;
			want->next_at = 0;
		} else {
			flags |= l == 1 ? DKIM_STEP_HELD : DKIM_STEP_WAIT;
		}
	} else if (rotate_days > 0 && !*st->retiring && now - want->active_at >= rotate_days * day) {
		char sel[64];
		dkim_rotation_selector_alg(alg, now, sel);
		if (strcmp(sel, st->active) != 0) {
			flags |= DKIM_STEP_NEW;
			snprintf(want->next, sizeof(want->next), "%s", sel);
			want->next_at = now;
		}
	}
	return flags;
}

/* The p= of a record's text ("v=DKIM1; k=rsa; p=..."), blanks removed; NULL when none. */
static char *txt_p(const char *txt)
{
	const char *p;
	struct buf b = { 0 };
	for (p = txt; (p = strstr(p, "p=")) != NULL; p++)
		if (p == txt || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t')
			break;
	if (!p)
		return NULL;
	for (p += 2; *p && *p != ';'; p++)
		if (*p != ' ' && *p != '\t')
			buf_append(&b, p, 1);
	buf_append(&b, "", 1);
	return b.data;
}

/* What the stage's DNS gate asks (dkim_live_fn): the stage and the algorithm of the keys. */
struct live_arg {
	struct ctx *c;
	const struct dkim_alg *a;
};

/* SEL's record in live DNS (the resolver verify uses, or --resolver), against SEL's key when key. */
static int live_record(void *arg, const char *sel, int key)
{
	struct live_arg *la = arg;
	struct ctx *c = la->c;
	struct dnsq q;
	struct strv out = { 0 };
	char *name = NULL, *why = NULL, *kp = NULL, *data = NULL, *want_p = NULL;
	size_t i, kl = 0;
	int r, res = -1;

	if (key) {
		kp = dkim_sel_key_path(c->cfg, c->prof, sel);
		r = read_target(c, kp, &data, &kl);
		if (r == 0)
			r = la->a->public_of(data, kl, &want_p);
		if (data)
			crypto_free_secret(data, kl);
		free(kp);
		if (r < 0)
			return -2;
	}
	name = xasprintf("%s._domainkey.%s", sel, c->cfg->domain);
	memset(&q, 0, sizeof(q));
	q.server = (char *)stage_resolver(c);
	q.timeout_s = 3;
	dnsq_start(&q);
	r = dnsq_lookup(&q, name, DNSQ_TXT, &out, &why);
	if (r == -ENOENT)
		res = 0;
	for (i = 0; r == 0 && i < out.n; i++) {
		char *p = txt_p(out.v[i]);
		if (p && (!want_p || strcmp(p, want_p) == 0))
			res = 1;
		free(p);
	}
	q.server = NULL;
	dnsq_free(&q);
	strv_free(&out);
	free(name);
	free(why);
	free(want_p);
	return res;
}

static void fmt_day(long long t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/*
 * One step of algorithm alg's rotation per apply (dkim_rotation_step decides),
 * each a change the runner journals:
 *   NEW: the next key under sYYYYMMDD[-ed25519] (want_new_file), its record;
 *        signing unchanged;
 *   SWITCH: the state says the next key is active (the opendkim stage then
 *        writes that algorithm's tables for it, services restarts its
 *        OpenDKIM); the old one is retiring;
 *   DELETE: the retired key and its record file removed (want_removed:
 *        backed up, rollback restores).
 * The state file itself is written once by check(), for both algorithms.
 */
static int check_rotation(struct ctx *c, int alg, struct dkim_keyrot *st)
{
	const struct dkim_alg *a = &algs[alg];
	const char *user = c->prof->opendkim_user, *group = c->prof->opendkim_group;
	struct live_arg la = { c, a };
	struct dkim_keyrot want;
	char *path = NULL, *what = NULL, d[16];
	int r = 0, f;

	/* the next key, made in an earlier run: kept when valid, made again when missing */
	if (*st->next && (r = check_key(c, a, st->next)) < 0)
		return r;
	f = dkim_rotation_step(alg, st, dkim_now(), c->cfg->dkim_rotate_days, c->cfg->dkim_retire_days, live_record,
			       &la, &want);
	fmt_day(st->retiring_at, d);
	if (f & DKIM_STEP_DELETE) {
		path = dkim_sel_key_path(c->cfg, c->prof, st->retiring);
		if ((r = want_removed(c, path, _("retired DKIM key, its record is gone from DNS"))) < 0)
			goto out;
		free(path);
		path = dkim_sel_record_path(c->cfg, c->prof, st->retiring);
		if ((r = want_removed(c, path, _("record of the retired DKIM key"))) < 0)
			goto out;
	}
	if (f & DKIM_STEP_TO_REMOVE)
		stage_note(c, _("DKIM selector %s retired on %s: remove its record %s._domainkey.%s from DNS; "
			   "its key is deleted by the apply after that"), st->retiring, d, st->retiring, c->cfg->domain);
	if (f & DKIM_STEP_NOKEY)
		stage_note(c, _("DKIM selector %s: its key is made in this run; its record is checked in DNS "
			   "by the next apply"), st->next);
	if (f & DKIM_STEP_HELD)
		stage_note(c, _("DKIM selector %s is in DNS; mail is signed with it once %s is retired"), st->next,
			   st->retiring);
	if (f & DKIM_STEP_WAIT)
		stage_note(c, _("DKIM selector %s waits for its record in DNS (`mailstage dns` shows it): "
			   "mail is signed with %s until DNS serves it"), st->next, st->active);
	if (f & DKIM_STEP_NEW) {
		free(path);
		path = dkim_sel_key_path(c->cfg, c->prof, want.next);
		if ((r = want_new_file(c, path, a->produce_key, _(a->next_key), 1, user, group, 0600)) < 0)
			goto out;
		free(path);
		path = dkim_sel_record_path(c->cfg, c->prof, want.next);
		what = xasprintf(_("DNS record of the next key, selector %s: publish it"), want.next);
		if ((r = want_new_file(c, path, a->produce_record, what, 0, user, group, 0644)) < 0)
			goto out;
	}
	*st = want;
out:
	free(path);
	free(what);
	return r;
}

static int check(struct ctx *c)
{
	struct dkim_rotation st;
	char *why = NULL, *path = NULL, *text = NULL;
	int r = dkim_rotation_load(c->root, c->cfg, c->prof, &st, &why), alg;
	int rotating = st.present || c->cfg->dkim_rotate_days > 0;

	if (r < 0) {
		r = stage_fail(c, "%s", why);
		free(why);
		return r;
	}
	/* the directories, then each configured algorithm's active key and its rotation: RSA, Ed25519 beside */
	if ((r = check_dirs(c)) < 0)
		return r;
	for (alg = 0; alg < DKIM_NALG; alg++) {
		struct dkim_keyrot *k = &st.k[alg];
		if (alg == DKIM_ED25519 && !config_dkim_ed25519(c->cfg))
			continue;	/* its lines, if any, are kept as they are */
		if ((r = check_key(c, &algs[alg], k->active)) < 0)
			goto out;
		if (rotating && (alg == DKIM_RSA || k->present || c->cfg->dkim_rotate_days > 0) &&
		    (r = check_rotation(c, alg, k)) < 0)
			goto out;
	}
	if (rotating) {
		path = rotation_path(c->cfg, c->prof);
		text = dkim_rotation_format(&st);
		r = want_file(c, path, text, strlen(text), c->prof->opendkim_user, c->prof->opendkim_group, 0644);
	}
out:
	free(path);
	free(text);
	return r;
}

const struct stage stage_dkim_keys = {
	.name = "dkim-keys",
	.summary = N_("DKIM keys for the domain and selector, RSA and Ed25519 (opendkim, 0600), their rotation and "
		   "their DNS record text"),
	.check = check,
};
STAGE_REGISTER(stage_dkim_keys);
