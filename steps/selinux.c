/*
 * selinux.c - stage "selinux": the configured SELinux booleans, set
 * persistently and at runtime through libsemanage as `setsebool -P` does,
 * and the default file contexts of the files mailstage writes: whatever
 * selabel_lookup() in the target's file_contexts says, never a type written
 * here (Debian's refpolicy gives the DKIM keys dkim_milter_private_key_t;
 * EL's policy has no such path in its built milter module: etc_t).
 *
 * Booleans (typed action "selinux-boolean"): handle_create, is_managed,
 * connect, begin_transaction, bool_create/set_name/set_value/key_extract,
 * bool_modify_local, bool_set_active (runtime), commit.  libselinux's
 * security_set_boolean_list(permanent=1) is not used: it fails on
 * libselinux 3.x.  The undo restores the previous local customisation (or
 * removes the one this run created) and the previous runtime value.
 *
 * Ports (typed action "selinux-port"): the TCP ports of the OpenDKIM
 * milters (8891, 8892 with Ed25519) get milter_port_t as a local
 * customisation, as `semanage port -a -t milter_port_t -p tcp 8891` does,
 * where the policy gives them another type (refpolicy: unreserved_port_t,
 * which dkim_milter_t may not bind).  The undo restores the previous local
 * record, or removes the one this run added.
 *
 * File contexts (typed action "selinux-context"): the wanted context of each
 * file is selabel_lookup() in the policy's file_contexts; with SELinux active
 * on this host it is set with selinux_restorecon(), otherwise (a --root
 * target, or an injected store) the security.selinux attribute is written
 * as labelling tools do offline.  The undo puts the previous label back.
 *
 * Where the policy is:
 *   --root /      the host: skipped (with a note) unless SELinux is enabled
 *   --root DIR    DIR/etc/selinux/config (SELINUX=, SELINUXTYPE=) and the store
 *                 DIR/STORE-ROOT/TYPE/active; runtime booleans are not touched
 * STORE-ROOT is store-root= of (ROOT)/etc/selinux/semanage.conf when it sets
 * one, else the profile's default: libsemanage keeps the store in
 * /var/lib/selinux from 2.4 upstream (Debian, EL8+), but RHEL 7 patches its
 * libsemanage 2.5 to keep /etc/selinux/TYPE/active.
 * Test seams (environment, read only here):
 *   MAILSTAGE_SEMANAGE_ROOT      root of the policy store and its config
 *                                (semanage_set_root), instead of --root
 *   MAILSTAGE_SELINUX_FCONTEXTS  the file_contexts file for selabel_lookup
 */
#include "i18n.h"
#include "steps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "lazyse.h"	/* libselinux and libsemanage, loaded when a policy is found */

#define XATTR_NAME_SELINUX_ "security.selinux"

struct sepolicy {
	char *store_root;	/* "" for the host's own store */
	char *type;		/* SELINUXTYPE: targeted, default, ... */
	char *fcontexts;	/* file_contexts path (host path) */
	int runtime;		/* SELinux is active on this host and the target is this host */
};

static void sepolicy_free(struct sepolicy *p)
{
	free(p->store_root);
	free(p->type);
	free(p->fcontexts);
	memset(p, 0, sizeof(*p));
}

/*
 * store-root= of a semanage.conf text, outside its [NAME] ... [end] blocks
 * (as libsemanage's conf-parse.y reads it), or NULL when it sets none.
 */
char *selinux_conf_store_root(const char *text)
{
	const char *p = text;
	int block = 0;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		if (len && *p == '[')
			block = !(len >= 5 && strncmp(p, "[end]", 5) == 0);
		else if (!block && len > 10 && strncmp(p, "store-root", 10) == 0) {
			const char *v = p + 10, *end = p + len;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			if (v < end && *v == '=') {
				size_t vl;
				v++;
				while (v < end && (*v == ' ' || *v == '\t'))
					v++;
				vl = strcspn(v, " \t\r\n#");
				if (v + vl > end)
					vl = (size_t)(end - v);
				if (vl)
					return xstrndup(v, vl);
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/*
 * Find the policy to work on: 1 with *p filled, 0 when SELinux is disabled
 * (*why says how), -errno on errors.
 */
static int sepolicy_find(const struct root *root, const struct profile *prof, struct sepolicy *p, char **why)
{
	const char *env = getenv("MAILSTAGE_SEMANAGE_ROOT"), *fc = getenv("MAILSTAGE_SELINUX_FCONTEXTS");
	char *cfgpath = NULL, *text = NULL, *mode = NULL, *store = NULL, *conf = NULL, *ctext = NULL, *sr = NULL;
	struct stat sb;
	int r = 0;

	memset(p, 0, sizeof(*p));
	*why = NULL;
	if (env && *env)
		p->store_root = xstrdup(env);
	else if (!root->is_host)
		p->store_root = xstrdup(root->dir);
	else if (is_selinux_enabled() != 1) {
		*why = xstrdup("SELinux is disabled on this host");
		goto out;
	} else
		p->store_root = xstrdup("");
	p->runtime = root->is_host && is_selinux_enabled() == 1;
	cfgpath = xasprintf("%s/etc/selinux/config", p->store_root);
	if (read_whole_file(cfgpath, &text, NULL) < 0) {
		*why = xasprintf(_("no %s"), cfgpath);
		goto out;
	}
	mode = conf_value(text, "SELINUX");
	p->type = conf_value(text, "SELINUXTYPE");
	if (!mode || strcmp(mode, "disabled") == 0) {
		*why = xasprintf(_("SELINUX=%s in %s"), mode ? mode : "(unset)", cfgpath);
		goto out;
	}
	if (!p->type || !*p->type) {
		free(p->type);
		p->type = xstrdup("targeted");
	}
	conf = xasprintf("%s/etc/selinux/semanage.conf", p->store_root);
	if (read_whole_file(conf, &ctext, NULL) == 0)
		sr = selinux_conf_store_root(ctext);
	store = xasprintf("%s%s/%s/active", p->store_root,
			  sr ? sr : prof->selinux_store_root ? prof->selinux_store_root : "/var/lib/selinux", p->type);
	if (stat(store, &sb) < 0) {
		if (sr)
			*why = xasprintf(_("SELINUX=%s but there is no policy store %s (store-root = %s in %s)"), mode,
					 store, sr, conf);
		else
			*why = xasprintf(_("SELINUX=%s but there is no policy store %s (the %s default; %s sets no "
					 "store-root)"), mode, store, prof->name, conf);
		goto out;
	}
	p->fcontexts = fc && *fc ? xstrdup(fc)
				 : xasprintf("%s/etc/selinux/%s/contexts/files/file_contexts", p->store_root, p->type);
	/* A policy to work on: now the libraries are needed. */
	r = lazy_selinux(why) < 0 ? -ENOENT : 1;
out:
	if (r <= 0)
		sepolicy_free(p);
	free(cfgpath);
	free(text);
	free(mode);
	free(store);
	free(conf);
	free(ctext);
	free(sr);
	return r;
}

/* ---- libsemanage ---- */

static char se_msg[512];

static void se_callback(void *arg, semanage_handle_t *sh, const char *fmt, ...)
{
	va_list ap;
	(void)arg;
	(void)sh;
	va_start(ap, fmt);
	vsnprintf(se_msg, sizeof(se_msg), fmt, ap);
	va_end(ap);
}

/* A connected handle on the store: NULL with *why on failure. */
static semanage_handle_t *se_open(const char *store_root, const char *type, int reload, char **why)
{
	semanage_handle_t *sh;
	char *proot = xasprintf("/etc/selinux/%s", type);

	se_msg[0] = 0;
	/* The store name comes from the policy root, not from the host's /etc/selinux/config. */
	selinux_set_policy_root(proot);
	free(proot);
	if (semanage_set_root(*store_root ? store_root : "/") < 0) {
		*why = xasprintf(_("cannot use the policy store under %s"), store_root);
		return NULL;
	}
	sh = semanage_handle_create();
	if (!sh) {
		*why = xstrdup("semanage_handle_create failed");
		return NULL;
	}
	semanage_msg_set_callback(sh, se_callback, NULL);
	if (semanage_is_managed(sh) != 1) {
		*why = xasprintf(_("the %s policy under %s is not managed by libsemanage"), type,
				 *store_root ? store_root : "/");
		goto fail;
	}
	semanage_set_create_store(sh, 0);
	semanage_set_reload(sh, reload);
	if (semanage_connect(sh) < 0) {
		*why = xasprintf(_("cannot connect to the policy store: %s"), se_msg);
		goto fail;
	}
	return sh;
fail:
	semanage_handle_destroy(sh);
	return NULL;
}

static void se_close(semanage_handle_t *sh)
{
	if (!sh)
		return;
	if (semanage_is_connected(sh))
		semanage_disconnect(sh);
	semanage_handle_destroy(sh);
}

/* Persistent value (local customisation, else policy): 0/1; *local -1 none, else its value. */
static int bool_persistent(semanage_handle_t *sh, const char *name, int *local, char **why)
{
	semanage_bool_key_t *key = NULL;
	semanage_bool_t *b = NULL;
	int exists = 0, v = -1;

	*local = -1;
	if (semanage_bool_key_create(sh, name, &key) < 0)
		goto fail;
	if (semanage_bool_exists_local(sh, key, &exists) < 0)
		goto fail;
	if (exists) {
		/* Success is any status >= 0: libsemanage 3.4 returns 2 or 4 here, with the record
		 * (`== 0` read no local value and leaked the record: found by LeakSanitizer). */
		int qr = semanage_bool_query_local(sh, key, &b);
		if (qr >= 0 && b) {
			*local = semanage_bool_get_value(b) ? 1 : 0;
			v = *local;
		}
		if (b)
			semanage_bool_free(b);
		b = NULL;
	}
	if (v < 0) {
		if (semanage_bool_query(sh, key, &b) < 0 || !b) {
			*why = xasprintf(_("the policy has no boolean \"%s\" (`getsebool -a` lists them)"), name);
			semanage_bool_key_free(key);
			return -ENOENT;
		}
		v = semanage_bool_get_value(b) ? 1 : 0;
		semanage_bool_free(b);
	}
	semanage_bool_key_free(key);
	return v;
fail:
	*why = xasprintf(_("cannot read boolean %s: %s"), name, se_msg);
	if (key)
		semanage_bool_key_free(key);
	return -EIO;
}


/*
 * semanage_commit() with stdout and stderr on /dev/null: libsemanage runs
 * setfiles and load_policy with our descriptors, and the policy lets
 * setfiles_t and load_policy_t use none of a caller's output files (the VM:
 * denied `write` on the files sysrole.c's service writes, on a root
 * shell's pipe).  Its messages come through the callback, not stdout.
 */
static int commit_quietly(semanage_handle_t *sh)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), out = -1, err = -1, r;

	fflush(stdout);
	fflush(stderr);
	if (null >= 0) {
		out = fcntl(1, F_DUPFD_CLOEXEC, 3);
		err = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if (out >= 0 && err >= 0)
			dup2(null, 1), dup2(null, 2);
	}
	r = semanage_commit(sh);
	if (out >= 0)
		dup2(out, 1), close(out);
	if (err >= 0)
		dup2(err, 2), close(err);
	if (null >= 0)
		close(null);
	return r;
}

/*
 * In one transaction: set NAME's local customisation to value (or delete it
 * when value < 0) and, when runtime >= 0, its runtime value; commit.
 */
static int bool_write(semanage_handle_t *sh, const char *name, int value, int runtime, char **why)
{
	semanage_bool_key_t *key = NULL;
	semanage_bool_t *b = NULL;
	int r = -EIO;

	if (semanage_begin_transaction(sh) < 0)
		goto out;
	if (semanage_bool_create(sh, &b) < 0 || semanage_bool_set_name(sh, b, name) < 0)
		goto out;
	semanage_bool_set_value(b, value > 0);
	if (semanage_bool_key_extract(sh, b, &key) < 0)
		goto out;
	if (value < 0) {
		int exists = 0;
		if (semanage_bool_exists_local(sh, key, &exists) < 0 ||
		    (exists && semanage_bool_del_local(sh, key) < 0))
			goto out;
	} else if (semanage_bool_modify_local(sh, key, b) < 0) {
		goto out;
	}
	if (runtime >= 0) {
		semanage_bool_set_value(b, runtime > 0);
		if (semanage_bool_set_active(sh, key, b) < 0)
			goto out;
	}
	if (commit_quietly(sh) < 0)
		goto out;
	r = 0;
out:
	if (r < 0)
		*why = xasprintf(_("setting boolean %s failed: %s"), name, se_msg[0] ? se_msg : _("libsemanage error"));
	if (key)
		semanage_bool_key_free(key);
	if (b)
		semanage_bool_free(b);
	return r;
}

/* "name=on" -> name and 0/1. */
static int parse_bool_item(const char *item, char **name, int *value)
{
	const char *eq = strchr(item, '=');
	if (!eq)
		return -EINVAL;
	if (strcmp(eq + 1, "on") == 0 || strcmp(eq + 1, "1") == 0 || strcmp(eq + 1, "true") == 0)
		*value = 1;
	else if (strcmp(eq + 1, "off") == 0 || strcmp(eq + 1, "0") == 0 || strcmp(eq + 1, "false") == 0)
		*value = 0;
	else
		return -EINVAL;
	*name = xstrndup(item, (size_t)(eq - item));
	return 0;
}

/*
 * Undo record of a boolean: "NAME LOCAL RUNTIME TYPE STOREROOT", LOCAL and
 * RUNTIME "-" (none / not touched) or 0/1, STOREROOT "-" for the host's.
 */
static int bool_prepare(struct ctx *c, const char *arg, char **undo)
{
	struct sepolicy p;
	semanage_handle_t *sh = NULL;
	char *why = NULL, *name = NULL;
	int value, local = -1, active = -1, r;

	r = sepolicy_find(c->root, c->prof, &p, &why);
	if (r <= 0) {
		stage_fail(c, _("SELinux boolean %s: %s"), arg, why ? why : _("no policy"));
		r = r < 0 ? r : -ENOENT;
		goto out;
	}
	if ((r = parse_bool_item(arg, &name, &value)) < 0)
		goto out;
	sh = se_open(p.store_root, p.type, 0, &why);
	if (!sh || (r = bool_persistent(sh, name, &local, &why)) < 0) {
		stage_fail(c, _("SELinux boolean %s: %s"), name, why);
		r = r < 0 ? r : -EIO;
		goto out;
	}
	if (p.runtime)
		active = security_get_boolean_active(name);
	*undo = xasprintf("%s %s %s %s %s", name, local < 0 ? "-" : local ? "1" : "0",
			  active < 0 ? "-" : active ? "1" : "0", p.type, *p.store_root ? p.store_root : "-");
	r = 0;
out:
	se_close(sh);
	sepolicy_free(&p);
	free(why);
	free(name);
	return r;
}

static int bool_apply(struct ctx *c, const char *arg)
{
	struct sepolicy p;
	semanage_handle_t *sh = NULL;
	char *why = NULL, *name = NULL;
	int value, r;

	r = sepolicy_find(c->root, c->prof, &p, &why);
	if (r <= 0) {
		r = r < 0 ? r : -ENOENT;
		goto out;
	}
	if ((r = parse_bool_item(arg, &name, &value)) < 0)
		goto out;
	sh = se_open(p.store_root, p.type, p.runtime, &why);
	r = sh ? bool_write(sh, name, value, p.runtime ? value : -1, &why) : -EIO;
out:
	if (r < 0)
		stage_fail(c, _("SELinux boolean %s: %s"), arg, why ? why : strerror(-r));
	se_close(sh);
	sepolicy_free(&p);
	free(why);
	free(name);
	return r;
}

static int bool_undo(struct root *root, const char *undo, char **why)
{
	char name[256], local[8], active[8], type[128], store[4096];
	semanage_handle_t *sh;
	int r, runtime;
	(void)root;

	if (sscanf(undo, "%255s %7s %7s %127s %4095s", name, local, active, type, store) != 5) {
		*why = xasprintf(_("bad undo record \"%s\""), undo);
		return -EINVAL;
	}
	if (lazy_selinux(why) < 0)
		return -ENOENT;
	runtime = active[0] != '-' && is_selinux_enabled() == 1 ? atoi(active) : -1;
	sh = se_open(strcmp(store, "-") == 0 ? "" : store, type, runtime >= 0, why);
	if (!sh)
		return -EIO;
	r = bool_write(sh, name, local[0] == '-' ? -1 : atoi(local), runtime, why);
	se_close(sh);
	return r;
}

static int word_of(const char *s, const char *set, size_t max)
{
	return *s && *s != '-' && strlen(s) <= max && strspn(s, set) == strlen(s);
}

#define SE_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

/* An undo's STOREROOT must be the store this target has (sepolicy_find's choice), never another. */
static int store_is_targets(const struct root *root, const char *store, char **why)
{
	const char *env = getenv("MAILSTAGE_SEMANAGE_ROOT");
	const char *want = env && *env ? env : !root->is_host && *root->dir ? root->dir : "-";

	if (strcmp(store, want) == 0)
		return 0;
	*why = xasprintf(_("the policy store %s is not this target's (%s)"), store, want);
	return -EINVAL;
}

/*
 * The journal's undo string, strictly: "NAME LOCAL RUNTIME TYPE STOREROOT",
 * LOCAL and RUNTIME "-", 0 or 1, and STOREROOT the policy store this target
 * has (sepolicy_find's choice), never another one read from disk.
 */
static int bool_undo_check(const struct root *root, const char *undo, char **why)
{
	char name[257] = "", local[3] = "", active[3] = "", type[129] = "", *store = NULL, *again = NULL;
	size_t sl;
	int n;

	sl = strlen(undo);
	store = xmalloc(sl + 1);
	*store = 0;
	n = sscanf(undo, "%256s %2s %2s %128s %s", name, local, active, type, store);
	if (n == 5)
		again = xasprintf("%s %s %s %s %s", name, local, active, type, store);
	if (n != 5 || strcmp(again, undo) != 0 || !word_of(name, SE_NAME_CHARS, 255) ||
	    !word_of(type, SE_NAME_CHARS "-", 127) || (strcmp(local, "-") && strcmp(local, "0") && strcmp(local, "1")) ||
	    (strcmp(active, "-") && strcmp(active, "0") && strcmp(active, "1")))
		*why = xstrdup(_("an selinux-boolean undo is \"NAME -|0|1 -|0|1 POLICYTYPE STORE\""));
	else
		store_is_targets(root, store, why);
	free(store);
	free(again);
	return *why ? -EINVAL : 0;
}

const struct action_type action_selinux_boolean = {
	.name = "selinux-boolean",
	.prepare = bool_prepare,
	.apply = bool_apply,
	.undo = bool_undo,
	.undo_check = bool_undo_check,
};

/* ---- port types ---- */

/*
 * The port type the policy's milter module lets its domains bind
 * (`allow milter_domains milter_port_t:tcp_socket name_bind`), in
 * refpolicy and EL's targeted policy alike.  Targeted labels 8891/tcp so
 * already; refpolicy (Debian) declares the type with no port, so 8891 is
 * unreserved_port_t there and dkim_milter_t may not bind it: opendkim fails
 * to start under enforcing (seen in the VM tier).  The port type is the one
 * name mailstage cannot read from a file context; it is taken only when the
 * store says which type the port has now, and the commit fails (nothing
 * changed) on a policy without it.
 */
#define MILTER_PORT_TYPE "milter_port_t"

/*
 * The type TCP PORT has in the store (the narrowest range of the policy's
 * ports, committed local customisations included) into *type, and its
 * user/role/level into *con (caller frees); *local the type of a local
 * record for exactly this port, or NULL.  0, or -EIO with *why.
 */
static int port_type(semanage_handle_t *sh, int port, char **type, char **local, char **con, char **why)
{
	semanage_port_t **recs = NULL, *rec = NULL;
	semanage_port_key_t *key = NULL;
	unsigned int n = 0, i;
	int exists = 0, best = -1, width = 1 << 20, r = -EIO;

	*type = *local = *con = NULL;
	if (semanage_port_key_create(sh, port, port, SEMANAGE_PROTO_TCP, &key) < 0 ||
	    semanage_port_exists_local(sh, key, &exists) < 0)
		goto out;
	if (exists && semanage_port_query_local(sh, key, &rec) >= 0 && rec)
		*local = xstrdup(semanage_context_get_type(semanage_port_get_con(rec)));
	if (semanage_port_list(sh, &recs, &n) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		int lo = semanage_port_get_low(recs[i]), hi = semanage_port_get_high(recs[i]);
		if (semanage_port_get_proto(recs[i]) == SEMANAGE_PROTO_TCP && lo <= port && port <= hi &&
		    hi - lo < width) {
			best = (int)i;
			width = hi - lo;
		}
	}
	if (best >= 0) {
		semanage_context_t *c = semanage_port_get_con(recs[best]);
		const char *mls = semanage_context_get_mls(c);
		*type = xstrdup(semanage_context_get_type(c));
		*con = xasprintf("%s %s %s", semanage_context_get_user(c), semanage_context_get_role(c),
				 mls && *mls ? mls : "-");
	}
	r = 0;
out:
	if (r < 0)
		*why = xasprintf(_("cannot read the type of TCP port %d: %s"), port, se_msg[0] ? se_msg : _("libsemanage error"));
	for (i = 0; i < n; i++)
		semanage_port_free(recs[i]);
	free(recs);
	if (rec)
		semanage_port_free(rec);
	if (key)
		semanage_port_key_free(key);
	return r;
}

/*
 * In one transaction: TCP PORT's local customisation to TYPE (user, role
 * and level from `con`, "USER ROLE LEVEL|-"), or none when type is NULL;
 * commit (and load the policy when reload was asked at se_open).
 */
static int port_write(semanage_handle_t *sh, int port, const char *type, const char *con, char **why)
{
	semanage_port_key_t *key = NULL;
	semanage_port_t *rec = NULL;
	semanage_context_t *ctx = NULL;
	char user[128], role[128], level[256];
	int r = -EIO, exists = 0;

	if (semanage_begin_transaction(sh) < 0 || semanage_port_key_create(sh, port, port, SEMANAGE_PROTO_TCP, &key) < 0)
		goto out;
	if (!type) {
		if (semanage_port_exists_local(sh, key, &exists) < 0 || (exists && semanage_port_del_local(sh, key) < 0))
			goto out;
	} else {
		if (sscanf(con, "%127s %127s %255s", user, role, level) != 3)
			goto out;
		if (semanage_port_create(sh, &rec) < 0 || semanage_context_create(sh, &ctx) < 0)
			goto out;
		semanage_port_set_proto(rec, SEMANAGE_PROTO_TCP);
		semanage_port_set_range(rec, port, port);
		if (semanage_context_set_user(sh, ctx, user) < 0 || semanage_context_set_role(sh, ctx, role) < 0 ||
		    semanage_context_set_type(sh, ctx, type) < 0 ||
		    (strcmp(level, "-") && semanage_context_set_mls(sh, ctx, level) < 0) ||
		    semanage_port_set_con(sh, rec, ctx) < 0 || semanage_port_modify_local(sh, key, rec) < 0)
			goto out;
	}
	if (commit_quietly(sh) < 0)
		goto out;
	r = 0;
out:
	if (r < 0)
		*why = xasprintf(_("labelling TCP port %d %s failed: %s"), port, type ? type : _("(policy default)"),
				 se_msg[0] ? se_msg : _("libsemanage error"));
	if (ctx)
		semanage_context_free(ctx);
	if (rec)
		semanage_port_free(rec);
	if (key)
		semanage_port_key_free(key);
	return r;
}

/*
 * The action's argument is "PORT TYPE"; its undo record "PORT PREVIOUS
 * USER ROLE LEVEL POLICYTYPE STOREROOT": PREVIOUS the local customisation
 * before the run ("-": none, removed by the undo), LEVEL "-" without MLS,
 * STOREROOT "-" for the host's.
 */
static int port_prepare(struct ctx *c, const char *arg, char **undo)
{
	struct sepolicy p;
	semanage_handle_t *sh = NULL;
	char *why = NULL, *type = NULL, *local = NULL, *con = NULL;
	int port = atoi(arg), r;

	r = sepolicy_find(c->root, c->prof, &p, &why);
	if (r <= 0) {
		stage_fail(c, _("SELinux port %s: %s"), arg, why ? why : _("no policy"));
		r = r < 0 ? r : -ENOENT;
		goto out;
	}
	sh = se_open(p.store_root, p.type, 0, &why);
	if (!sh || (r = port_type(sh, port, &type, &local, &con, &why)) < 0 || !con) {
		stage_fail(c, _("SELinux port %s: %s"), arg, why ? why : _("the policy labels no such port"));
		r = r < 0 ? r : -EIO;
		goto out;
	}
	*undo = xasprintf("%d %s %s %s %s", port, local ? local : "-", con, p.type, *p.store_root ? p.store_root : "-");
	r = 0;
out:
	se_close(sh);
	sepolicy_free(&p);
	free(why);
	free(type);
	free(local);
	free(con);
	return r;
}

static int port_apply(struct ctx *c, const char *arg)
{
	struct sepolicy p;
	semanage_handle_t *sh = NULL;
	char *why = NULL, *type = NULL, *local = NULL, *con = NULL, want[128] = "";
	int port = 0, r;

	r = sepolicy_find(c->root, c->prof, &p, &why);
	if (r <= 0) {
		r = r < 0 ? r : -ENOENT;
		goto out;
	}
	if (sscanf(arg, "%d %127s", &port, want) != 2) {
		r = -EINVAL;
		goto out;
	}
	sh = se_open(p.store_root, p.type, p.runtime, &why);
	r = sh ? port_type(sh, port, &type, &local, &con, &why) : -EIO;
	if (r == 0)
		r = port_write(sh, port, want, con ? con : "system_u object_r -", &why);
out:
	if (r < 0)
		stage_fail(c, _("SELinux port %s: %s"), arg, why ? why : strerror(-r));
	se_close(sh);
	sepolicy_free(&p);
	free(why);
	free(type);
	free(local);
	free(con);
	return r;
}

static int port_undo(struct root *root, const char *undo, char **why)
{
	char prev[129], user[129], role[129], level[257], type[129], store[4096], *con;
	semanage_handle_t *sh;
	int port, r;
	(void)root;

	if (sscanf(undo, "%d %128s %128s %128s %256s %128s %4095s", &port, prev, user, role, level, type, store) != 7) {
		*why = xasprintf(_("bad undo record \"%s\""), undo);
		return -EINVAL;
	}
	if (lazy_selinux(why) < 0)
		return -ENOENT;
	sh = se_open(strcmp(store, "-") == 0 ? "" : store, type, is_selinux_enabled() == 1, why);
	if (!sh)
		return -EIO;
	con = xasprintf("%s %s %s", user, role, level);
	r = port_write(sh, port, strcmp(prev, "-") ? prev : NULL, con, why);
	free(con);
	se_close(sh);
	return r;
}

#define SE_LEVEL_CHARS SE_NAME_CHARS ":,.-"

/* The undo record, strictly (see port_prepare), its store this target's. */
static int port_undo_check(const struct root *root, const char *undo, char **why)
{
	char port[8] = "", prev[130] = "", user[130] = "", role[130] = "", level[258] = "", type[130] = "";
	char *store = NULL, *again = NULL;
	int n, pn = 0;

	store = xmalloc(strlen(undo) + 1);
	*store = 0;
	n = sscanf(undo, "%7s %129s %129s %129s %257s %129s %s", port, prev, user, role, level, type, store);
	if (n == 7)
		again = xasprintf("%s %s %s %s %s %s %s", port, prev, user, role, level, type, store);
	if (n == 7)
		pn = atoi(port);
	if (n != 7 || strcmp(again, undo) != 0 || strspn(port, "0123456789") != strlen(port) || pn < 1 ||
	    pn > 65535 || (strcmp(prev, "-") && !word_of(prev, SE_NAME_CHARS, 127)) ||
	    !word_of(user, SE_NAME_CHARS, 127) || !word_of(role, SE_NAME_CHARS, 127) ||
	    (strcmp(level, "-") && !word_of(level, SE_LEVEL_CHARS, 255)) || !word_of(type, SE_NAME_CHARS "-", 127))
		*why = xstrdup(_("an selinux-port undo is \"PORT TYPE|- USER ROLE LEVEL|- POLICYTYPE STORE\""));
	else
		store_is_targets(root, store, why);
	free(store);
	free(again);
	return *why ? -EINVAL : 0;
}

const struct action_type action_selinux_port = {
	.name = "selinux-port",
	.prepare = port_prepare,
	.apply = port_apply,
	.undo = port_undo,
	.undo_check = port_undo_check,
};

/* The milters' ports (opendkim_milter_ports) of another type than MILTER_PORT_TYPE: relabelled. */
static int check_ports(struct ctx *c, semanage_handle_t *sh, int runtime)
{
	int ports[2], r = 0;
	size_t i, n = opendkim_milter_ports(c->cfg, ports);

	for (i = 0; i < n && r == 0; i++) {
		char *type = NULL, *local = NULL, *con = NULL, *why = NULL, *arg, *what;
		if ((r = port_type(sh, ports[i], &type, &local, &con, &why)) < 0) {
			r = stage_fail(c, _("SELinux: %s"), why);
		} else if (!type || strcmp(type, MILTER_PORT_TYPE) != 0) {
			arg = xasprintf("%d %s", ports[i], MILTER_PORT_TYPE);
			what = xasprintf(runtime ? _("label TCP port %d %s, persistently and at runtime (now %s): "
						     "opendkim's domain may bind only that type")
						 : _("label TCP port %d %s, persistently (now %s): opendkim's domain may "
						     "bind only that type"),
					 ports[i], MILTER_PORT_TYPE, type ? type : _("unlabelled"));
			r = want_action(c, what, &action_selinux_port, arg);
			free(arg);
			free(what);
		}
		free(type);
		free(local);
		free(con);
		free(why);
	}
	return r;
}

/* ---- file contexts ---- */

/* Current label of a host path: 0 and *con (NULL when none), or -errno. */
static int label_get(const char *host, char **con)
{
	char buf[1024];
	ssize_t l = lgetxattr(host, XATTR_NAME_SELINUX_, buf, sizeof(buf) - 1);
	*con = NULL;
	if (l < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
	while (l > 0 && buf[l - 1] == 0)
		l--;
	buf[l] = 0;
	*con = xstrdup(buf);
	return 0;
}

static int label_set(const char *host, const char *con)
{
	if (!con)
		return lremovexattr(host, XATTR_NAME_SELINUX_) < 0 && errno != ENODATA ? -errno : 0;
	/* Stored with its terminating NUL, as the kernel and setfiles do. */
	return lsetxattr(host, XATTR_NAME_SELINUX_, con, strlen(con) + 1, 0) < 0 ? -errno : 0;
}

/* arg and undo: "CONTEXT PATH" (CONTEXT "-": no label). */
static int ctx_split(const char *s, char **con, char **path)
{
	const char *sp = strchr(s, ' ');
	if (!sp || sp[1] != '/')
		return -EINVAL;
	*con = strncmp(s, "- ", 2) == 0 ? NULL : xstrndup(s, (size_t)(sp - s));
	*path = xstrdup(sp + 1);
	return 0;
}

static int ctx_prepare(struct ctx *c, const char *arg, char **undo)
{
	char *con = NULL, *path = NULL, *host = NULL, *why = NULL, *old = NULL;
	int r = ctx_split(arg, &con, &path);
	if (r < 0)
		return r;
	if ((r = root_path(c->root, path, &host, &why)) == 0 && (r = label_get(host, &old)) == 0)
		*undo = xasprintf("%s %s", old ? old : "-", path);
	free(con);
	free(path);
	free(host);
	free(why);
	free(old);
	return r;
}

static int ctx_apply(struct ctx *c, const char *arg)
{
	char *con = NULL, *path = NULL, *host = NULL, *why = NULL;
	int r = ctx_split(arg, &con, &path);
	if (r < 0)
		return r;
	r = root_path(c->root, path, &host, &why);
	if (r == 0) {
		if (c->root->is_host && is_selinux_enabled() == 1 && !getenv("MAILSTAGE_SELINUX_FCONTEXTS"))
			r = selinux_restorecon(host, 0) < 0 ? -errno : 0;
		else
			r = label_set(host, con);
		if (r < 0)
			stage_fail(c, _("cannot label %s %s: %s"), path, con ? con : "", strerror(-r));
	} else {
		stage_fail(c, "%s", why);
	}
	free(con);
	free(path);
	free(host);
	free(why);
	return r;
}

static int ctx_undo(struct root *root, const char *undo, char **why)
{
	char *con = NULL, *path = NULL, *host = NULL;
	int r = ctx_split(undo, &con, &path);
	if (r < 0) {
		*why = xasprintf(_("bad undo record \"%s\""), undo);
		return r;
	}
	r = root_path(root, path, &host, why);
	if (r == 0 && (r = label_set(host, con)) < 0 && r != -ENOENT)
		*why = xasprintf(_("cannot restore the label of %s: %s"), path, strerror(-r));
	if (r == -ENOENT)
		r = 0;	/* the file itself was removed by the rollback */
	free(con);
	free(path);
	free(host);
	return r;
}

/* The journal's undo string, strictly: "CONTEXT PATH", CONTEXT "-" (no label) or user:role:type[:level]. */
static int ctx_undo_check(const struct root *root, const char *undo, char **why)
{
	char *con = NULL, *path = NULL;
	(void)root;
	if (ctx_split(undo, &con, &path) < 0 || (!con && strncmp(undo, "- ", 2) != 0) ||
	    (con && (!word_of(con, SE_NAME_CHARS ".:,-", 255) || !strchr(con, ':'))))
		*why = xstrdup(_("an selinux-context undo is \"CONTEXT PATH\" (CONTEXT user:role:type[:level] or -)"));
	else if (!path_is_normal(path))
		*why = xasprintf(_("\"%s\" is not an absolute, normalised path"), path);
	free(con);
	free(path);
	return *why ? -EINVAL : 0;
}

const struct action_type action_selinux_context = {
	.name = "selinux-context",
	.prepare = ctx_prepare,
	.apply = ctx_apply,
	.undo = ctx_undo,
	.undo_check = ctx_undo_check,
};

/* The files mailstage writes (those that exist), directories walked one level deep per call. */
static void add_path(struct ctx *c, struct strv *v, const char *path)
{
	size_t i;
	if (!path || !target_exists(c, path))
		return;
	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i], path) == 0)
			return;
	strv_push(v, path);
}

static void add_tree(struct ctx *c, struct strv *v, const char *dir, int depth)
{
	char *host = NULL, *why = NULL;
	struct stat sb;
	add_path(c, v, dir);
	if (depth > 3 || root_path(c->root, dir, &host, &why) < 0 || lstat(host, &sb) < 0 || !S_ISDIR(sb.st_mode))
		goto out;
	{
		struct strv names = { 0 };
		size_t i;
		DIR *d = opendir(host);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				strv_push(&names, e->d_name);
		if (d)
			closedir(d);
		for (i = 0; i < names.n; i++) {
			char *p = xasprintf("%s/%s", dir, names.v[i]);
			add_tree(c, v, p, depth + 1);
			free(p);
		}
		strv_free(&names);
	}
out:
	free(host);
	free(why);
}

static void written_files(struct ctx *c, struct strv *v)
{
	const struct profile *p = c->prof;
	char *s;
	size_t i;
	static const char *const postfix_files[] = { "main.cf", "master.cf" };

	for (i = 0; i < ARRAY_SIZE(postfix_files); i++) {
		s = xasprintf("%s/%s", p->postfix_dir, postfix_files[i]);
		add_path(c, v, s);
		free(s);
	}
	add_path(c, v, p->aliases);
	add_path(c, v, p->opendkim_conf);
	add_tree(c, v, p->opendkim_dir, 0);
	s = tls_cert_path(c->cfg, p);
	add_path(c, v, s);
	free(s);
	s = tls_key_path(c->cfg, p);
	add_path(c, v, s);
	free(s);
	add_path(c, v, p->sasl_smtpd_conf);
	add_path(c, v, p->saslauthd_defaults);
	/*
	 * Postfix's queue directory (the same on every profile) and its entries,
	 * one level deep: package scripts make some of them outside the
	 * policy's rules (the VM: /var/spool/postfix/restart var_spool_t, and
	 * postfix-script's `ls` of it denied to postfix_master_t).  The queues'
	 * messages below are Postfix's own, made in its domains.
	 */
	add_tree(c, v, "/var/spool/postfix", 3);
	for (i = 0; i < stage_changed_paths(c)->n; i++)
		add_path(c, v, stage_changed_paths(c)->v[i]);
}

static int check_contexts(struct ctx *c, const struct sepolicy *pol)
{
	struct selinux_opt opts[] = { { SELABEL_OPT_PATH, pol->fcontexts } };
	struct selabel_handle *h = selabel_open(SELABEL_CTX_FILE, opts, 1);
	struct strv files = { 0 };
	size_t i;
	int r = 0;

	if (!h)
		return stage_fail(c, _("cannot read the file contexts %s: %s"), pol->fcontexts, strerror(errno));
	written_files(c, &files);
	for (i = 0; i < files.n && r == 0; i++) {
		char *host = NULL, *why = NULL, *want = NULL, *now = NULL, *arg, *what;
		struct stat sb;
		if (root_path(c->root, files.v[i], &host, &why) < 0 || lstat(host, &sb) < 0) {
			free(host);
			free(why);
			continue;
		}
		if (selabel_lookup(h, &want, files.v[i], sb.st_mode) < 0) {
			free(host);
			continue;	/* <<none>>: nothing to restore */
		}
		if (label_get(host, &now) == 0 && (!now || strcmp(now, want) != 0)) {
			arg = xasprintf("%s %s", want, files.v[i]);
			what = xasprintf(_("label %s %s (now %s)"), files.v[i], want, now ? now : _("unlabelled"));
			r = want_action(c, what, &action_selinux_context, arg);
			free(arg);
			free(what);
		}
		freecon(want);
		free(now);
		free(host);
	}
	strv_free(&files);
	selabel_close(h);
	return r;
}

static int check(struct ctx *c)
{
	struct sepolicy pol;
	semanage_handle_t *sh = NULL;
	char *why = NULL;
	size_t i;
	int r = sepolicy_find(c->root, c->prof, &pol, &why);

	if (r <= 0) {
		if (r == 0)
			stage_note(c, _("%s: SELinux booleans and file contexts skipped"), why);
		else
			r = stage_fail(c, _("SELinux: %s"), why);
		free(why);
		return r;
	}
	if (!pol.runtime)
		stage_note(c, _("SELinux is not active on %s: booleans are set in the policy store %s only "
			   "(they apply from the next boot)"), c->root->is_host ? _("this host") : _("the --root target"),
			   *pol.store_root ? pol.store_root : "/");
	sh = se_open(pol.store_root, pol.type, 0, &why);
	if (!sh) {
		r = stage_fail(c, _("SELinux: %s"), why);
		goto out;
	}
	for (i = 0; i < c->cfg->selinux_booleans.n; i++) {
		const char *item = c->cfg->selinux_booleans.v[i];
		char *name = NULL, *what;
		int value, local, now, active = -1;
		if (parse_bool_item(item, &name, &value) < 0) {
			r = stage_refuse(c, 78, _("selinux_booleans: \"%s\" is not NAME=on or NAME=off"), item);
			goto out;
		}
		free(why);
		why = NULL;
		now = bool_persistent(sh, name, &local, &why);
		if (now < 0) {
			r = stage_refuse(c, 78, _("selinux_booleans: %s"), why);
			free(name);
			goto out;
		}
		if (pol.runtime)
			active = security_get_boolean_active(name);
		if (now != value || (active >= 0 && active != value)) {
			if (pol.runtime)
				what = xasprintf(_("set SELinux boolean %s %s (persistent and runtime; now %s)"), name,
						 value ? "on" : "off", now ? "on" : "off");
			else
				what = xasprintf(_("set SELinux boolean %s %s (persistent; now %s)"), name,
						 value ? "on" : "off", now ? "on" : "off");
			want_action(c, what, &action_selinux_boolean, item);
			free(what);
		}
		free(name);
	}
	if ((r = check_ports(c, sh, pol.runtime)) < 0)
		goto out;
	se_close(sh);
	sh = NULL;
	r = check_contexts(c, &pol);
out:
	se_close(sh);
	sepolicy_free(&pol);
	free(why);
	return r;
}

const struct stage stage_selinux = {
	.name = "selinux",
	.summary = N_("SELinux booleans persistently and at runtime (libsemanage, as setsebool -P); the OpenDKIM "
		   "milters' TCP ports as milter_port_t (as semanage port -a); default file contexts of the files "
		   "mailstage wrote; skipped when SELinux is disabled"),
	.check = check,
};
STAGE_REGISTER(stage_selinux);
